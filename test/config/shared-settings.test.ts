import { loadConfig as loadGatewayConfig } from '@relocation/gateway';
import { loadConfig as loadRelocatorConfig } from '@relocation/relocator';
import { ConfigError } from '@relocation/runtime';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// The shared variables, and the field each app's configuration holds them in.
const FIELDS = {
  REDIS_URL: { gateway: 'redisUrl', relocator: 'redisUrl' },
  DATABASE_URL: { gateway: 'databaseUrl', relocator: 'databaseUrl' },
  QUEUE_PREFIX: { gateway: 'queuePrefix', relocator: 'queuePrefix' },
  LOG_LEVEL: { gateway: 'logLevel', relocator: 'logLevel' },
  // The placement policy: one `tiering` (ChooseTierOptions) built by `tieringOptions` in both.
  TIERING_HYSTERESIS: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_MIN_RESIDENCE_MS: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_MIN_RESIDENCE_BY_LEVEL: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_FLAP_BUDGET: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_POLICY: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_RATE_HALF_LIFE: { gateway: 'tiering', relocator: 'tiering' },
  TIERING_RATE_THRESHOLDS: { gateway: 'tiering', relocator: 'tiering' },
} as const;
type Shared = keyof typeof FIELDS;

type Outcome = { accepted: unknown } | { refused: readonly string[] };

function outcome(load: () => Record<string, unknown>, field: string): Outcome {
  try {
    return { accepted: load()[field] };
  } catch (error) {
    if (error instanceof ConfigError) return { refused: error.issues };
    throw error;
  }
}

/** What the gateway and the relocator make of `value` for `name`. */
function bothRead(name: Shared, value: string) {
  const env = { [name]: value };
  return {
    gateway: outcome(() => ({ ...loadGatewayConfig(env) }), FIELDS[name].gateway),
    relocator: outcome(() => ({ ...loadRelocatorConfig(env) }), FIELDS[name].relocator),
  };
}

const REFUSED = Symbol('refused');

/** The `tiering` both apps carry: the defaults with `changes`, a band in views unless changed. */
function tiering(changes: Record<string, unknown>) {
  const { hysteresis = 0, ...rest } = changes;
  return {
    ...('hysteresisPercent' in changes ? {} : { hysteresis }),
    minResidenceMs: 0,
    minResidenceByLevel: {},
    flapBudget: { moves: 4, windowMs: 3_600_000 },
    viewRate: null,
    ...rest,
  };
}

