import { ConfigError } from '@relocation/runtime';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

function issuesOf(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives developer-machine defaults for an empty environment, with admin routes off', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      redisUrl: 'redis://127.0.0.1:6379',
      redisCluster: null,
      databaseUrl: 'mysql://root@127.0.0.1:3306/relocation',
      queuePrefix: 'bull',
      admin: null,
      logLevel: 'info',
      bodyLimit: 1048576,
      viewsBatchMax: 1000,
      tiering: {
        hysteresis: 0,
        minResidenceMs: 0,
        minResidenceByLevel: {},
        flapBudget: { moves: 4, windowMs: 3_600_000 },
        viewRate: null,
      },
      rateLimits: { postsPerMinute: 6000, writesPerMinute: 600 },
      access: { apiKeys: [], legacyAllow: null, legacyRequireKey: false },
      trustProxy: false,
      viewLogFile: null,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      PUBLIC_URL: 'https://relocation.example.com/api/',
      REDIS_URL: 'rediss://cache.internal:6380/2',
      DATABASE_URL: 'mysql://app:s3cret@db.internal:3307/reloc',
      QUEUE_PREFIX: '{relocation}',
      ADMIN_USER: 'ops',
      ADMIN_PASSWORD: 'p:a:s:s',
      LOG_LEVEL: 'debug',
      BODY_LIMIT: '2048',
      VIEWS_BATCH_MAX: '10',
      TIERING_HYSTERESIS: '2.5%',
      TIERING_MIN_RESIDENCE_MS: '60000',
      TIERING_MIN_RESIDENCE_BY_LEVEL: 'gold=1h',
      TIERING_FLAP_BUDGET: 'off',
      RATE_LIMIT_POSTS_PER_MINUTE: '120',
      RATE_LIMIT_WRITES_PER_MINUTE: '0',
      API_KEYS: `edge:player:${'A'.repeat(64)}`,
      LEGACY_ALLOW: '10.0.0.0/8',
      LEGACY_REQUIRE_KEY: 'true',
      TRUST_PROXY: '1',
      VIEW_LOG_FILE: '/var/log/relocation/views.ndjson',
    });
    expect(config).toEqual({
      port: 8080,
      host: '127.0.0.1',
      publicUrl: 'https://relocation.example.com/api',
      redisUrl: 'rediss://cache.internal:6380/2',
      redisCluster: null,
      databaseUrl: 'mysql://app:s3cret@db.internal:3307/reloc',
      queuePrefix: '{relocation}',
      admin: { user: 'ops', password: 'p:a:s:s' },
      logLevel: 'debug',
      bodyLimit: 2048,
      viewsBatchMax: 10,
      tiering: {
        hysteresisPercent: 2.5,
        minResidenceMs: 60_000,
        minResidenceByLevel: { gold: 3_600_000 },
        flapBudget: null,
        viewRate: null,
      },
      rateLimits: { postsPerMinute: 120, writesPerMinute: 0 },
      access: {
        apiKeys: [{ name: 'edge', role: 'player', sha256: 'a'.repeat(64) }],
        legacyAllow: [{ family: 'ipv4', address: '10.0.0.0', prefix: 8 }],
        legacyRequireKey: true,
      },
      trustProxy: 1,
      viewLogFile: '/var/log/relocation/views.ndjson',
    });
  });

  it.each([
    [{ HOST: '0.0.0.0', PORT: '3000' }, 'http://localhost:3000'],
    [{ HOST: '::', PORT: '8080' }, 'http://localhost:8080'],
    [{ HOST: '127.0.0.1', PORT: '80' }, 'http://127.0.0.1:80'],
    [{ HOST: '::1', PORT: '3000' }, 'http://[::1]:3000'],
    [{ HOST: 'gateway.internal' }, 'http://gateway.internal:3000'],
    [{ PUBLIC_URL: 'http://localhost:3000' }, 'http://localhost:3000'],
  ])('derives the public URL from HOST and PORT unless PUBLIC_URL is set (%j)', (env, url) => {
    expect(loadConfig(env).publicUrl).toBe(url);
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ ADMIN_USER: 'a', ADMIN_PASSWORD: 'b' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.admin)).toBe(true);
    expect(Object.isFrozen(config.rateLimits)).toBe(true);
  });

  it('treats empty and blank variables as unset', () => {
    expect(
      loadConfig({ PORT: '', LOG_LEVEL: ' ', ADMIN_USER: '', ADMIN_PASSWORD: '\t' }),
    ).toMatchObject({
      port: 3000,
      logLevel: 'info',
      admin: null,
    });
  });

  it('trims values', () => {
    expect(
      loadConfig({ PORT: ' 80', HOST: '127.0.0.1 ', ADMIN_USER: ' ops', ADMIN_PASSWORD: 'pw ' }),
    ).toMatchObject({ port: 80, host: '127.0.0.1', admin: { user: 'ops', password: 'pw' } });
  });

  it('reports every bad variable at once, one line each, naming it', () => {
    const issues = issuesOf({
      PORT: '70000',
      REDIS_URL: 'http://localhost',
      DATABASE_URL: 'postgres://x/y',
      QUEUE_PREFIX: 'has space',
      LOG_LEVEL: 'loud',
      BODY_LIMIT: '1.5',
      VIEWS_BATCH_MAX: '0',
      TIERING_HYSTERESIS: '-3',
      ADMIN_USER: 'ops',
    });
    expect(issues).toHaveLength(9);
    const names = [
      'PORT',
      'REDIS_URL',
      'DATABASE_URL',
      'QUEUE_PREFIX',
      'LOG_LEVEL',
      'BODY_LIMIT',
      'VIEWS_BATCH_MAX',
      'TIERING_HYSTERESIS',
      'ADMIN_PASSWORD',
    ];
    for (const name of names) {
      expect(
        issues.some((line) => line.startsWith(`${name}: `)),
        name,
      ).toBe(true);
    }
    for (const line of issues) expect(line).not.toContain('\n');
  });

  it.each([
    ['PORT', 'abc', /^PORT: must be a whole number from 0 to 65535 \(got "abc"\)$/],
    ['PORT', '8 0', /^PORT: must be a whole number/],
    ['BODY_LIMIT', '10', /^BODY_LIMIT: must be a whole number from 1024/],
    ['DATABASE_URL', 'mysql://localhost', /^DATABASE_URL: must be a URL such as/],
    ['ADMIN_PASSWORD', 'x', /^ADMIN_USER: must be set when ADMIN_PASSWORD is/],
    ['ADMIN_USER', 'a:b', /^ADMIN_USER: must not contain ":"/],
    [
      'RATE_LIMIT_POSTS_PER_MINUTE',
      '-1',
      /^RATE_LIMIT_POSTS_PER_MINUTE: must be a whole number from 0 to 10000000/,
    ],
    ['PUBLIC_URL', 'relocation.example.com', /^PUBLIC_URL: must be an absolute http\(s\) URL/],
    ['PUBLIC_URL', 'ftp://example.com', /^PUBLIC_URL: must start with http:\/\/ or https:\/\//],
    ['PUBLIC_URL', 'https://example.com/?a=1', /^PUBLIC_URL: must not have a query or a fragment/],
    [
      'PUBLIC_URL',
      'https://ops:hunter2@example.com',
      /^PUBLIC_URL: must not carry credentials \(got "https:\/\/ops:\*\*\*@example.com"\)$/,
    ],
    [
      'RATE_LIMIT_WRITES_PER_MINUTE',
      '1.5',
      /^RATE_LIMIT_WRITES_PER_MINUTE: must be a whole number/,
    ],
  ])('explains a bad %s (%j)', (name, value, message) => {
    const env: Record<string, string> = { [name]: value };
    if (name === 'ADMIN_USER') env.ADMIN_PASSWORD = 'pw';
    const issues = issuesOf(env);
    expect(
      issues.some((line) => message.test(line)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('never echoes a password', () => {
    const issues = issuesOf({
      DATABASE_URL: 'mysql://app:hunter2@db:3306/',
      REDIS_URL: 'http://:hunter2@cache:6379',
    });
    expect(issues).toHaveLength(2);
    expect(issues.join('\n')).not.toContain('hunter2');
    expect(issues).toContain(
      'REDIS_URL: must be a redis:// or rediss:// URL such as redis://127.0.0.1:6379 (got "http://:***@cache:6379")',
    );
  });

  it('does not read process.env when given an environment', () => {
    const previous = process.env.PORT;
    process.env.PORT = 'not-a-port';
    try {
      expect(loadConfig({}).port).toBe(3000);
    } finally {
      if (previous === undefined) delete process.env.PORT;
      else process.env.PORT = previous;
    }
  });
});
