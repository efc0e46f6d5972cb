import { tierCapacity, type Level } from '@relocation/tiering';
import { sql, type Kysely } from 'kysely';
import type { Database, TierUsageTable } from '../schema.ts';

/**
 * Rows per level in `tier_usage`: a content's files and bytes are counted in shard
 * `cid mod TIER_USAGE_SHARDS`, so commits of different contents into one tier rarely wait for
 * each other's row lock.
 */
export const TIER_USAGE_SHARDS = 16;

/**
 * How long a reservation of tier space counts, in milliseconds. A move deletes its reservation
 * when it commits and replaces it when it tries again; one left by a crashed relocator stops
 * counting after this (an hour: longer than any copy should take).
 */
export const RESERVATION_TTL_MS = 3_600_000;

/** Files and bytes on a level (the sum of its shards). */
export interface TierUsage {
  files: number;
  bytes: number;
}

/** A change of one level's usage. */
export interface TierUsageDelta {
  level: string;
  files: number;
  bytes: number;
}

/** The shard of `tier_usage` a content is counted in. */
export function tierUsageShard(cid: number): number {
  return cid % TIER_USAGE_SHARDS;
}

/** A change of one level's usage by one content's move (counted in that content's shard). */
export interface TierUsageChange extends TierUsageDelta {
  cid: number;
}

/**
 * Adds `deltas` to the shard of `cid` on each level, in the caller's transaction (the one that
 * writes `contents`), in one statement (see {@link adjustTierUsageOf}).
 */
export async function adjustTierUsage(
  trx: Kysely<Database>,
  cid: number,
  deltas: readonly TierUsageDelta[],
): Promise<void> {
  await adjustTierUsageOf(
    trx,
    deltas.map((d) => ({ ...d, cid })),
  );
}

/**
 * Adds the changes of any number of contents to their shards, in the caller's transaction, in one
 * statement: changes of one (level, shard) are summed first. Rows are written in (level, shard)
 * order so two transactions touching the same rows always lock them in the same order (no
 * deadlock).
 */
export async function adjustTierUsageOf(
  trx: Kysely<Database>,
  changes: readonly TierUsageChange[],
): Promise<void> {
  const merged = new Map<string, { level: string; shard: number; files: number; bytes: number }>();
  for (const c of changes) {
    const shard = tierUsageShard(c.cid);
    const key = `${shard}\u0000${c.level}`;
    const seen = merged.get(key);
    merged.set(key, {
      level: c.level,
      shard,
      files: (seen?.files ?? 0) + c.files,
      bytes: (seen?.bytes ?? 0) + c.bytes,
    });
  }
  const rows = [...merged.values()]
    .filter((d) => d.files !== 0 || d.bytes !== 0)
    .sort((a, b) => (a.level < b.level ? -1 : a.level > b.level ? 1 : a.shard - b.shard));
  if (rows.length === 0) return;
  await trx
    .insertInto('tier_usage')
    .values(rows)
    .onDuplicateKeyUpdate({
      files: sql`files + values(files)`,
      bytes: sql`bytes + values(bytes)`,
    })
    .execute();
}

/** Creates the (zero) usage rows of `levels` that do not exist yet, so later commits only update. */
export async function ensureTierUsageRows(
  trx: Kysely<Database>,
  levels: readonly string[],
): Promise<void> {
  if (levels.length === 0) return;
  const rows = [...levels].sort().flatMap((level) =>
    Array.from({ length: TIER_USAGE_SHARDS }, (_, shard) => ({
      level,
      shard,
      files: 0,
      bytes: 0,
    })),
  );
  await trx.insertInto('tier_usage').ignore().values(rows).execute();
}

/** Files and bytes per level, from the counters (no walk, no scan of `contents`). */
export async function readTierUsage(db: Kysely<Database>): Promise<Map<string, TierUsage>> {
  const rows = await db
    .selectFrom('tier_usage')
    .select([
      'level',
      (eb) => eb.fn.sum<string | number>('files').as('files'),
      (eb) => eb.fn.sum<string | number>('bytes').as('bytes'),
    ])
    .groupBy('level')
    .execute();
  return new Map(
    rows.map((r) => [r.level, { files: Number(r.files), bytes: Number(r.bytes) }] as const),
  );
}

