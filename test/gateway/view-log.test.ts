import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../relocator/support.ts';
import { redisUrl } from '../support/services.ts';
import { buildGateway, eventually, form, json, openServices, type Services } from './support.ts';

type Line = { cid: number; count: number; at: number };

const readLines = async (file: string): Promise<Line[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Line);

const metric = async (app: Awaited<ReturnType<typeof buildGateway>>['app'], name: string) => {
  const text = (await app.inject({ method: 'GET', url: '/metrics' })).body;
  const line = new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
  return line ? Number(line[1]) : undefined;
};

/** VIEW_LOG_FILE: every accepted view report as one NDJSON line that `npm run replay` reads. */
describe('the view log', () => {
  let services: Services;
  let dir: string;

  beforeAll(async () => {
    services = await openServices();
    dir = await mkdtemp(path.join(tmpdir(), 'view-log-'));
  });
  afterAll(async () => {
    await services?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('appends each accepted report (legacy, v1, batch items) and nothing refused; flushed on close; the replay reads it', async () => {
    const file = path.join(dir, 'views.ndjson');
    const gw = await buildGateway(services, { VIEW_LOG_FILE: file });
    const before = Date.now();
    const posts = [
      [form('/post_sentence', 'cid=7&count=1964'), 200],
      [form('/post_sentence', 'cid=4040&count=5'), 404],
      [form('/post_sentence', 'cid=7&count=1.5'), 400],
      [json('/v1/views', { cid: 2, count: 2500 }), 200],
      [json('/v1/views', { cid: 4041, count: 5 }), 404],
      [
        json('/v1/views', [
          { cid: 3, count: 2100 },
          { cid: 4040, count: 1 },
          { cid: 8, count: 5 },
          { cid: 3, count: 2150 },
        ]),
        200,
      ],
      [form('/post_sentence', 'cid=7&count=2001'), 200],
    ] as const;
    for (const [request, status] of posts) {
      const res = await gw.app.inject(request);
      expect(res.statusCode, request.payload).toBe(status);
    }
    const after = Date.now();
    await gw.app.close();

    const lines = await readLines(file);
    const reports = lines.map(({ cid, count }) => ({ cid, count }));
    expect(reports).toHaveLength(6);
    expect(reports.slice(0, 2)).toEqual([
      { cid: 7, count: 1964 },
      { cid: 2, count: 2500 },
    ]);
    // A batch decides different contents in parallel, one content's items in batch order.
    const batch = reports.slice(2, 5);
    expect(batch).toEqual(
      expect.arrayContaining([
        { cid: 3, count: 2100 },
        { cid: 8, count: 5 },
        { cid: 3, count: 2150 },
      ]),
    );
    expect(batch.filter((r) => r.cid === 3).map((r) => r.count)).toEqual([2100, 2150]);
    expect(reports[5]).toEqual({ cid: 7, count: 2001 });
    for (const line of lines) {
      expect(Object.keys(line)).toEqual(['cid', 'count', 'at']);
      expect(line.at).toBeGreaterThanOrEqual(before);
      expect(line.at).toBeLessThanOrEqual(after);
    }
    expect(lines.map((l) => l.at)).toEqual([...lines.map((l) => l.at)].sort((a, b) => a - b));

    // The replay reads the file as it is: 6 posts of 4 contents through the policy in force.
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'apps/relocator/src/replay.main.ts', '--views', file, '--json'],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, DATABASE_URL: services.database.url, REDIS_URL: redisUrl() },
      },
    );
    const replay = JSON.parse(stdout) as {
      current: { result: { posts: number; contents: number; moves: number } };
    };
    // A content starts on the tier its first count calls for: only cid 7 moves (1964 -> 2001).
    expect(replay.current.result).toMatchObject({ posts: 6, contents: 4, moves: 1 });
  }, 30_000);

  it('reopens the path after a rotation moved the file', async () => {
    const file = path.join(dir, 'rotated.ndjson');
    const gw = await buildGateway(services, { VIEW_LOG_FILE: file });
    await gw.app.inject(form('/post_sentence', 'cid=9&count=1101'));
    // logrotate's rename, then its postrotate `kill -HUP`.
    await rename(file, `${file}.1`);
    gw.app.viewReports.reopenLog();
    await gw.app.inject(form('/post_sentence', 'cid=9&count=1102'));
    await gw.app.close();

    expect((await readLines(`${file}.1`)).map((l) => l.count)).toEqual([1101]);
    expect((await readLines(file)).map((l) => l.count)).toEqual([1102]);
  });

  it('main.ts reopens the file on SIGHUP and flushes it on SIGTERM', async () => {
    const file = path.join(dir, 'main.ndjson');
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/gateway/src/main.ts'], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        REDIS_URL: redisUrl(),
        DATABASE_URL: services.database.url,
        QUEUE_PREFIX: services.prefix,
        LOG_LEVEL: 'info',
        VIEW_LOG_FILE: file,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    const logged = (msg: string) =>
      stdout
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; url?: string })
        .find((entry) => entry.msg === msg);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    try {
      await eventually(() => logged('gateway listening') !== undefined, 20_000, 'the gateway');
      const url = logged('gateway listening')?.url ?? '';
      const post = (body: string) =>
        fetch(`${url}/post_sentence`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body,
        });
      expect((await post('cid=11&count=2600')).status).toBe(200);
      await eventually(async () => (await readLines(file).catch(() => [])).length === 1);
      await rename(file, `${file}.1`);
      child.kill('SIGHUP');
      await eventually(() => logged('SIGHUP: reopening the view log') !== undefined);
      expect((await post('cid=11&count=2700')).status).toBe(200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect((await exited)[0]).toBe(0);
      expect((await readLines(`${file}.1`)).map((l) => l.count)).toEqual([2600]);
      expect((await readLines(file)).map((l) => l.count)).toEqual([2700]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 30_000);

  it('never fails a post when the file cannot be written: errors and dropped lines are counted', async () => {
    const file = path.join(dir, 'no-such-directory', 'views.ndjson');
    const gw = await buildGateway(services, { VIEW_LOG_FILE: file });
    try {
      for (const count of [1200, 1201, 1202]) {
        const res = await gw.app.inject(form('/post_sentence', `cid=12&count=${count}`));
        expect(res.statusCode).toBe(200);
        expect(res.json()).toMatchObject({ status: 'done', db_level: 'silver' });
      }
      expect(await metric(gw.app, 'gateway_view_log_errors_total')).toBe(1);
      expect(await metric(gw.app, 'gateway_view_log_dropped_total')).toBe(3);
    } finally {
      await gw.app.close();
    }
  });

  it('goes on posting when writes fail (a full disk), and still closes', async () => {
    const gw = await buildGateway(services, { VIEW_LOG_FILE: '/dev/full' });
    for (const count of [1300, 1301, 1302]) {
      const res = await gw.app.inject(form('/post_sentence', `cid=9&count=${count}`));
      expect(res.statusCode).toBe(200);
    }
    await eventually(
      async () => ((await metric(gw.app, 'gateway_view_log_errors_total')) ?? 0) >= 1,
      5000,
      'a write error',
    );
    const started = Date.now();
    await gw.app.close();
    // The lines the disk refused are given up at once, not after the 5 s close timeout.
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('is off unless VIEW_LOG_FILE is set', async () => {
    const gw = await buildGateway(services);
    try {
      const res = await gw.app.inject(form('/post_sentence', 'cid=10&count=20'));
      expect(res.statusCode).toBe(200);
      expect(gw.config.viewLogFile).toBeNull();
      expect(await metric(gw.app, 'gateway_view_log_errors_total')).toBe(0);
    } finally {
      await gw.app.close();
    }
  });
});
