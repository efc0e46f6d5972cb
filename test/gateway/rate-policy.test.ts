import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildGateway,
  eventually,
  form,
  json,
  openServices,
  startRealRelocator,
  type Gateway,
  type RealRelocator,
  type Services,
} from './support.ts';

// TIERING_POLICY=rate through the real gateway and a real relocator: the gateway folds each post
// into the cid's rate state (record-count-3.lua), decides by the rate, and the relocator decides
// again by the same state when the job starts. Earlier posts are recorded through the gateway's
// own cache with past timestamps, so a rate can be measured without waiting for the warm-up.

const HOUR = 3_600_000;
const TIERING = {
  TIERING_POLICY: 'rate',
  TIERING_RATE_HALF_LIFE: '1h',
  TIERING_RATE_THRESHOLDS: 'silver=20/10,gold=100/50',
};

type ContentState = {
  level: string;
  target: string;
  viewRate: number | null;
  settled: boolean;
  heldBy: { rule: string; message: string; until: string | null } | null;
};

describe('the view-rate policy in the service', () => {
  let services: Services;
  let gw: Gateway;
  let real: RealRelocator;

  beforeAll(async () => {
    services = await openServices();
    real = await startRealRelocator(services, TIERING);
    gw = await buildGateway(services, TIERING);
  });
  afterAll(async () => {
    await real?.close();
    await gw?.app.close();
    await services?.close();
  });

  /** Records posts of `cid` `hoursAgo` hours ago, through the gateway's cache. */
  async function postedEarlier(cid: number, level: string, posts: [number, number][]) {
    await gw.cache.fill(cid, { level, filename: `${'abcdefghijkl'[cid - 1] ?? 'x'}.mp4` });
    for (const [count, hoursAgo] of posts) {
      await gw.cache.recordCount(cid, count, Date.now() - hoursAgo * HOUR, HOUR);
    }
  }
  const stateOf = async (cid: number) => {
    const res = await gw.app.inject({ method: 'GET', url: `/v1/contents/${cid}` });
    expect(res.statusCode).toBe(200);
    return res.json<ContentState>();
  };

  it('promotes a content whose rate reaches a promote threshold, whatever its count', async () => {
    // Content 2 (bronze, 120 views in MySQL): 500 views in the last hour is 500/h, gold's 100/h.
    await postedEarlier(2, 'bronze', [[0, 1]]);
    const res = await gw.app.inject(json('/v1/views', { cid: 2, count: 500 }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ cid: 2, level: 'bronze', target: 'gold', status: 'update' });
    await eventually(async () => (await stateOf(2)).level === 'gold', 10_000, 'the move to gold');
    const history = await gw.app.inject({ method: 'GET', url: '/v1/contents/2/history' });
    const [row] = history.json<{ items: { newLevel: string; decision: unknown }[] }>().items;
    expect(row).toMatchObject({
      newLevel: 'gold',
      decision: {
        count: 500,
        boundary: null,
        rate: { kind: 'promote', level: 'gold', threshold: 100, halfLifeMs: HOUR },
      },
    });
    const state = await stateOf(2);
    expect(state.viewRate).toBeGreaterThan(499);
    expect(state.viewRate).toBeLessThanOrEqual(500);
  });

  it("keeps a content between its level's two thresholds where it is, and says why", async () => {
    // Content 6 (gold): 140 views between two and one hour ago, none since: 70/h now, below
    // gold's promote (100) but not below its demote (50).
    await postedEarlier(6, 'gold', [
      [0, 2],
      [140, 1],
    ]);
    const res = await gw.app.inject(form('/post_sentence', 'cid=6&count=140'));
    expect(res.statusCode).toBe(200);
    const state = await stateOf(6);
    expect(state).toMatchObject({ level: 'gold', target: 'gold', settled: true });
    expect(state.viewRate).toBeGreaterThan(69);
    expect(state.viewRate).toBeLessThanOrEqual(70);
    expect(state.heldBy).toMatchObject({ rule: 'hysteresis', until: null });
    expect(state.heldBy?.message).toMatch(
      /^its view rate of (69\.9\d|70)\/h would place a new content on silver; it stays on gold until its rate falls below gold's demote threshold of 50\/h$/,
    );
    expect(await gw.queue.getJobCounts('waiting', 'active', 'delayed')).toEqual({
      waiting: 0,
      active: 0,
      delayed: 0,
    });
  });

  it('leaves a content where it is until its rate is measured', async () => {
    // Content 4 (bronze): its first post only anchors the rate; a huge count moves nothing.
    const res = await gw.app.inject(json('/v1/views', { cid: 4, count: 1_000_000 }));
    expect(res.json()).toMatchObject({ level: 'bronze', target: 'bronze', status: 'done' });
    expect(await stateOf(4)).toMatchObject({ level: 'bronze', viewRate: null, heldBy: null });
  });
});