/** One level whose counters a recount changed. */
export interface TierUsageCorrection {
  level: string;
  before: TierUsage;
  after: TierUsage;
}

/**
 * Recomputes every level's usage from `contents` (files, and the sum of the known sizes) and
 * writes it where the counters disagree; returns what it changed. For reconcile and the
 * migration that creates the table: the counters drift only when `contents` is written outside
 * the service (manual SQL, a restore). The rows of `contents` are read with a shared lock, so a
 * commit in flight is either counted or waits until the recount is written (no lost update).
 * With `dryRun` it writes and locks nothing: it compares one consistent snapshot of `contents`
 * and the counters (commits write both in one transaction) and returns what it would change.
 */
export async function recountTierUsage(
  db: Kysely<Database>,
  options: RecountTierUsageOptions = {},
): Promise<TierUsageCorrection[]> {
  const dryRun = options.dryRun ?? false;
  return db.transaction().execute(async (trx) => {
    const { rows: actual } = await sql<{
      level: string;
      shard: number;
      files: number | string;
      bytes: number | string | null;
    }>`select content_level as level, cid % ${TIER_USAGE_SHARDS} as shard, count(*) as files,
         coalesce(sum(size_bytes), 0) as bytes
       from contents group by content_level, cid % ${TIER_USAGE_SHARDS}
       ${dryRun ? sql`` : sql`lock in share mode`}`.execute(trx);
    const levels = await trx.selectFrom('level').select('content_level').execute();
    const names = new Set([...levels.map((l) => l.content_level), ...actual.map((r) => r.level)]);
    if (!dryRun) await ensureTierUsageRows(trx, [...names]);
    const query = trx.selectFrom('tier_usage').selectAll().orderBy('level').orderBy('shard');
    const stored = dryRun
      ? withMissingShards(await query.execute(), names)
      : await query.forUpdate().execute();
    const want = new Map<string, TierUsage>();
    for (const r of actual) {
      want.set(`${r.level}\u0000${Number(r.shard)}`, {
        files: Number(r.files),
        bytes: Number(r.bytes ?? 0),
      });
    }
    const before = new Map<string, TierUsage>();
    const after = new Map<string, TierUsage>();
    for (const row of stored) {
      const target = want.get(`${row.level}\u0000${row.shard}`) ?? { files: 0, bytes: 0 };
      add(before, row.level, { files: Number(row.files), bytes: Number(row.bytes) });
      add(after, row.level, target);
      if (!dryRun && (Number(row.files) !== target.files || Number(row.bytes) !== target.bytes)) {
        await trx
          .updateTable('tier_usage')
          .set({ files: target.files, bytes: target.bytes })
          .where('level', '=', row.level)
          .where('shard', '=', row.shard)
          .execute();
      }
    }
    const corrections: TierUsageCorrection[] = [];
    for (const [level, was] of before) {
      const now = after.get(level) ?? { files: 0, bytes: 0 };
      if (was.files !== now.files || was.bytes !== now.bytes) {
        corrections.push({ level, before: was, after: now });
      }
    }
    return corrections;
  });
}

/** Options of {@link recountTierUsage}. */
export interface RecountTierUsageOptions {
  /** Report the corrections without writing them (reconcile's report); default false. */
  dryRun?: boolean;
}

/**
 * The stored rows plus a zero row for each shard of `levels` that has none yet: what the
 * counters are once {@link ensureTierUsageRows} has run, without writing (a dry run).
 */
function withMissingShards(
  stored: readonly TierUsageTable[],
  levels: ReadonlySet<string>,
): TierUsageTable[] {
  const seen = new Set(stored.map((r) => `${r.level}\u0000${Number(r.shard)}`));
  const missing = [...levels].flatMap((level) =>
    Array.from({ length: TIER_USAGE_SHARDS }, (_, shard) => ({ level, shard, files: 0, bytes: 0 })),
  );
  return [...stored, ...missing.filter((r) => !seen.has(`${r.level}\u0000${r.shard}`))];
}

