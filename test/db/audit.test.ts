import {
  AUDIT_ACTIONS,
  AUDIT_TEXT_MAX,
  DbError,
  assignContentLevel,
  getContent,
  getContentHistory,
  listAudit,
  listLevels,
  pruneAudit,
  recordAudit,
  replaceLevels,
  seedIfEmpty,
} from '@relocation/db';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/services.ts';

const SEEDED = [
  { name: 'bronze', minCount: 0, maxCount: 999, path: '/srv/tiers/bronze' },
  { name: 'silver', minCount: 1000, maxCount: 1999, path: '/srv/tiers/silver' },
  { name: 'gold', minCount: 2000, maxCount: null, path: '/srv/tiers/gold' },
];

describe('the audit log', () => {
  let t: TestDatabase;

  /** Makes every insert into `table` fail, as a broken disk or a lost connection would. */
  async function failInserts(table: 'audit_log' | 'level', run: () => Promise<void>) {
    await sql
      .raw(
        `create trigger fail_${table} before insert on ${table} for each row ` +
          `signal sqlstate '45000' set message_text = 'insert refused by the test'`,
      )
      .execute(t.db);
    try {
      await run();
    } finally {
      await sql.raw(`drop trigger if exists fail_${table}`).execute(t.db);
    }
  }

  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => {
    await t.drop();
  });
  beforeEach(async () => {
    await t.db.deleteFrom('audit_log').execute();
    await t.db.deleteFrom('update_history').execute();
    await t.db.deleteFrom('contents').execute();
    await t.db.deleteFrom('level').execute();
    await seedIfEmpty(t.db, { dataDir: '/srv/tiers' });
  });

  it('has the columns of an audit entry and an index by time', async () => {
    const { rows } = await sql<{ name: string; type: string; nullable: string }>`
      select column_name as name, column_type as type, is_nullable as nullable
      from information_schema.columns
      where table_schema = ${t.name} and table_name = 'audit_log' order by ordinal_position`.execute(
      t.db,
    );
    expect(
      rows.map((r) => [r.name, r.type.replace(/\(\d+\) unsigned/, ' unsigned'), r.nullable]),
    ).toEqual([
      ['id', 'bigint unsigned', 'NO'],
      ['at', 'datetime(3)', 'NO'],
      ['actor', 'varchar(200)', 'NO'],
      ['action', 'varchar(64)', 'NO'],
      ['target', 'varchar(200)', 'YES'],
      ['before', 'longtext', 'YES'],
      ['after', 'longtext', 'YES'],
      ['detail', 'text', 'YES'],
    ]);
    const index = await sql<{ name: string }>`
      select column_name as name from information_schema.statistics
      where table_schema = ${t.name} and table_name = 'audit_log' and index_name = 'audit_log_at_id'
      order by seq_in_index`.execute(t.db);
    expect(index.rows.map((r) => r.name)).toEqual(['at', 'id']);
  });

  it('records an entry with JSON before and after, and reads it back (MySQL time, UTC)', async () => {
    const started = Date.now();
    const id = await recordAudit(t.db, {
      actor: 'admin:operator',
      action: AUDIT_ACTIONS.requeueContent,
      target: 'cid:7',
      before: { level: 'bronze', pendingMove: null },
      after: { queued: true, jobId: '12' },
      detail: 'a note',
    });
    const [entry] = await listAudit(t.db);
    expect(entry).toEqual({
      id,
      at: expect.any(Date) as Date,
      actor: 'admin:operator',
      action: 'content.requeue',
      target: 'cid:7',
      before: { level: 'bronze', pendingMove: null },
      after: { queued: true, jobId: '12' },
      detail: 'a note',
    });
    expect(Math.abs((entry?.at.getTime() ?? 0) - started)).toBeLessThan(60_000);
  });

  it('stores absent values as NULL and cuts an over-long actor and target to the column width', async () => {
    const long = 'é'.repeat(AUDIT_TEXT_MAX + 50);
    await recordAudit(t.db, { actor: long, action: 'test.long', target: long });
    await recordAudit(t.db, { actor: 'cli:alice', action: 'test.bare' });
    const [bare, cut] = await listAudit(t.db);
    expect(bare).toMatchObject({ target: null, before: null, after: null, detail: null });
    expect(cut?.actor).toBe('é'.repeat(AUDIT_TEXT_MAX));
    expect(cut?.target).toBe('é'.repeat(AUDIT_TEXT_MAX));
  });

  it('lists newest first, pages with beforeId and filters by action and actor', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        await recordAudit(t.db, {
          actor: i % 2 === 0 ? 'admin:operator' : 'cli:alice',
          action: i < 3 ? 'levels.replace' : 'content.requeue',
          target: `n:${i}`,
        }),
      );
    }
    const page1 = await listAudit(t.db, { limit: 2 });
    expect(page1.map((e) => e.id)).toEqual([ids[4], ids[3]]);
    const page2 = await listAudit(t.db, { limit: 2, beforeId: page1.at(-1)?.id });
    expect(page2.map((e) => e.id)).toEqual([ids[2], ids[1]]);
    const page3 = await listAudit(t.db, { limit: 2, beforeId: page2.at(-1)?.id });
    expect(page3.map((e) => e.id)).toEqual([ids[0]]);

    const replaced = await listAudit(t.db, { action: 'levels.replace' });
    expect(replaced.map((e) => e.target)).toEqual(['n:2', 'n:1', 'n:0']);
    const alice = await listAudit(t.db, { actor: 'cli:alice' });
    expect(alice.map((e) => e.target)).toEqual(['n:3', 'n:1']);
    const both = await listAudit(t.db, { action: 'levels.replace', actor: 'cli:alice' });
    expect(both.map((e) => e.target)).toEqual(['n:1']);
  });

  it('shows a value written by hand that is not JSON as it is', async () => {
    await t.db
      .insertInto('audit_log')
      .values({ actor: 'dba', action: 'manual', target: null, before: 'not json', after: '[1]' })
      .execute();
    const [entry] = await listAudit(t.db);
    expect(entry).toMatchObject({ before: 'not json', after: [1], detail: null });
  });

  describe('replaceLevels', () => {
    const raised = SEEDED.map((l) =>
      l.name === 'bronze'
        ? { ...l, maxCount: 1499 }
        : l.name === 'silver'
          ? { ...l, minCount: 1500 }
          : l,
    );

    it('records the old and the new table in the same transaction, with who and the detail', async () => {
      await replaceLevels(t.db, raised, {
        audit: { actor: 'admin:operator', detail: 'tier directories: none' },
      });
      const entries = await listAudit(t.db);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: 'admin:operator',
        action: 'levels.replace',
        target: 'levels',
        before: SEEDED,
        after: raised,
        detail: 'tier directories: none',
      });
    });

    it('records nothing without audit, nor for a refused table', async () => {
      await replaceLevels(t.db, raised);
      const audit = { actor: 'admin:operator' };
      const invalid = await replaceLevels(t.db, [{ ...SEEDED[0]!, minCount: 5 }], { audit }).catch(
        (e: unknown) => e,
      );
      expect(invalid).toMatchObject({ code: 'INVALID_LEVELS' });
      // Removing gold, which seeded contents sit on, is refused inside the transaction.
      const withoutGold = [SEEDED[0]!, { ...SEEDED[1]!, maxCount: null }];
      const inUse = await replaceLevels(t.db, withoutGold, { audit }).catch((e: unknown) => e);
      expect(inUse).toBeInstanceOf(DbError);
      expect(inUse).toMatchObject({ code: 'LEVEL_IN_USE' });
      expect(await listAudit(t.db)).toEqual([]);
    });

    it('leaves the table as it was when the audit entry cannot be written', async () => {
      await failInserts('audit_log', async () => {
        await expect(
          replaceLevels(t.db, raised, { audit: { actor: 'admin:operator' } }),
        ).rejects.toThrow(/insert refused by the test/);
      });
      expect(await listLevels(t.db)).toEqual(SEEDED);
      expect(await listAudit(t.db)).toEqual([]);
    });

    it('writes no entry when the table change itself fails', async () => {
      await failInserts('level', async () => {
        await expect(
          replaceLevels(t.db, raised, { audit: { actor: 'admin:operator' } }),
        ).rejects.toThrow(/insert refused by the test/);
      });
      expect(await listLevels(t.db)).toEqual(SEEDED);
      expect(await listAudit(t.db)).toEqual([]);
    });
  });

  describe('assignContentLevel', () => {
    const manual = {
      cid: 7,
      level: 'silver',
      viewCount: 1964,
      jobId: 'admin:operator',
      audit: { actor: 'admin:operator', detail: 'file /srv/tiers/silver/g.mp4' },
    };

    it('records the level before and after and the history row, in the same transaction', async () => {
      const result = await assignContentLevel(t.db, manual);
      expect(result.kind).toBe('assigned');
      const [history] = await getContentHistory(t.db, 7);
      const entries = await listAudit(t.db);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: 'admin:operator',
        action: 'content.set-level',
        target: 'cid:7',
        before: { level: 'bronze' },
        after: { level: 'silver', historyId: history?.id },
        detail: 'file /srv/tiers/silver/g.mp4',
      });
    });

    it('records a repeat as unchanged, and nothing for a stale or unknown content', async () => {
      await assignContentLevel(t.db, manual);
      expect(await assignContentLevel(t.db, manual)).toEqual({ kind: 'unchanged' });
      const [repeat] = await listAudit(t.db);
      expect(repeat).toMatchObject({
        before: { level: 'silver' },
        after: { level: 'silver', historyId: null },
      });
      const stale = await assignContentLevel(t.db, {
        ...manual,
        level: 'gold',
        expectedLevel: 'bronze',
      });
      expect(stale.kind).toBe('stale');
      expect((await assignContentLevel(t.db, { ...manual, cid: 999 })).kind).toBe('not-found');
      expect(await listAudit(t.db)).toHaveLength(2);
    });

    it('leaves the content and its history as they were when the audit entry cannot be written', async () => {
      await failInserts('audit_log', async () => {
        await expect(assignContentLevel(t.db, manual)).rejects.toThrow(
          /insert refused by the test/,
        );
      });
      expect((await getContent(t.db, 7))?.content_level).toBe('bronze');
      expect(await getContentHistory(t.db, 7)).toEqual([]);
    });
  });

  it('prunes entries older than a date and records the prune itself', async () => {
    const old = new Date(Date.now() - 3 * 24 * 60 * 60 * 1000);
    await t.db
      .insertInto('audit_log')
      .values({ at: old, actor: 'admin:operator', action: 'levels.replace', target: 'levels' })
      .execute();
    const keptId = await recordAudit(t.db, { actor: 'cli:alice', action: 'content.requeue' });
    const cutoff = new Date(Date.now() - 24 * 60 * 60 * 1000);
    expect(await pruneAudit(t.db, cutoff, { actor: 'cli:bob' })).toBe(1);
    const entries = await listAudit(t.db);
    expect(entries.map((e) => e.action)).toEqual(['audit.prune', 'content.requeue']);
    expect(entries[1]?.id).toBe(keptId);
    expect(entries[0]).toMatchObject({
      actor: 'cli:bob',
      target: 'audit_log',
      after: { deleted: 1, olderThan: cutoff.toISOString() },
    });
  });
});
