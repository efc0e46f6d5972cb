import { chooseTier, DEFAULT_FLAP_BUDGET, type Level } from '@relocation/tiering';
import { describe, expect, it } from 'vitest';
import { baseEnvSchema } from './base-env.ts';
import { ConfigError } from './config-error.ts';
import { loadEnv } from './load-env.ts';
import { policyText, tieringOptions } from './tiering-settings.ts';

const load = (env: Record<string, string | undefined>) => loadEnv(baseEnvSchema, env);
const options = (env: Record<string, string | undefined>) => tieringOptions(load(env));

function issuesOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    load(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const HOUR = 3_600_000;

describe('TIERING_HYSTERESIS', () => {
  it.each([
    ['0', { hysteresis: 0 }],
    ['50', { hysteresis: 50 }],
    ['007', { hysteresis: 7 }],
    [String(Number.MAX_SAFE_INTEGER), { hysteresis: Number.MAX_SAFE_INTEGER }],
    ['0%', { hysteresisPercent: 0 }],
    ['2%', { hysteresisPercent: 2 }],
    ['2.5%', { hysteresisPercent: 2.5 }],
    ['99.99%', { hysteresisPercent: 99.99 }],
    ['100%', { hysteresisPercent: 100 }],
    ['100.0%', { hysteresisPercent: 100 }],
  ])('reads %j as %j', (value, expected) => {
    const read = options({ TIERING_HYSTERESIS: value });
    expect(read).toMatchObject(expected);
    // Exactly one of the two: a band in views or a percentage, never both.
    expect('hysteresis' in read && 'hysteresisPercent' in read).toBe(false);
  });

  it.each([
    String(Number.MAX_SAFE_INTEGER + 1),
    '-1',
    '1.5',
    '1e3',
    '+5',
    '0x10',
    '100.01%',
    '101%',
    '-2%',
    '%',
    '.5%',
    '2.%',
    '2 %',
    '2%%',
    'x',
  ])('refuses %j with one line naming the variable', (value) => {
    expect(issuesOf({ TIERING_HYSTERESIS: value })).toEqual([
      `TIERING_HYSTERESIS: must be a whole number of views (e.g. 50) or a percent of the boundary from 0% to 100% (e.g. 2%, 2.5%) (got ${JSON.stringify(value)})`,
    ]);
  });

  it('defaults to no band (0 views)', () => {
    expect(options({})).toMatchObject({ hysteresis: 0 });
    expect(options({})).not.toHaveProperty('hysteresisPercent');
  });
});

describe('TIERING_MIN_RESIDENCE_MS', () => {
  it.each([
    ['0', 0],
    ['60000', 60_000],
    [String(365 * 24 * HOUR), 365 * 24 * HOUR],
  ])('reads %j as %j', (value, expected) => {
    expect(options({ TIERING_MIN_RESIDENCE_MS: value }).minResidenceMs).toBe(expected);
  });

  it.each([String(365 * 24 * HOUR + 1), '1h', '-1', '1.5'])('refuses %j', (value) => {
    expect(issuesOf({ TIERING_MIN_RESIDENCE_MS: value })).toEqual([
      `TIERING_MIN_RESIDENCE_MS: must be a whole number from 0 to 31536000000 (got ${JSON.stringify(value)})`,
    ]);
  });
});

describe('TIERING_MIN_RESIDENCE_BY_LEVEL', () => {
  it.each([
    ['gold=1h,silver=10m', { gold: HOUR, silver: 600_000 }],
    [' gold = 1h , silver=600000 ', { gold: HOUR, silver: 600_000 }],
    ['bronze=off', { bronze: 0 }],
    ['a_b-C9=30s', { 'a_b-C9': 30_000 }],
    [`${'x'.repeat(64)}=1d`, { ['x'.repeat(64)]: 24 * HOUR }],
    ['gold=365d', { gold: 365 * 24 * HOUR }],
  ])('reads %j as %j', (value, expected) => {
    expect({ ...options({ TIERING_MIN_RESIDENCE_BY_LEVEL: value }).minResidenceByLevel }).toEqual(
      expected,
    );
  });

  it('defaults to no level of its own', () => {
    expect({ ...options({}).minResidenceByLevel }).toEqual({});
  });

  it.each([
    ['gold', 'entry "gold" must be level=duration (e.g. gold=1h)'],
    ['gold=1h,', 'entry "" must be level=duration (e.g. gold=1h)'],
    ['=1h', `level "" must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`],
    ['go ld=1h', `level "go ld" must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`],
    [
      `${'x'.repeat(65)}=1h`,
      `level "${'x'.repeat(65)}" must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`,
    ],
    ['gold=1w', 'gold=1w: the duration must be off, or such as 30s, 15m, 1h, 1d (at most 365d)'],
    [
      'gold=366d',
      'gold=366d: the duration must be off, or such as 30s, 15m, 1h, 1d (at most 365d)',
    ],
    ['gold=', 'gold=: the duration must be off, or such as 30s, 15m, 1h, 1d (at most 365d)'],
    ['gold=1h,gold=2h', 'level gold is given twice'],
  ])('refuses %j: %s', (value, problem) => {
    expect(issuesOf({ TIERING_MIN_RESIDENCE_BY_LEVEL: value })).toEqual([
      `TIERING_MIN_RESIDENCE_BY_LEVEL: ${problem}; expected e.g. gold=1h,silver=10m (got ${JSON.stringify(value)})`,
    ]);
  });

  it('reports every bad entry, one line each', () => {
    const issues = issuesOf({ TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold=x,silver=1h,b@d=1h' });
    expect(issues).toHaveLength(2);
    for (const line of issues) expect(line).toMatch(/^TIERING_MIN_RESIDENCE_BY_LEVEL: /);
  });

  it('holds a level named like an Object.prototype member only when the setting names it', () => {
    const levels: Level[] = [
      { name: 'constructor', minCount: 0, maxCount: 10, path: '/tiers/a' },
      { name: 'toString', minCount: 11, maxCount: null, path: '/tiers/b' },
    ];
    const tiering = options({ TIERING_MIN_RESIDENCE_BY_LEVEL: 'toString=1h' });
    expect(
      chooseTier({
        count: 11,
        levels,
        current: 'constructor',
        options: tiering,
        now: 2,
        lastMovedAt: 1,
      }),
    ).toMatchObject({ kind: 'move', to: 'toString' });
    expect(
      chooseTier({
        count: 0,
        levels,
        current: 'toString',
        options: tiering,
        now: 2,
        lastMovedAt: 1,
      }),
    ).toMatchObject({ kind: 'wait', rule: 'residence', allowedAt: 1 + HOUR });
  });
});

describe('TIERING_FLAP_BUDGET', () => {
  it.each([
    ['4/1h', { moves: 4, windowMs: HOUR }],
    ['1/30s', { moves: 1, windowMs: 30_000 }],
    ['10 / 1d', { moves: 10, windowMs: 24 * HOUR }],
    ['2/1000', { moves: 2, windowMs: 1000 }],
    ['3/365d', { moves: 3, windowMs: 365 * 24 * HOUR }],
    ['off', null],
  ])('reads %j as %j', (value, expected) => {
    expect(options({ TIERING_FLAP_BUDGET: value }).flapBudget).toEqual(expected);
  });

  it('defaults to DEFAULT_FLAP_BUDGET (4 moves an hour)', () => {
    expect(options({}).flapBudget).toEqual(DEFAULT_FLAP_BUDGET);
    expect(DEFAULT_FLAP_BUDGET).toEqual({ moves: 4, windowMs: HOUR });
  });

  it.each([
    '0/1h',
    '4/0',
    '4/off',
    '4/999ms',
    '4/366d',
    '4',
    '4/',
    '/1h',
    '-1/1h',
    '1.5/1h',
    'OFF',
    'on',
    '4/1w',
  ])('refuses %j', (value) => {
    expect(issuesOf({ TIERING_FLAP_BUDGET: value })).toEqual([
      `TIERING_FLAP_BUDGET: must be off, or moves per window such as 4/1h (moves: a whole number of at least 1; window: a duration from 1s to 365d such as 30m, 1h, 1d) (got ${JSON.stringify(value)})`,
    ]);
  });
});

describe('tieringOptions', () => {
  it('is the one frozen ChooseTierOptions of the shared settings', () => {
    const tiering = options({
      TIERING_HYSTERESIS: '2.5%',
      TIERING_MIN_RESIDENCE_MS: '60000',
      TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold=1h',
      TIERING_FLAP_BUDGET: '6/2h',
    });
    expect(tiering).toEqual({
      hysteresisPercent: 2.5,
      minResidenceMs: 60_000,
      minResidenceByLevel: { gold: HOUR },
      flapBudget: { moves: 6, windowMs: 2 * HOUR },
      viewRate: null,
    });
    expect(Object.isFrozen(tiering)).toBe(true);
    expect(Object.isFrozen(tiering.minResidenceByLevel)).toBe(true);
    expect(Object.isFrozen(tiering.flapBudget)).toBe(true);
  });

  it('gives the 2018 seed behaviour plus the default flap budget for an empty environment', () => {
    expect(options({})).toEqual({
      hysteresis: 0,
      minResidenceMs: 0,
      minResidenceByLevel: {},
      flapBudget: DEFAULT_FLAP_BUDGET,
      viewRate: null,
    });
  });

  it('decides with the band it was given: 2% of the boundary 1000 is 20 views either way', () => {
    const levels: Level[] = [
      { name: 'silver', minCount: 0, maxCount: 999, path: '/tiers/silver' },
      { name: 'gold', minCount: 1000, maxCount: null, path: '/tiers/gold' },
    ];
    const tiering = options({ TIERING_HYSTERESIS: '2%' });
    expect(chooseTier({ count: 1019, levels, current: 'silver', options: tiering })).toMatchObject({
      kind: 'stay',
      reason: 'within-hysteresis',
    });
    expect(chooseTier({ count: 1020, levels, current: 'silver', options: tiering })).toMatchObject({
      kind: 'move',
      to: 'gold',
    });
    expect(chooseTier({ count: 980, levels, current: 'gold', options: tiering })).toMatchObject({
      kind: 'stay',
    });
    expect(chooseTier({ count: 979, levels, current: 'gold', options: tiering })).toMatchObject({
      kind: 'move',
      to: 'silver',
    });
  });
});

describe('TIERING_POLICY, TIERING_RATE_HALF_LIFE and TIERING_RATE_THRESHOLDS', () => {
  const rate = { TIERING_POLICY: 'rate', TIERING_RATE_THRESHOLDS: 'silver=20/10,gold=100/50' };

  it('places by the count unless told otherwise, whatever the rate settings say', () => {
    expect(options({}).viewRate).toBeNull();
    expect(
      options({ TIERING_POLICY: 'count', TIERING_RATE_THRESHOLDS: 'gold=100/50' }).viewRate,
    ).toBeNull();
  });

  it('reads the rate policy: thresholds per level in views per hour, half-life 6h by default', () => {
    const { viewRate } = options(rate);
    expect(viewRate).toEqual({
      halfLifeMs: 6 * HOUR,
      thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
    });
    expect(Object.isFrozen(viewRate)).toBe(true);
    expect(Object.isFrozen(viewRate?.thresholds)).toBe(true);
    expect(Object.getPrototypeOf(viewRate?.thresholds)).toBeNull();
  });

  it.each([
    ['gold=100', { gold: { promote: 100, demote: 100 } }],
    ['gold=0.5/0', { gold: { promote: 0.5, demote: 0 } }],
    [
      ' gold = 12.25 / 3 , silver=2/1 ',
      { gold: { promote: 12.25, demote: 3 }, silver: { promote: 2, demote: 1 } },
    ],
  ])('reads thresholds %j', (value, expected) => {
    expect(
      options({ TIERING_POLICY: 'rate', TIERING_RATE_THRESHOLDS: value }).viewRate?.thresholds,
    ).toEqual(expected);
  });

  it.each([
    ['30m', 30 * 60_000],
    ['1m', 60_000],
    ['1d', 24 * HOUR],
    ['365d', 365 * 24 * HOUR],
  ])('reads the half-life %j', (value, expected) => {
    expect(options({ ...rate, TIERING_RATE_HALF_LIFE: value }).viewRate?.halfLifeMs).toBe(expected);
  });

  it.each(['off', '0', '59s', '366d', '-1h', '1.5h', 'soon'])(
    'refuses the half-life %j',
    (value) => {
      expect(issuesOf({ ...rate, TIERING_RATE_HALF_LIFE: value })).toEqual([
        `TIERING_RATE_HALF_LIFE: must be a duration from 1m to 365d such as 30m, 6h, 1d (the time in which the view rate of a content nobody watches halves) (got ${JSON.stringify(value)})`,
      ]);
    },
  );

  it('refuses a policy it does not know', () => {
    expect(issuesOf({ TIERING_POLICY: 'popularity' })).toEqual([
      'TIERING_POLICY: must be one of count, rate (got "popularity")',
    ]);
  });

  it.each([
    ['gold', 'entry "gold" must be level=promote/demote (e.g. gold=100/50)'],
    [
      'gold=',
      'gold=: the thresholds must be views per hour, promote/demote such as 100/50 (or one number for both)',
    ],
    [
      'gold=1/2/3',
      'gold=1/2/3: the thresholds must be views per hour, promote/demote such as 100/50 (or one number for both)',
    ],
    [
      'gold=-1/0',
      'gold=-1/0: the thresholds must be views per hour, promote/demote such as 100/50 (or one number for both)',
    ],
    [
      'gold=1e3',
      'gold=1e3: the thresholds must be views per hour, promote/demote such as 100/50 (or one number for both)',
    ],
    ['gold=0', 'gold=0: the promote threshold must be more than 0 views per hour'],
    [
      'gold=50/100',
      'gold=50/100: the demote threshold (100) must not be above the promote threshold (50)',
    ],
    ['g old=1', "level \"g old\" must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'"],
    ['gold=2,gold=3', 'level gold is given twice'],
  ])('refuses thresholds %j with a line naming the entry', (value, message) => {
    const issues = issuesOf({ TIERING_POLICY: 'rate', TIERING_RATE_THRESHOLDS: value });
    expect(issues).toEqual([
      `TIERING_RATE_THRESHOLDS: ${message}; expected e.g. silver=20/10,gold=100/50 (got ${JSON.stringify(value)})`,
    ]);
  });

  it('requires thresholds with the rate policy, naming the variable and an example', () => {
    expect(() => options({ TIERING_POLICY: 'rate' })).toThrow(ConfigError);
    expect(() => options({ TIERING_POLICY: 'rate' })).toThrow(
      /^TIERING_RATE_THRESHOLDS: required with TIERING_POLICY=rate: .*e\.g\. silver=20\/10,gold=100\/50$/,
    );
  });

  it('decides by the rate it was given: promote at or above 100/h, demote below 50/h', () => {
    const levels: Level[] = [
      { name: 'bronze', minCount: 0, maxCount: 99, path: '/tiers/bronze' },
      { name: 'silver', minCount: 100, maxCount: 999, path: '/tiers/silver' },
      { name: 'gold', minCount: 1000, maxCount: null, path: '/tiers/gold' },
    ];
    const tiering = options(rate);
    const decide = (current: string, rateNow: number) =>
      chooseTier({ count: 5, levels, current, options: tiering, rate: rateNow });
    expect(decide('silver', 100)).toMatchObject({ kind: 'move', to: 'gold' });
    expect(decide('silver', 99.9)).toMatchObject({ kind: 'stay', reason: 'on-target' });
    expect(decide('gold', 50)).toMatchObject({ kind: 'stay', reason: 'within-hysteresis' });
    expect(decide('gold', 49.9)).toMatchObject({ kind: 'move', to: 'silver' });
    expect(decide('gold', 9)).toMatchObject({ kind: 'move', to: 'bronze' });
  });
});

describe('policyText', () => {
  it('says the policy in the words of its settings', () => {
    expect(policyText(options({}))).toBe(
      'count policy, hysteresis 0 views, residence off, flap budget 4/1h',
    );
    expect(
      policyText(
        options({
          TIERING_HYSTERESIS: '2.5%',
          TIERING_MIN_RESIDENCE_MS: '60000',
          TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold=1d',
          TIERING_FLAP_BUDGET: 'off',
        }),
      ),
    ).toBe('count policy, hysteresis 2.5%, residence 1m (gold 1d), flap budget off');
    const rate = options({
      TIERING_POLICY: 'rate',
      TIERING_RATE_HALF_LIFE: '90m',
      TIERING_RATE_THRESHOLDS: 'silver=20/10,gold=100.5/50',
    });
    expect(policyText(rate)).toBe(
      'rate policy (half-life 90m, silver=20/10,gold=100.5/50 views/h), residence off, flap budget 4/1h',
    );
    expect(policyText(rate, 60_000)).toContain('views/h, sweep every 1m)');
    expect(policyText(rate, null)).toContain('views/h, no sweep)');
  });
});