function add(map: Map<string, TierUsage>, level: string, usage: TierUsage): void {
  const seen = map.get(level) ?? { files: 0, bytes: 0 };
  map.set(level, { files: seen.files + usage.files, bytes: seen.bytes + usage.bytes });
}

/**
 * Records the size of a content's file as found on its level (by reconcile or the capacity
 * sweep), adjusting its level's usage in the same transaction. Does nothing when the content is
 * no longer on `level` or already has that size; returns whether it changed the row.
 */
export async function recordContentSize(
  db: Kysely<Database>,
  change: { cid: number; level: string; bytes: number },
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('contents')
      .select(['content_level', 'size_bytes'])
      .where('cid', '=', change.cid)
      .forUpdate()
      .executeTakeFirst();
    if (!row || row.content_level !== change.level) return false;
    const old = row.size_bytes === null ? null : Number(row.size_bytes);
    if (old === change.bytes) return false;
    await trx
      .updateTable('contents')
      .set({ size_bytes: change.bytes })
      .where('cid', '=', change.cid)
      .execute();
    await adjustTierUsage(trx, change.cid, [
      { level: change.level, files: 0, bytes: change.bytes - (old ?? 0) },
    ]);
    return true;
  });
}

/** What {@link reserveTierSpace} answered. */
export type ReservationResult =
  | { reserved: true; usedBytes: number; reservedBytes: number }
  | { reserved: false; usedBytes: number; reservedBytes: number };

/**
 * Reserves `bytes` in `level` for the move of `cid` if the level's usage, the other live
 * reservations and these bytes stay within `limitBytes` (the tier's high watermark); else
 * reserves nothing. The level's row is locked for the check, so two relocators never both take
 * the last free space. A reservation of the same cid is replaced (a retried move).
 */
export async function reserveTierSpace(
  db: Kysely<Database>,
  request: { cid: number; level: string; bytes: number; limitBytes: number; now?: Date },
): Promise<ReservationResult> {
  const now = request.now ?? new Date();
  return db.transaction().execute(async (trx): Promise<ReservationResult> => {
    await trx
      .selectFrom('level')
      .select('content_level')
      .where('content_level', '=', request.level)
      .forUpdate()
      .execute();
    const used = await trx
      .selectFrom('tier_usage')
      .select((eb) => eb.fn.sum<string | number>('bytes').as('bytes'))
      .where('level', '=', request.level)
      .executeTakeFirst();
    const others = await trx
      .selectFrom('tier_reservation')
      .select((eb) => eb.fn.sum<string | number>('bytes').as('bytes'))
      .where('level', '=', request.level)
      .where('cid', '!=', request.cid)
      .where('reserved_at', '>', new Date(now.getTime() - RESERVATION_TTL_MS))
      .executeTakeFirst();
    const usedBytes = Number(used?.bytes ?? 0);
    const reservedBytes = Number(others?.bytes ?? 0);
    if (usedBytes + reservedBytes + request.bytes > request.limitBytes) {
      return { reserved: false, usedBytes, reservedBytes };
    }
    await trx
      .replaceInto('tier_reservation')
      .values({ cid: request.cid, level: request.level, bytes: request.bytes, reserved_at: now })
      .execute();
    return { reserved: true, usedBytes, reservedBytes };
  });
}

/** Deletes the reservation of `cid`, if any (a move that will not commit). */
export async function releaseTierSpace(db: Kysely<Database>, cid: number): Promise<void> {
  await db.deleteFrom('tier_reservation').where('cid', '=', cid).execute();
}

