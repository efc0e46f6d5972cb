import { describe, expect, it } from 'vitest';
import { baseEnvSchema, sharedSettings } from './base-env.ts';
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
      REDIS_CLUSTER_NODES: null,
      REDIS_CLUSTER_NAT_MAP: null,
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
      REDIS_CLUSTER_NODES: null,
      REDIS_CLUSTER_NAT_MAP: null,
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
        REDIS_CLUSTER_NODES: '10.0.0.1',
        REDIS_CLUSTER_NAT_MAP: 'a:1',
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
      'REDIS_CLUSTER_NODES',
      'REDIS_CLUSTER_NAT_MAP',
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

  it.each([
    ['10.0.0.1:7000', [{ host: '10.0.0.1', port: 7000 }]],
    [
      ' redis-1:6379 , redis-2:6380,redis-1:6379 ',
      [
        { host: 'redis-1', port: 6379 },
        { host: 'redis-2', port: 6380 },
      ],
    ],
    ['[::1]:7000', [{ host: '::1', port: 7000 }]],
    ['cache.internal:65535', [{ host: 'cache.internal', port: 65_535 }]],
    ['10.0.0.1', null],
    ['10.0.0.1:0', null],
    ['10.0.0.1:65536', null],
    ['10.0.0.1:7000,', null],
    ['redis://10.0.0.1:7000', null],
    ['::1:7000', null],
    ['a b:7000', null],
  ])('REDIS_CLUSTER_NODES=%j reads as %j (null: refused)', (value, nodes) => {
    if (nodes !== null)
      expect(load({ REDIS_CLUSTER_NODES: value }).REDIS_CLUSTER_NODES).toEqual(nodes);
    else {
      expect(issuesOf(() => load({ REDIS_CLUSTER_NODES: value }))).toEqual([
        `REDIS_CLUSTER_NODES: must be a comma-separated list of host:port such as 10.0.0.1:6379,10.0.0.2:6379 (got ${JSON.stringify(value.trim())})`,
      ]);
    }
  });

  it('gives the shared settings a single server without REDIS_CLUSTER_NODES, the nodes with it', () => {
    expect(sharedSettings(load({})).redisCluster).toBeNull();
    const settings = sharedSettings(
      load({
        REDIS_CLUSTER_NODES: '10.0.0.1:7000',
        REDIS_URL: 'rediss://app:s3cret@ignored:1/0',
        QUEUE_PREFIX: '{relocation}',
      }),
    );
    expect(settings).toMatchObject({
      redisUrl: 'rediss://app:s3cret@ignored:1/0',
      redisCluster: { nodes: [{ host: '10.0.0.1', port: 7000 }], natMap: {} },
      queuePrefix: '{relocation}',
    });
  });

  it.each([
    [
      'redis-1:6379=127.0.0.1:7001, redis-2:6379=127.0.0.1:7002',
      {
        'redis-1:6379': { host: '127.0.0.1', port: 7001 },
        'redis-2:6379': { host: '127.0.0.1', port: 7002 },
      },
    ],
    [
      '10.1.2.3:6379=gw.example.com:16379',
      { '10.1.2.3:6379': { host: 'gw.example.com', port: 16_379 } },
    ],
    ['redis-1:6379', null],
    ['redis-1:6379=', null],
    ['redis-1:6379=a:1=b:2', null],
    ['redis-1:6379=a:1,redis-1:6379=b:2', null],
  ])('REDIS_CLUSTER_NAT_MAP=%j reads as %j (null: refused)', (value, natMap) => {
    const env = {
      REDIS_CLUSTER_NODES: '10.0.0.1:7000',
      QUEUE_PREFIX: '{r}',
      REDIS_CLUSTER_NAT_MAP: value,
    };
    if (natMap !== null) expect(sharedSettings(load(env)).redisCluster?.natMap).toEqual(natMap);
    else {
      expect(issuesOf(() => load(env))).toEqual([
        `REDIS_CLUSTER_NAT_MAP: must be a comma-separated list of host:port=host:port pairs such as redis-1:6379=127.0.0.1:7001 (got ${JSON.stringify(value)})`,
      ]);
    }
  });

  it('refuses a NAT map without cluster nodes', () => {
    expect(
      issuesOf(() =>
        sharedSettings(load({ REDIS_CLUSTER_NAT_MAP: 'redis-1:6379=127.0.0.1:7001' })),
      ),
    ).toEqual([
      'REDIS_CLUSTER_NAT_MAP: applies to a Redis Cluster only: set REDIS_CLUSTER_NODES too',
    ]);
  });

  it('refuses a prefix without a hash tag and a database other than 0 on a cluster, naming both', () => {
    const issues = issuesOf(() =>
      sharedSettings(
        load({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', REDIS_URL: 'redis://:pw@x:1/2' }),
      ),
    );
    expect(issues).toEqual([
      'QUEUE_PREFIX: must contain a hash tag such as {relocation} when REDIS_CLUSTER_NODES is set, so that the queue\'s and the cache\'s keys share one cluster slot (got "bull")',
      'REDIS_URL: must not name a database other than 0 when REDIS_CLUSTER_NODES is set (a Redis Cluster has database 0 only; only its user, password and rediss: are used)',
    ]);
    for (const prefix of ['{}', 'x{', 'x}{', '{relocation']) {
      expect(
        issuesOf(() =>
          sharedSettings(load({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', QUEUE_PREFIX: prefix })),
        ),
      ).toHaveLength(1);
    }
    for (const prefix of ['{relocation}', 'app{r}', '{a}b']) {
      expect(
        sharedSettings(load({ REDIS_CLUSTER_NODES: '10.0.0.1:7000', QUEUE_PREFIX: prefix }))
          .queuePrefix,
      ).toBe(prefix);
    }
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