describe('the gateway and the relocator read the shared settings alike', () => {
  it.each<[Shared, string, unknown]>([
    ['REDIS_URL', 'redis://cache:6380/2', 'redis://cache:6380/2'],
    ['REDIS_URL', '  rediss://cache:6380  ', 'rediss://cache:6380'],
    ['REDIS_URL', 'http://cache:6379', REFUSED],
    ['REDIS_URL', 'redis://ca che', REFUSED],
    ['DATABASE_URL', 'mysql://app:pw@db:3307/tiers', 'mysql://app:pw@db:3307/tiers'],
    ['DATABASE_URL', ' mariadb://db/x ', 'mariadb://db/x'],
    ['DATABASE_URL', 'mysql://db:3306/', REFUSED],
    ['DATABASE_URL', 'postgres://db/x', REFUSED],
    ['QUEUE_PREFIX', '{relocation}', '{relocation}'],
    ['QUEUE_PREFIX', ' bull2 ', 'bull2'],
    ['QUEUE_PREFIX', '   ', 'bull'],
    ['QUEUE_PREFIX', 'a:b', REFUSED],
    ['QUEUE_PREFIX', ' a:b ', REFUSED],
    ['QUEUE_PREFIX', 'two words', REFUSED],
    ['QUEUE_PREFIX', 'x'.repeat(65), REFUSED],
    ['LOG_LEVEL', 'debug', 'debug'],
    ['LOG_LEVEL', ' warn ', 'warn'],
    ['LOG_LEVEL', '', 'info'],
    ['LOG_LEVEL', 'verbose', REFUSED],
    ['LOG_LEVEL', 'INFO', REFUSED],
    ['TIERING_HYSTERESIS', '50', tiering({ hysteresis: 50 })],
    ['TIERING_HYSTERESIS', ' 50 ', tiering({ hysteresis: 50 })],
    ['TIERING_HYSTERESIS', '2.5%', tiering({ hysteresisPercent: 2.5 })],
    ['TIERING_HYSTERESIS', '', tiering({})],
    ['TIERING_HYSTERESIS', '1e3', REFUSED],
    ['TIERING_HYSTERESIS', '-1', REFUSED],
    ['TIERING_HYSTERESIS', '101%', REFUSED],
    ['TIERING_MIN_RESIDENCE_MS', '60000', tiering({ minResidenceMs: 60_000 })],
    ['TIERING_MIN_RESIDENCE_MS', '1h', REFUSED],
    [
      'TIERING_MIN_RESIDENCE_BY_LEVEL',
      'gold=1h,silver=10m',
      tiering({ minResidenceByLevel: { gold: 3_600_000, silver: 600_000 } }),
    ],
    ['TIERING_MIN_RESIDENCE_BY_LEVEL', 'gold=1h,gold=2h', REFUSED],
    ['TIERING_MIN_RESIDENCE_BY_LEVEL', 'g@ld=1h', REFUSED],
    ['TIERING_FLAP_BUDGET', '6/2h', tiering({ flapBudget: { moves: 6, windowMs: 7_200_000 } })],
    ['TIERING_FLAP_BUDGET', 'off', tiering({ flapBudget: null })],
    ['TIERING_FLAP_BUDGET', '0/1h', REFUSED],
    ['TIERING_POLICY', 'count', tiering({})],
    ['TIERING_POLICY', 'views', REFUSED],
    // Rate settings without TIERING_POLICY=rate are read and not used.
    ['TIERING_RATE_HALF_LIFE', '1d', tiering({})],
    ['TIERING_RATE_HALF_LIFE', '1s', REFUSED],
    ['TIERING_RATE_THRESHOLDS', 'gold=100/50', tiering({})],
    ['TIERING_RATE_THRESHOLDS', 'gold=50/100', REFUSED],
  ])('%s=%j', (name, value, expected) => {
    const { gateway, relocator } = bothRead(name, value);
    expect(gateway).toEqual(relocator);
    if (expected === REFUSED) {
      expect(gateway).toEqual({ refused: [expect.stringMatching(new RegExp(`^${name}: `))] });
    } else {
      expect(gateway).toEqual({ accepted: expected });
    }
  });

  it('both read the rate policy alike, and both refuse it without thresholds', () => {
    const env = {
      TIERING_POLICY: 'rate',
      TIERING_RATE_HALF_LIFE: '2h',
      TIERING_RATE_THRESHOLDS: 'silver=20/10,gold=100/50',
    };
    const viewRate = {
      halfLifeMs: 7_200_000,
      thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
    };
    expect(loadGatewayConfig(env).tiering).toEqual(tiering({ viewRate }));
    expect(loadRelocatorConfig(env).tiering).toEqual(tiering({ viewRate }));
    const { gateway, relocator } = bothRead('TIERING_POLICY', 'rate');
    expect(gateway).toEqual(relocator);
    expect(gateway).toEqual({
      refused: [
        expect.stringMatching(/^TIERING_RATE_THRESHOLDS: required with TIERING_POLICY=rate/),
      ],
    });
  });

  it('for any generated value of a shared variable: both accept it alike or both refuse it alike', () => {
    const name = fc.constantFrom(...(Object.keys(FIELDS) as Shared[]));
    const piece = fc.constantFrom(
      ' ',
      '\t',
      ':',
      '{',
      '}',
      '/',
      '@',
      '1',
      '0',
      '-',
      '.',
      'e',
      'x',
      'info',
      'bull',
      'redis://',
      'mysql://',
      'root@127.0.0.1:3306/',
      'relocation',
      '%',
      '2.5',
      '100',
      '=',
      ',',
      'gold',
      'silver',
      '1h',
      '10m',
      '30s',
      'd',
      'off',
      '4/',
      '/',
    );
    const value = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(name, value, (n, v) => {
        const { gateway, relocator } = bothRead(n, v);
        expect(gateway).toEqual(relocator);
      }),
      { numRuns: 500 },
    );
  });
});
