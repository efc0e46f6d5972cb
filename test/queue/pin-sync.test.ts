import { getDeploymentId, seedIfEmpty, setContentPin } from '@relocation/db';
import { ContentCache, RelocationKeys, syncCache } from '@relocation/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';

/** Pins and the cache sweep: the pin in MySQL is the truth, and a content on its pin is settled. */
describe('syncCache with pins', () => {
  let t: TestDatabase;
  let r: TestRedis;
  let cache: ContentCache;

  const pin = (cid: number, level: string) =>
    setContentPin(t.db, { cid, level, until: null, reason: 'test', actor: 'cli:test' });

  beforeAll(async () => {
    t = await createTestDatabase();
    await seedIfEmpty(t.db, { dataDir: '/srv/reloc-pin-sync' });
    r = createTestRedis();
    const keys = new RelocationKeys({ prefix: r.prefix, deployment: await getDeploymentId(t.db) });
    cache = new ContentCache(r.redis, keys);
  });
  afterAll(async () => {
    await r.cleanup();
    await t.drop();
  });

  it('does not list a pinned content on its pin level as stuck, whatever its count', async () => {
    // cid 1 is on gold with 2500 views; posted 3 views, it would be stuck on gold.
    await cache.fill(1, { level: 'gold', filename: 'a.mp4' });
    await cache.recordCount(1, 3);
    expect(
      (await syncCache({ db: t.db, cache }, { fix: false })).stuck.map((s) => s.cid),
    ).toContain(1);
    await pin(1, 'gold');
    await cache.setPin(1, 'gold');
    const report = await syncCache({ db: t.db, cache }, { fix: true });
    expect(report.stuck.map((s) => s.cid)).not.toContain(1);
    expect(report.pinDrift).toEqual([]);
  });

  it('lists a content pinned to another level with nothing queued as stuck, with the pin as target', async () => {
    // cid 10: bronze, 10 views; pinned to silver, nothing queued.
    await pin(10, 'silver');
    const report = await syncCache({ db: t.db, cache }, { fix: false });
    expect(report.stuck).toContainEqual(
      expect.objectContaining({ cid: 10, level: 'bronze', target: 'silver' }),
    );
  });

  it('corrects a cached pin that disagrees with MySQL, both ways, and reports it', async () => {
    // cid 7: cached with a pin MySQL does not have (an unpin whose cache write was lost).
    await cache.fill(7, { level: 'bronze', filename: 'g.mp4', pin: 'gold' });
    // cid 8: pinned in MySQL, cached without the pin (SQL run outside the service).
    await cache.fill(8, { level: 'bronze', filename: 'h.mp4' });
    await pin(8, 'bronze');

    const dry = await syncCache({ db: t.db, cache }, { fix: false });
    expect(dry.pinDrift).toEqual([
      { cid: 7, cached: 'gold', mysql: null, fixed: false },
      { cid: 8, cached: null, mysql: 'bronze', fixed: false },
    ]);
    expect((await cache.get(7))?.pin).toBe('gold');

    const fixed = await syncCache({ db: t.db, cache }, { fix: true });
    expect(fixed.pinDrift.map((d) => [d.cid, d.fixed])).toEqual([
      [7, true],
      [8, true],
    ]);
    expect((await cache.get(7))?.pin).toBeNull();
    expect((await cache.get(8))?.pin).toBe('bronze');
    expect(await cache.recordCount(8, 5000)).toMatchObject({ kind: 'hit', pin: 'bronze' });
    expect((await syncCache({ db: t.db, cache }, { fix: true })).pinDrift).toEqual([]);
  });

  it('never overwrites a cached pin that changed after the sweep read it', async () => {
    await cache.fill(9, { level: 'silver', filename: 'i.mp4' });
    await cache.setPin(9, 'gold');
    // The sweep saw no pin; an operator pinned meanwhile: the compare-and-set leaves it.
    expect(await cache.setPin(9, null, null)).toBe(false);
    expect((await cache.get(9))?.pin).toBe('gold');
    // A cid with no entry gets none: the next post fills it from MySQL, pin included.
    expect(await cache.setPin(12345, 'gold')).toBe(false);
    expect(await cache.get(12345)).toBeNull();
  });
});
