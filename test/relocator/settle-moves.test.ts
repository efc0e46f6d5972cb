import { getDeploymentId } from '@relocation/db';
import { ContentCache, MoveJournal, RelocationKeys } from '@relocation/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  type TestDatabase,
  type TestRedis,
} from '../support/services.ts';

describe('settling the moves of one group commit', () => {
  let t: TestDatabase;
  let r: TestRedis;
  let keys: RelocationKeys;
  let cache: ContentCache;
  let journal: MoveJournal;
  beforeAll(async () => {
    t = await createTestDatabase();
    r = createTestRedis();
    keys = new RelocationKeys({ prefix: r.prefix, deployment: await getDeploymentId(t.db) });
    cache = new ContentCache(r.redis, keys);
    journal = new MoveJournal(r.redis, keys);
  });
  afterAll(async () => {
    await r.cleanup();
    await t.drop();
  });

  const pending = (cid: number) => ({
    from: 'bronze',
    to: 'silver',
    filename: `c${cid}.mp4`,
    jobId: `j${cid}`,
    startedAt: 1,
  });

  it('settles every move asked for in one turn, each failing only on its own cid', async () => {
    for (const cid of [1, 2, 3]) {
      await cache.fill(cid, { level: 'bronze', filename: `c${cid}.mp4` });
      await journal.begin(cid, pending(cid));
    }
    // cid 2's entry is not a hash: its HSET fails (WRONGTYPE), the others' succeed.
    await r.redis.del(keys.cid(2));
    await r.redis.set(keys.cid(2), 'not a hash');
    const settled = await Promise.allSettled(
      [1, 2, 3].map((cid) =>
        journal.settle(cid, cache, { level: 'silver', filename: `c${cid}.mp4` }),
      ),
    );
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const failed = settled[1];
    expect(failed?.status === 'rejected' ? String(failed.reason) : '').toMatch(/WRONGTYPE/);
    for (const cid of [1, 3]) {
      expect(await cache.get(cid)).toMatchObject({ level: 'silver', filename: `c${cid}.mp4` });
      expect(await journal.get(cid)).toBeNull();
    }
  });
});
