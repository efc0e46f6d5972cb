/**
 * Issue 11's "done when": the hovering trace (400 contents, 30,000 posts in 60 s, 40 of them
 * hovering at 1000 ± 10) makes at most the flap budget's worth of moves per content at default
 * settings. Without the budget the issue measured 1,551 moves for the 40 hovering contents.
 *
 * Real parts: the gateway (in process, its routes through `app.inject`), two relocator processes, MySQL, Redis and
 * real files on tier directories (bronze on disk, silver on tmpfs, gold on disk; the level table
 * is the seed's, so 1000 ± 10 crosses the bronze | silver boundary and each such move copies the
 * file across file systems). The relocators run with the default placement policy: every
 * TIERING_* variable is passed empty (= unset), whatever the test's own environment says.
 */
import path from 'node:path';
import { getContent, type HistoryRow } from '@relocation/db';
import {
  loadConfig as loadGatewayConfig,
  startGateway,
  type GatewayHandle,
} from '@relocation/gateway';
import { getRelocationStatus, POLICY_HOLD_CODES } from '@relocation/queue';
import { sha256File } from '@relocation/relocator';
import {
  DEFAULT_FLAP_BUDGET,
  replayViews,
  syntheticViews,
  targetLevel,
  type ViewEvent,
} from '@relocation/tiering';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHarness,
  insertContents,
  killHard,
  list,
  spawnRelocator,
  until,
  writeSeededFile,
  type Harness,
  type RelocatorProcess,
} from './support.ts';

const CONTENTS = 400;
const HOVERING = 40;
const POSTS = 30_000;
const TIERS = ['bronze', 'silver', 'gold'] as const;
/** Moves a window of the default budget allows (4 per hour). */
const BUDGET = DEFAULT_FLAP_BUDGET.moves;

/** The placement policy's variables, all passed empty: an empty value counts as unset. */
const DEFAULT_TIERING = {
  TIERING_HYSTERESIS: '',
  TIERING_MIN_RESIDENCE_MS: '',
  TIERING_MIN_RESIDENCE_BY_LEVEL: '',
  TIERING_FLAP_BUDGET: '',
};

/**
 * Posts at once, each lane posting its cids' events in trace order (so the count a content's
 * last post carries is its latest count in the trace too). The trace's `at` only orders the
 * posts: its 60 s are compressed to what the gateway takes, far inside the budget's one-hour
 * window, which the relocators apply with the real clock. The posts go through the real
 * `POST /post_sentence` route (form body, hooks, rate-limit and access plugins, Redis, queue)
 * with `app.inject`, not a socket: measured here, 30,000 posts take 4–8 s that way and
 * about 19 s over HTTP with keep-alive (client and gateway share this process's event loop).
 */
const LANES = 32;

let h: Harness;
let gateway: GatewayHandle;
const relocators: RelocatorProcess[] = [];

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await Promise.all(relocators.map((r) => killHard(r)));
  await gateway?.close();
  await h?.close();
});

/** Sends `events` to `POST /post_sentence` as a form, `LANES` at a time; answers the statuses. */
async function postTrace(
  app: GatewayHandle['app'],
  events: readonly ViewEvent[],
): Promise<Map<number, number>> {
  const lanes: ViewEvent[][] = Array.from({ length: LANES }, () => []);
  for (const event of events) lanes[event.cid % LANES]?.push(event);
  const statuses = new Map<number, number>();
  await Promise.all(
    lanes.map(async (lane) => {
      for (const { cid, count } of lane) {
        const response = await app.inject({
          method: 'POST',
          url: '/post_sentence',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: `cid=${cid}&count=${count}`,
        });
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
      }
    }),
  );
  return statuses;
}

