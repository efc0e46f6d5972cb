import { ContentCache, MoveJournal, parseRateState, RelocationKeys } from '@relocation/queue';
import { observeViews, type ViewRateState } from '@relocation/tiering';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '../support/services.ts';

// The gateway's post script (record-count-3.lua) keeps each cid's view-rate state in Redis with
// the arithmetic of observeViews (@relocation/tiering): here both fold the same posts and must
// agree, and every reader of the state (peekMany, get, latestViews, the relocator's job start)
// must read what the script wrote.

const HOUR = 3_600_000;

/** Equal counts and times; rates both unknown or equal to 1e-12 relative (Lua's pow vs V8's). */
function expectSameState(lua: ViewRateState | null, js: ViewRateState | null): void {
  expect(lua === null).toBe(js === null);
  if (lua === null || js === null) return;
  expect(lua.count).toBe(js.count);
  expect(lua.at).toBe(js.at);
  expect(lua.rate === null).toBe(js.rate === null);
  if (lua.rate !== null && js.rate !== null) {
    expect(Math.abs(lua.rate - js.rate)).toBeLessThanOrEqual(1e-12 * Math.max(1, js.rate));
  }
}

describe('the view-rate state in the cache', () => {
  let r: TestRedis;
  let cache: ContentCache;
  let journal: MoveJournal;
  let nextCid = 1;

  beforeAll(() => {
    r = createTestRedis();
    const keys = new RelocationKeys({ prefix: r.prefix, deployment: 'test' });
    cache = new ContentCache(r.redis, keys);
    journal = new MoveJournal(r.redis, keys);
  });
  afterAll(async () => {
    await r.cleanup();
  });

  async function freshCid(): Promise<number> {
    const cid = nextCid++;
    await cache.fill(cid, { level: 'bronze', filename: `${cid}.mp4` });
    return cid;
  }

  it('keeps no rate state with the count policy (half-life 0)', async () => {
    const cid = await freshCid();
    expect(await cache.recordCount(cid, 10, 1000)).toMatchObject({ rateState: null });
    expect(await cache.recordCount(cid, 20, 2 * HOUR)).toMatchObject({ rateState: null });
    expect((await cache.get(cid))?.rateState).toBeNull();
    expect(await cache.latestViews(cid)).toEqual({ count: 20, rateState: null });
  });

  it('anchors on the first post, measures after an eighth of the half-life, then decays', async () => {
    const cid = await freshCid();
    const H = 8 * HOUR;
    expect((await cache.recordCount(cid, 100, 0, H)).kind).toBe('hit');
    expect((await cache.get(cid))?.rateState).toEqual({ count: 100, at: 0, rate: null });
    // Before the warm-up (an hour) ends, nothing changes.
    await cache.recordCount(cid, 150, HOUR - 1, H);
    expect((await cache.get(cid))?.rateState).toEqual({ count: 100, at: 0, rate: null });
    // 200 views in two hours: 100 an hour.
    const hit = await cache.recordCount(cid, 300, 2 * HOUR, H);
    expect(hit.kind === 'hit' && hit.rateState).toEqual({ count: 300, at: 2 * HOUR, rate: 100 });
    // A lower total or an earlier time adds nothing and moves nothing back.
    await cache.recordCount(cid, 250, HOUR, H);
    const [peeked] = await cache.peekMany([cid]);
    expect(peeked?.rateState).toEqual({ count: 300, at: 2 * HOUR, rate: 100 });
    // The relocator reads the same state when a job starts.
    const start = await journal.startJob(cid, 'job-1', cache);
    expect(start.rateState).toEqual({ count: 300, at: 2 * HOUR, rate: 100 });
    expect((await cache.latestViews(cid)).rateState).toEqual(start.rateState);
  });

  it('agrees with observeViews for any posts and half-life', async () => {
    const post = fc.record({
      views: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 0, max: 5 }),
        fc.integer({ min: 0, max: 1_000_000 }),
      ),
      // Same millisecond, seconds, hours, days; sometimes a post from the past.
      gap: fc.oneof(
        fc.constant(0),
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 48 * HOUR }),
        fc.integer({ min: -HOUR, max: -1 }),
      ),
      lower: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 60_000, max: 30 * 24 * HOUR }),
        fc.integer({ min: 0, max: 1_000_000_000 }),
        fc.array(post, { minLength: 1, maxLength: 25 }),
        async (halfLife, start, posts) => {
          const cid = await freshCid();
          let js: ViewRateState | null = null;
          let count = start;
          let at = 1_700_000_000_000;
          for (const p of posts) {
            count = p.lower ? Math.max(0, count - p.views) : count + p.views;
            at += p.gap;
            js = observeViews(js, count, at, halfLife);
            const hit = await cache.recordCount(cid, count, at, halfLife);
            if (hit.kind !== 'hit') throw new Error('the cid should be cached');
            expectSameState(hit.rateState, js);
          }
          expectSameState((await cache.get(cid))?.rateState ?? null, js);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads a missing or damaged state as none', () => {
    expect(parseRateState(null, null, null)).toBeNull();
    expect(parseRateState('5', null, '1')).toBeNull();
    expect(parseRateState(null, '5', 'x')).toBeNull();
    expect(parseRateState('-1', '5', '1')).toBeNull();
    expect(parseRateState(null, '5', '1')).toEqual({ count: 5, at: 1, rate: null });
    expect(parseRateState('0.5', '5', '1')).toEqual({ count: 5, at: 1, rate: 0.5 });
  });
});