/** Bytes reserved per level by moves under way (live reservations only). */
export async function readTierReservations(
  db: Kysely<Database>,
  now: Date = new Date(),
): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('tier_reservation')
    .select(['level', (eb) => eb.fn.sum<string | number>('bytes').as('bytes')])
    .where('reserved_at', '>', new Date(now.getTime() - RESERVATION_TTL_MS))
    .groupBy('level')
    .execute();
  return new Map(rows.map((r) => [r.level, Number(r.bytes)] as const));
}

/** The live reservations of one level, by cid (bytes). */
export async function listTierReservations(
  db: Kysely<Database>,
  level: string,
  now: Date = new Date(),
): Promise<Map<number, number>> {
  const rows = await db
    .selectFrom('tier_reservation')
    .select(['cid', 'bytes'])
    .where('level', '=', level)
    .where('reserved_at', '>', new Date(now.getTime() - RESERVATION_TTL_MS))
    .execute();
  return new Map(rows.map((r) => [Number(r.cid), Number(r.bytes)] as const));
}

/** A content on a level that a capacity demotion may move (not pinned). */
export interface DemotionCandidate {
  cid: number;
  filename: string;
  /** NULL when the size is not known yet. */
  sizeBytes: number | null;
  /** The count MySQL last recorded (the cache's latest count is fresher). */
  viewCount: number;
}

/** Every content on `level` that is not pinned, in cid order (the capacity sweep sorts them). */
export async function listDemotionCandidates(
  db: Kysely<Database>,
  level: string,
): Promise<DemotionCandidate[]> {
  const rows = await db
    .selectFrom('contents')
    .leftJoin('content_pin', 'content_pin.cid', 'contents.cid')
    .select([
      'contents.cid as cid',
      'contents.filename as filename',
      'contents.size_bytes as size_bytes',
      'contents.view_count as view_count',
    ])
    .where('contents.content_level', '=', level)
    .where('content_pin.cid', 'is', null)
    .orderBy('contents.cid')
    .execute();
  return rows.map((r) => ({
    cid: Number(r.cid),
    filename: r.filename,
    sizeBytes: r.size_bytes === null ? null : Number(r.size_bytes),
    viewCount: Number(r.view_count),
  }));
}

/**
 * One level's usage as operators see it (`GET /v1/levels`, `npm run levels`, the relocator's
 * metrics): byte counts in bytes, `percent` of the capacity with one decimal.
 */
export interface LevelUsage {
  files: number;
  bytes: number;
  /** Bytes reserved by moves under way into the level (live reservations). */
  reservedBytes: number;
  capacityBytes: number | null;
  highWatermarkBytes: number | null;
  lowWatermarkBytes: number | null;
  percent: number | null;
  /** The capacity sweep's test: the level's committed bytes pass its high watermark. */
  aboveHighWatermark: boolean;
}

/**
 * The usage of every level of `levels`, by name: files and bytes from the `tier_usage` counters,
 * bytes reserved by moves under way, and the limits `tierCapacity` derives from the watermarks.
 * Two grouped reads of small tables; never walks a directory. A level without counters yet shows
 * zeros.
 */
export async function readLevelUsage(
  db: Kysely<Database>,
  levels: readonly Level[],
): Promise<Record<string, LevelUsage>> {
  const [usage, reservations] = await Promise.all([readTierUsage(db), readTierReservations(db)]);
  return Object.fromEntries(
    levels.map((level) => {
      const { files, bytes } = usage.get(level.name) ?? { files: 0, bytes: 0 };
      const capacity = tierCapacity(level);
      const entry: LevelUsage = {
        files,
        bytes,
        reservedBytes: reservations.get(level.name) ?? 0,
        capacityBytes: capacity?.capacityBytes ?? null,
        highWatermarkBytes: capacity?.highBytes ?? null,
        lowWatermarkBytes: capacity?.lowBytes ?? null,
        percent:
          capacity && capacity.capacityBytes > 0
            ? Math.round((bytes * 1000) / capacity.capacityBytes) / 10
            : null,
        aboveHighWatermark: capacity !== null && bytes > capacity.highBytes,
      };
      return [level.name, entry];
    }),
  );
}
