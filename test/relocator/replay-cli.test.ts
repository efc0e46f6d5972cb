import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { seedIfEmpty, seedLevels } from '@relocation/db';
import {
  DEFAULT_FLAP_BUDGET,
  replayViews,
  type ReplayResult,
  type ViewRatePolicy,
} from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisUrl, type TestDatabase } from '../support/services.ts';
import { REPO_ROOT } from './support.ts';

const SAMPLE = 'docs/samples/views.ndjson';
const THRESHOLDS = 'silver=20/10,gold=100/50';
/** What the replay assumes of a content whose size MySQL does not know (none here). */
const DEFAULT_SIZE = 100 * 1024 * 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface ReplayJson {
  current: { tiering: { viewRate: ViewRatePolicy | null }; result: ReplayResult };
  candidate: { tiering: { viewRate: ViewRatePolicy | null }; result: ReplayResult };
}

/** `npm run replay -- --views docs/samples/views.ndjson …args` against `db`, no TIERING_* nor RATE_SWEEP_EVERY set but `env`'s. */
async function replay(db: TestDatabase, args: string[], env: Record<string, string> = {}) {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('TIERING_') && name !== 'RATE_SWEEP_EVERY',
    ),
  );
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'apps/relocator/src/replay.main.ts', '--views', SAMPLE, ...args],
      { cwd: REPO_ROOT, env: { ...base, DATABASE_URL: db.url, REDIS_URL: redisUrl(), ...env } },
    );
    return { code: 0, stdout, stderr } satisfies Run;
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** `npm run replay`: the candidate and the current policy by view rate (`--policy rate`). */
describe('npm run replay with the rate policy', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
    await seedIfEmpty(db.db, { dataDir: '/srv/replay-test', contents: [] });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('replays the sample log through a rate candidate exactly as replayViews does', async () => {
    const run = await replay(db, [
      '--policy',
      'rate',
      '--thresholds',
      THRESHOLDS,
      '--half-life',
      '6h',
      '--json',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout) as ReplayJson;
    expect(body.current.tiering.viewRate).toBeNull();
    expect(body.current.result).not.toHaveProperty('sweep');
    expect(body.candidate.tiering.viewRate).toEqual({
      halfLifeMs: 6 * 3_600_000,
      thresholds: { silver: { promote: 20, demote: 10 }, gold: { promote: 100, demote: 50 } },
    });

    const events = (await readFile(path.join(REPO_ROOT, SAMPLE), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as { cid: number; count: number; at: string })
      .map((e) => ({ cid: e.cid, count: e.count, at: Date.parse(e.at) }));
    const expected = replayViews(
      events,
      {
        levels: seedLevels('/srv/replay-test'),
        options: {
          flapBudget: DEFAULT_FLAP_BUDGET,
          viewRate: body.candidate.tiering.viewRate,
        },
      },
      () => DEFAULT_SIZE,
    );
    expect(body.candidate.result).toEqual(expected);
    expect(body.candidate.result).toMatchObject({
      posts: 3000,
      contents: 100,
      sweep: { everyMs: 60_000 },
    });
  });

  it('prints which policy each side uses, and the moves of the sweep', async () => {
    const run = await replay(db, ['--policy', 'rate', '--thresholds', THRESHOLDS]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(
      'current:   count policy, hysteresis 0 views, residence off, flap budget 4/1h',
    );
    expect(run.stdout).toContain(
      `candidate: rate policy (half-life 6h, ${THRESHOLDS} views/h, sweep every 1m), residence off, flap budget 4/1h`,
    );
    expect(run.stdout).toMatch(/^moves by the rate sweep +- +\d+$/m);

    const off = await replay(db, [
      '--policy',
      'rate',
      '--thresholds',
      THRESHOLDS,
      '--sweep-every',
      'off',
    ]);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toContain(`${THRESHOLDS} views/h, no sweep)`);
    expect(off.stdout).toMatch(/^moves by the rate sweep +- +0$/m);
  });

  it('takes the current policy from TIERING_* and RATE_SWEEP_EVERY, the rate policy included', async () => {
    const run = await replay(db, ['--policy', 'count', '--json'], {
      TIERING_POLICY: 'rate',
      TIERING_RATE_THRESHOLDS: 'silver=5/2',
      TIERING_RATE_HALF_LIFE: '1h',
      RATE_SWEEP_EVERY: '5m',
    });
    expect(run.code, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout) as ReplayJson;
    expect(body.current.tiering.viewRate).toEqual({
      halfLifeMs: 3_600_000,
      thresholds: { silver: { promote: 5, demote: 2 } },
    });
    expect(body.current.result.sweep).toMatchObject({ everyMs: 300_000 });
    expect(body.candidate.tiering.viewRate).toBeNull();
    expect(body.candidate.result).not.toHaveProperty('sweep');
  });

  it('refuses a bad value as bad usage naming the option (exit 2)', async () => {
    const cases: [string[], string][] = [
      [['--policy', 'fast'], '--policy (TIERING_POLICY): must be one of'],
      [['--policy', 'rate'], '--thresholds (TIERING_RATE_THRESHOLDS): required with'],
      [
        ['--policy', 'rate', '--thresholds', 'silver=10/20'],
        '--thresholds (TIERING_RATE_THRESHOLDS): silver=10/20: the demote threshold',
      ],
      [
        ['--policy', 'rate', '--thresholds', THRESHOLDS, '--half-life', '10s'],
        '--half-life (TIERING_RATE_HALF_LIFE): must be a duration',
      ],
      [
        ['--policy', 'rate', '--thresholds', THRESHOLDS, '--sweep-every', '1ms'],
        '--sweep-every (RATE_SWEEP_EVERY): must be off, or a duration',
      ],
      [['--thresholds', THRESHOLDS], '--thresholds: the candidate decides by count'],
    ];
    const runs = await Promise.all(cases.map(([args]) => replay(db, args)));
    runs.forEach((run, i) => {
      const [args, problem] = cases[i] ?? [[], ''];
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr.split('\n')[0]).toContain(problem);
      expect(run.stderr).toContain('usage: npm run replay');
    });
  }, 60_000);
});