describe('the hovering trace at default settings', () => {
  it('moves each content at most the flap budget allows, hovering ones coming to rest on the higher tier', async () => {
    const events = syntheticViews({
      contents: CONTENTS,
      posts: POSTS,
      durationMs: 60_000,
      hovering: HOVERING,
      around: 1000,
      spread: 10,
      startAt: Date.now(),
      seed: 11,
    });
    const first = new Map<number, number>();
    const latest = new Map<number, number>();
    for (const { cid, count } of events) {
      if (!first.has(cid)) first.set(cid, count);
      latest.set(cid, count);
    }
    expect(first.size).toBe(CONTENTS);
    const hovering = (cid: number) => cid <= HOVERING;
    const tierOf = (count: number) => targetLevel(count, h.levels).name;

    // What the policy's own replay says of this trace (moves happen at once there), for the log.
    const replay = (flapBudget: typeof DEFAULT_FLAP_BUDGET | null) =>
      replayViews(
        events.filter((e) => hovering(e.cid)),
        { levels: h.levels, options: { flapBudget } },
        () => 0,
      ).moves;

    // Each content starts on the tier its first count calls for (as `npm run replay` assumes),
    // with a real file of its own.
    const cids = [...first.keys()].sort((a, b) => a - b);
    const initial = new Map(cids.map((cid) => [cid, tierOf(first.get(cid) ?? 0)]));
    await insertContents(
      h.t.db,
      cids.map((cid) => ({
        cid,
        level: initial.get(cid) ?? 'bronze',
        filename: `h${cid}.mp4`,
        viewCount: first.get(cid) ?? 0,
      })),
    );
    const digests = new Map<number, string>();
    for (let i = 0; i < cids.length; i += 50) {
      await Promise.all(
        cids.slice(i, i + 50).map(async (cid) => {
          const file = path.join(h.dir(initial.get(cid) ?? 'bronze'), `h${cid}.mp4`);
          digests.set(cid, await writeSeededFile(file, 4096 + ((cid * 7919) % 60_000), `h${cid}`));
        }),
      );
    }

    gateway = await startGateway(
      loadGatewayConfig({
        DATABASE_URL: h.t.url,
        REDIS_URL: h.env().REDIS_URL,
        QUEUE_PREFIX: h.r.prefix,
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        // The trace posts 500 a second from one address, past the default 6,000 a minute per
        // client; the rate limit is not what this test is about (the placement policy is).
        RATE_LIMIT_POSTS_PER_MINUTE: '0',
        ...DEFAULT_TIERING,
      }),
    );
    for (let i = 0; i < 2; i++) relocators.push(spawnRelocator(h.env(DEFAULT_TIERING)));
    await Promise.all(relocators.map((r) => r.waitForLog((l) => l.msg === 'relocator started')));

    const postStart = Date.now();
    const statuses = await postTrace(gateway.app, events);
    const postMs = Date.now() - postStart;
    expect(Object.fromEntries(statuses)).toEqual({ 200: POSTS });

    // Drained: nothing waiting or running, and every delayed job is one the flap budget holds
    // (delayed for about an hour: counted, not waited for). Twice in a row, 200 ms apart.
    let held: number[] = [];
    let quiet = 0;
    await until(
      async () => {
        const counts = await h.queue.getJobCounts('waiting', 'active', 'prioritized');
        const delayed = await h.queue.getJobs(['delayed']);
        const statuses = await Promise.all(
          delayed.map((job) => getRelocationStatus(h.queue, h.cache, job.data.cid)),
        );
        const drained =
          Object.values(counts).every((n) => n === 0) &&
          statuses.every(
            (s) => s.state === 'held' && s.hold.code === POLICY_HOLD_CODES['flap-budget'],
          );
        held = delayed.map((job) => job.data.cid).sort((a, b) => a - b);
        quiet = drained ? quiet + 1 : 0;
        return quiet >= 2;
      },
      60_000,
      'the queue to drain (but for moves the flap budget holds)',
      200,
    );
    expect((await h.queue.getJobs(['failed'])).map((j) => j.failedReason)).toEqual([]);

    const rows = await h.t.db.selectFrom('update_history').selectAll().orderBy('id').execute();
    const historyOf = new Map<number, HistoryRow[]>();
    for (const row of rows) historyOf.set(row.cid, [...(historyOf.get(row.cid) ?? []), row]);

    const filesIn = new Map<string, string[]>();
    for (const tier of TIERS) filesIn.set(tier, await list(h.dir(tier)));
    expect([...filesIn.values()].flat()).toHaveLength(CONTENTS);

    let hoveringMoves = 0;
    let otherMoves = 0;
    let restedHigh = 0;
    let heldOffTarget = 0;
    for (const cid of cids) {
      const history = historyOf.get(cid) ?? [];
      const level = (await getContent(h.t.db, cid))?.content_level;
      const target = tierOf(latest.get(cid) ?? 0);
      const context = { cid, level, latest: latest.get(cid), history: history.map(brief) };

      // The history is a chain of real changes from the initial tier to the final one, each
      // decided under the default budget.
      let at = initial.get(cid);
      for (const row of history) {
        expect(row.old_content_level, JSON.stringify(context)).toBe(at);
        expect(row.new_content_level).not.toBe(row.old_content_level);
        const decision = JSON.parse(row.decision ?? 'null') as {
          policy: { flapBudget: { moves: number; windowMs: number } | null };
        } | null;
        expect(decision?.policy.flapBudget).toMatchObject(DEFAULT_FLAP_BUDGET);
        at = row.new_content_level;
      }
      expect(at, JSON.stringify(context)).toBe(level);
      // At most the budget's moves per content (the whole run is inside one window).
      expect(history.length, JSON.stringify(context)).toBeLessThanOrEqual(BUDGET);

      // I2: the file is in exactly its MySQL tier's directory, intact.
      for (const tier of TIERS) {
        expect(filesIn.get(tier)?.includes(`h${cid}.mp4`), JSON.stringify(context)).toBe(
          tier === level,
        );
      }
      expect(await sha256File(path.join(h.dir(level ?? ''), `h${cid}.mp4`))).toBe(digests.get(cid));

      if (hovering(cid)) {
        hoveringMoves += history.length;
        if (held.includes(cid)) {
          // Past the budget: it rests on the higher of bronze and silver, its last move a
          // promotion, a demotion held (the held job stays delayed even when a later count
          // calls for silver again: it then finds nothing to do when the window lets it run).
          restedHigh += 1;
          if (target !== level) heldOffTarget += 1;
          expect(level, JSON.stringify(context)).toBe('silver');
          expect(history.length).toBeGreaterThanOrEqual(BUDGET - 1);
          expect(history.at(-1)?.new_content_level).toBe('silver');
        } else {
          expect(level, JSON.stringify(context)).toBe(target);
        }
        if (history.length === BUDGET) expect(level, JSON.stringify(context)).toBe('silver');
      } else {
        // Counts that only grow: on the tier the latest count calls for, having moved only up.
        otherMoves += history.length;
        expect(held).not.toContain(cid);
        expect(level, JSON.stringify(context)).toBe(target);
        for (const row of history) {
          expect(TIERS.indexOf(row.new_content_level as (typeof TIERS)[number])).toBeGreaterThan(
            TIERS.indexOf(row.old_content_level as (typeof TIERS)[number]),
          );
        }
      }
    }
    // The trace makes both kinds move: hovering contents flap, some others cross a boundary.
    expect(hoveringMoves).toBeGreaterThan(HOVERING);
    expect(otherMoves).toBeGreaterThan(0);
    expect(rows).toHaveLength(hoveringMoves + otherMoves);

    const holdLogs = relocators
      .flatMap((r) => r.logs)
      .filter((l) => l.rule === 'flap-budget').length;
    console.info(
      `hovering trace: ${POSTS} posts in ${postMs} ms; hovering contents (${HOVERING}) made ` +
        `${hoveringMoves} moves (issue, without a budget: 1,551; replay of this trace: ` +
        `${replay(null)} without, ${replay(DEFAULT_FLAP_BUDGET)} with the budget), ` +
        `max ${Math.max(...cids.filter(hovering).map((c) => historyOf.get(c)?.length ?? 0))} ` +
        `per content; ${restedHigh} rest on silver held by the budget (${heldOffTarget} of them ` +
        `with a latest count below 1000; ${holdLogs} holds logged); ` +
        `other contents made ${otherMoves} moves`,
    );
  }, 120_000);
});

/** A history row in a line, for failure messages. */
function brief(row: HistoryRow): string {
  return `#${row.id} ${row.old_content_level}->${row.new_content_level} @${row.view_count} ${row.new_updated_date.toISOString()}`;
}
