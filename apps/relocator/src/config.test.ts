import { ConfigError } from '@relocation/runtime';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives the documented defaults for an empty environment, frozen', () => {
    const config = loadConfig({});
    expect(config).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      redisCluster: null,
      databaseUrl: 'mysql://root@127.0.0.1:3306/relocation',
      queuePrefix: 'bull',
      logLevel: 'info',
      tiering: {
        hysteresis: 0,
        minResidenceMs: 0,
        minResidenceByLevel: {},
        flapBudget: { moves: 4, windowMs: 3_600_000 },
        viewRate: null,
      },
      concurrency: 4,
      maxMovesPerSecond: 0,
      shutdownTimeoutMs: 30_000,
      metricsPort: 9464,
      metricsHost: '0.0.0.0',
      lockDurationMs: 10_000,
      stalledIntervalMs: 5000,
      maxStalledCount: 2,
      verifyChecksum: false,
      copyBytesPerSecond: 0,
      reconcileEveryMs: 0,
      reconcileFix: false,
      faultRetryMaxMs: 60_000,
      tierCheckMs: 5000,
      cacheSyncEveryMs: 30_000,
      pinExpiryEveryMs: 30_000,
      capacitySweepEveryMs: 30_000,
      rateSweepEveryMs: 60_000,
      commitGroupMs: 2,
      commitGroupMax: 32,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads every variable', () => {
    const config = loadConfig({
      REDIS_URL: 'redis://cache:6380/2',
      DATABASE_URL: 'mysql://app:secret@db:3307/tiers',
      QUEUE_PREFIX: '{relocation}',
      LOG_LEVEL: 'debug',
      TIERING_HYSTERESIS: '50',
      TIERING_MIN_RESIDENCE_MS: '60000',
      RELOCATOR_CONCURRENCY: '16',
      RELOCATOR_MAX_MOVES_PER_SECOND: '5',
      RELOCATOR_SHUTDOWN_TIMEOUT_MS: '1000',
      RELOCATOR_METRICS_PORT: '0',
      RELOCATOR_METRICS_HOST: '127.0.0.1',
      RELOCATOR_LOCK_DURATION_MS: '4000',
      RELOCATOR_STALLED_INTERVAL_MS: '2000',
      RELOCATOR_MAX_STALLED_COUNT: '3',
      RELOCATOR_VERIFY_CHECKSUM: 'true',
      RELOCATOR_COPY_BYTES_PER_SECOND: '104857600',
      RECONCILE_EVERY: '15m',
      RECONCILE_FIX: 'true',
    });
    expect(config).toMatchObject({
      redisUrl: 'redis://cache:6380/2',
      databaseUrl: 'mysql://app:secret@db:3307/tiers',
      queuePrefix: '{relocation}',
      logLevel: 'debug',
      tiering: {
        hysteresis: 50,
        minResidenceMs: 60_000,
        minResidenceByLevel: {},
        flapBudget: { moves: 4, windowMs: 3_600_000 },
        viewRate: null,
      },
      concurrency: 16,
      maxMovesPerSecond: 5,
      shutdownTimeoutMs: 1000,
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      lockDurationMs: 4000,
      stalledIntervalMs: 2000,
      maxStalledCount: 3,
      verifyChecksum: true,
      copyBytesPerSecond: 104_857_600,
      reconcileEveryMs: 900_000,
      reconcileFix: true,
    });
  });

  it('reads RECONCILE_EVERY as off, milliseconds or a duration with a unit', () => {
    const every = (value: string) => loadConfig({ RECONCILE_EVERY: value }).reconcileEveryMs;
    expect(every('off')).toBe(0);
    expect(every('0')).toBe(0);
    expect(every('90000')).toBe(90_000);
    expect(every('30s')).toBe(30_000);
    expect(every('1h')).toBe(3_600_000);
    expect(every('1d')).toBe(86_400_000);
    expect(() => every('10ms')).toThrow(
      /RECONCILE_EVERY: must be off, or a duration of at least 1s/,
    );
    expect(() => every('soon')).toThrow(/RECONCILE_EVERY/);
  });

  it('reads RATE_SWEEP_EVERY as off or a duration of at least 1s, 1m by default', () => {
    const every = (value: string) => loadConfig({ RATE_SWEEP_EVERY: value }).rateSweepEveryMs;
    expect(loadConfig({}).rateSweepEveryMs).toBe(60_000);
    expect(every('off')).toBe(0);
    expect(every('1s')).toBe(1000);
    expect(every('5m')).toBe(300_000);
    expect(() => every('999ms')).toThrow(
      /RATE_SWEEP_EVERY: must be off, or a duration of at least 1s/,
    );
    expect(() => every('often')).toThrow(/RATE_SWEEP_EVERY/);
  });

  it('reads the group commit window (0 = off) and size, 2 ms and 32 moves by default', () => {
    expect(loadConfig({})).toMatchObject({ commitGroupMs: 2, commitGroupMax: 32 });
    expect(
      loadConfig({ RELOCATOR_COMMIT_GROUP_MS: '0', RELOCATOR_COMMIT_GROUP_MAX: '1' }),
    ).toMatchObject({ commitGroupMs: 0, commitGroupMax: 1 });
    expect(
      loadConfig({ RELOCATOR_COMMIT_GROUP_MS: '1000', RELOCATOR_COMMIT_GROUP_MAX: '1000' }),
    ).toMatchObject({ commitGroupMs: 1000, commitGroupMax: 1000 });
    expect(() => loadConfig({ RELOCATOR_COMMIT_GROUP_MS: '1001' })).toThrow(
      /RELOCATOR_COMMIT_GROUP_MS/,
    );
    expect(() => loadConfig({ RELOCATOR_COMMIT_GROUP_MAX: '0' })).toThrow(
      /RELOCATOR_COMMIT_GROUP_MAX/,
    );
  });

  it('treats empty and blank variables as unset, and trims values', () => {
    expect(loadConfig({ RELOCATOR_CONCURRENCY: '', REDIS_URL: '  ' })).toMatchObject({
      concurrency: 4,
      redisUrl: 'redis://127.0.0.1:6379',
    });
    expect(
      loadConfig({ RELOCATOR_CONCURRENCY: ' 8\n', RECONCILE_EVERY: ' 1h', RECONCILE_FIX: 'YES ' }),
    ).toMatchObject({ concurrency: 8, reconcileEveryMs: 3_600_000, reconcileFix: true });
  });

  it.each([
    ['1', true],
    ['yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
  ])('reads RELOCATOR_VERIFY_CHECKSUM=%s as %s', (value, expected) => {
    expect(loadConfig({ RELOCATOR_VERIFY_CHECKSUM: value }).verifyChecksum).toBe(expected);
  });

  it.each([
    ['RELOCATOR_CONCURRENCY', '0'],
    ['RELOCATOR_CONCURRENCY', '257'],
    ['RELOCATOR_CONCURRENCY', '2.5'],
    ['RELOCATOR_CONCURRENCY', '-1'],
    ['RELOCATOR_CONCURRENCY', 'four'],
    ['RELOCATOR_METRICS_PORT', '65536'],
    ['RELOCATOR_LOCK_DURATION_MS', '999'],
    ['RELOCATOR_STALLED_INTERVAL_MS', '499'],
    ['RELOCATOR_VERIFY_CHECKSUM', 'maybe'],
    ['TIERING_HYSTERESIS', '1e3'],
    ['LOG_LEVEL', 'verbose'],
    ['QUEUE_PREFIX', 'a:b'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['DATABASE_URL', 'postgres://db/x'],
    ['DATABASE_URL', 'mysql://root@127.0.0.1:3306/'],
  ])('refuses %s=%s with one line naming it', (name, value) => {
    const lines = problems({ [name]: value });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.startsWith(`${name}: `)).toBe(true);
    expect(lines[0]?.endsWith(`(got ${JSON.stringify(value)})`)).toBe(true);
  });

  it('reports every bad variable at once, one line each', () => {
    const lines = problems({
      RELOCATOR_CONCURRENCY: '0',
      LOG_LEVEL: 'loud',
      REDIS_URL: 'nope',
      RELOCATOR_METRICS_PORT: '70000',
    });
    expect(lines.map((l) => l.split(':')[0]).sort()).toEqual([
      'LOG_LEVEL',
      'REDIS_URL',
      'RELOCATOR_CONCURRENCY',
      'RELOCATOR_METRICS_PORT',
    ]);
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ PATH: '/bin', RELOCATOR_TYPO: 'x' }).concurrency).toBe(4);
  });
});
