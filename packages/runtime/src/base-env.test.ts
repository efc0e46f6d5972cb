import { describe, expect, it } from 'vitest';
import { baseEnvSchema } from './base-env.ts';
import { ConfigError, loadTogether } from './config-error.ts';
import { loadEnv } from './load-env.ts';

const load = (env: Record<string, string | undefined>) => loadEnv(baseEnvSchema, env);

function issuesOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('the base environment schema', () => {
  it('gives the shared defaults for an empty environment', () => {
    expect(load({})).toEqual({
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'mysql://root@127.0.0.1:3306/relocation',
      QUEUE_PREFIX: 'bull',
      LOG_LEVEL: 'info',
      TIERING_HYSTERESIS: { unit: 'views', value: 0 },
      TIERING_MIN_RESIDENCE_MS: 0,
      TIERING_MIN_RESIDENCE_BY_LEVEL: {},
      TIERING_FLAP_BUDGET: { moves: 4, windowMs: 3_600_000 },
      TIERING_POLICY: 'count',
      TIERING_RATE_HALF_LIFE: 6 * 3_600_000,
      TIERING_RATE_THRESHOLDS: {},
    });
  });

  it('trims every value and treats an empty or blank one as unset', () => {
    expect(
      load({
        REDIS_URL: ' redis://cache:6380/2\n',
        DATABASE_URL: '\tmysql://app@db:3307/tiers ',
        QUEUE_PREFIX: ' {relocation} ',
        LOG_LEVEL: '',
        TIERING_HYSTERESIS: '   ',
        TIERING_MIN_RESIDENCE_MS: ' ',
        TIERING_MIN_RESIDENCE_BY_LEVEL: '\t',
        TIERING_FLAP_BUDGET: ' ',
      }),
    ).toEqual({
      REDIS_URL: 'redis://cache:6380/2',
      DATABASE_URL: 'mysql://app@db:3307/tiers',
      QUEUE_PREFIX: '{relocation}',
      LOG_LEVEL: 'info',
      TIERING_HYSTERESIS: { unit: 'views', value: 0 },
      TIERING_MIN_RESIDENCE_MS: 0,
      TIERING_MIN_RESIDENCE_BY_LEVEL: {},
      TIERING_FLAP_BUDGET: { moves: 4, windowMs: 3_600_000 },
      TIERING_POLICY: 'count',
      TIERING_RATE_HALF_LIFE: 6 * 3_600_000,
      TIERING_RATE_THRESHOLDS: {},
    });
  });

  it('reports every bad variable at once, one line each, starting with its name', () => {
    const issues = issuesOf(() =>
      load({
        REDIS_URL: 'http://127.0.0.1:6379',
        DATABASE_URL: 'postgres://db/x',
        QUEUE_PREFIX: 'a:b',
        LOG_LEVEL: 'loud',
        TIERING_HYSTERESIS: '-1',
        TIERING_MIN_RESIDENCE_MS: '1h',
        TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold',
        TIERING_FLAP_BUDGET: '0/1h',
        PORT: 'not read by the base schema',
      }),
    );
    expect(issues.map((line) => line.split(':')[0])).toEqual([
      'REDIS_URL',
      'DATABASE_URL',
      'QUEUE_PREFIX',
      'LOG_LEVEL',
      'TIERING_HYSTERESIS',
      'TIERING_MIN_RESIDENCE_MS',
      'TIERING_MIN_RESIDENCE_BY_LEVEL',
      'TIERING_FLAP_BUDGET',
    ]);
    for (const line of issues) expect(line).not.toContain('\n');
    expect(issues).toContain(
      'QUEUE_PREFIX: must be 1-64 characters without spaces or ":" (e.g. {relocation}) (got "a:b")',
    );
    expect(issues).toContain(
      'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    );
  });

  it.each([
    ['bull', true],
    ['{relocation}', true],
    ['x'.repeat(64), true],
    ['x'.repeat(65), false],
    ['a:b', false],
    [':', false],
    ['{relocation}:x', false],
    ['has space', false],
    ['tab\there', false],
  ])('QUEUE_PREFIX=%j is accepted: %s', (value, accepted) => {
    if (accepted) expect(load({ QUEUE_PREFIX: value }).QUEUE_PREFIX).toBe(value);
    else expect(issuesOf(() => load({ QUEUE_PREFIX: value }))).toHaveLength(1);
  });

  it('never echoes a password in a URL', () => {
    const issues = issuesOf(() => load({ DATABASE_URL: 'postgres://app:hunter2@db/x' }));
    expect(issues).toEqual([
      'DATABASE_URL: must be a URL such as mysql://root@127.0.0.1:3306/relocation: protocol must be mysql: (got postgres:) (got "postgres://app:***@db/x")',
    ]);
  });

  it('is pure: only the given environment is read', () => {
    const previous = process.env.QUEUE_PREFIX;
    process.env.QUEUE_PREFIX = 'a:b';
    try {
      expect(load({}).QUEUE_PREFIX).toBe('bull');
    } finally {
      if (previous === undefined) delete process.env.QUEUE_PREFIX;
      else process.env.QUEUE_PREFIX = previous;
    }
  });
});

describe('loadTogether', () => {
  it('returns every result in order when all loaders succeed', () => {
    expect(
      loadTogether(
        () => 1,
        () => 'two',
      ),
    ).toEqual([1, 'two']);
  });

  it('reports the issues of every loader at once, each line once', () => {
    const env = { QUEUE_PREFIX: 'a:b', LOG_LEVEL: 'loud' };
    const issues = issuesOf(() =>
      loadTogether(
        () => load(env),
        () => load({ ...env, TIERING_HYSTERESIS: 'x' }),
      ),
    );
    expect(issues.map((line) => line.split(':')[0])).toEqual([
      'QUEUE_PREFIX',
      'LOG_LEVEL',
      'TIERING_HYSTERESIS',
    ]);
  });
});
