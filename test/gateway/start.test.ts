import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, startGateway, type GatewayHandle } from '@relocation/gateway';
import { EXIT_INVALID_CONFIG } from '@relocation/runtime';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisUrl } from '../support/services.ts';
import { listeningGatewayEnv, openServices, type Services } from './support.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'apps/gateway/src/main.ts');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

describe('startGateway and the command line', () => {
  let services: Services;

  beforeAll(async () => {
    services = await openServices();
  });
  afterAll(async () => {
    await services?.close();
  });

  it("listens on a real port, answers the seed's curl request, and closes its connections", async () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl(),
      DATABASE_URL: services.database.url,
      QUEUE_PREFIX: services.prefix,
    });
    let handle: GatewayHandle | undefined = await startGateway(config, {
      logger: pino({ level: 'silent' }),
    });
    try {
      expect(handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      // What `curl -d "cid=7&count=1964" http://host/post_sentence` sends.
      const res = await fetch(`${handle.url}/post_sentence`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'cid=7&count=1964',
      });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe(
        '{"cid":"7","count":"1964","target":"silver","db_level":"bronze","filename":"g.mp4","worker_id":null,"status":"update"}',
      );
      const { app, url } = handle;
      await handle.close();
      handle = undefined;
      expect(app.gateway.redis.status).toBe('end');
      await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    } finally {
      await handle?.close();
    }
  });

  it('main.ts starts, logs JSON with its URL, and exits 0 on SIGTERM', async () => {
    const child = spawn(TSX, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, ...listeningGatewayEnv(services, { LOG_LEVEL: 'info' }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "gateway listening" line: ${stdout}`)),
        20_000,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        for (const line of stdout.split('\n')) {
          if (!line.startsWith('{')) continue;
          const entry = JSON.parse(line) as { msg?: string; url?: string };
          if (entry.msg === 'gateway listening' && entry.url) {
            clearTimeout(timer);
            resolve(entry.url);
          }
        }
      });
    });
    try {
      const url = await listening;
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      expect(stdout).toMatch(/"reqId":"[0-9a-f-]{36}"/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('main.ts exits 2 with one line per bad variable', async () => {
    const child = spawn(TSX, [MAIN], {
      cwd: ROOT,
      env: { ...process.env, PORT: 'eighty', LOG_LEVEL: 'loud', VIEWS_BATCH_MAX: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(EXIT_INVALID_CONFIG);
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('gateway: invalid configuration');
    expect(lines).toContain('  PORT: must be a whole number from 0 to 65535 (got "eighty")');
    expect(stderr).toMatch(/^ {2}LOG_LEVEL: must be one of/m);
    expect(stderr).toMatch(/^ {2}VIEWS_BATCH_MAX: must be a whole number/m);
  }, 30_000);
});
