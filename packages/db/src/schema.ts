import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/** A storage tier: the range of total views it serves and the directory holding its files. */
export interface LevelTable {
  content_level: string;
  /** Inclusive lower bound, total views. */
  min_counts: number;
  /** Inclusive upper bound, total views; NULL means unbounded (only the top tier). */
  max_counts: number | null;
  /** Absolute directory holding the files of this tier. */
  path: string;
  /** Capacity of the tier in bytes; NULL = no limit. */
  capacity_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  /** Percent of the capacity above which no move goes in (NULL without a capacity). */
  high_watermark: ColumnType<number | null, number | null | undefined, number | null>;
  /** Percent of the capacity a tier above its high watermark is demoted down to. */
  low_watermark: ColumnType<number | null, number | null | undefined, number | null>;
}

/** One row per content: where its file lives now and when that last changed. */
export interface ContentsTable {
  cid: number;
  content_level: string;
  filename: string;
  /** Total views known when the row last changed (the hot path does not write here). */
  view_count: ColumnType<number, number | undefined, number>;
  /** Size of the content's file in bytes; NULL until a move, registration or reconcile saw it. */
  size_bytes: ColumnType<number | null, number | null | undefined, number | null>;
  generate_time: ColumnType<Date, Date | undefined, never>;
  update_time: ColumnType<Date, Date | undefined, Date>;
}

/** One row per level change of a content, written in the same transaction as the change (I3). */
export interface UpdateHistoryTable {
  id: Generated<number>;
  cid: number;
  old_updated_date: Date;
  old_content_level: string;
  new_updated_date: Date;
  new_content_level: string;
  /** Total views that decided the move. */
  view_count: number;
  /** BullMQ job that made the move; NULL for moves made outside the queue. */
  job_id: string | null;
  /** Size of the moved file in bytes. */
  bytes: number | null;
  /** Time the file move took, in milliseconds. */
  duration_ms: number | null;
  /** What triggered the change (`HISTORY_REASONS`); NULL on rows older than the column. */
  reason: ColumnType<string | null, string | null | undefined, string | null>;
  /** JSON of the decision's inputs (count, boundary crossed, policy in force); NULL on old rows. */
  decision: ColumnType<string | null, string | null | undefined, string | null>;
  /** Version of the level table the decision was made with; NULL when unknown. */
  levels_version: ColumnType<number | null, number | null | undefined, number | null>;
  /** Request id of the post whose count the move acted on; NULL when none (admin, capacity). */
  request_id: ColumnType<string | null, string | null | undefined, string | null>;
}

/**
 * The database's identity (one row, `singleton = 1`): a UUID made with the database, carried by
 * the Redis cache, the move journal and every tier marker so that none of them is ever used with
 * another database (I7).
 */
export interface DeploymentTable {
  singleton: ColumnType<number, number | undefined, never>;
  id: string;
  created_at: ColumnType<Date, Date | undefined, never>;
}

/**
 * One admin action (a level table change, a manual level, a requeue, a cleared pending move, …):
 * written in the same transaction as its effect where the effect is in MySQL, right after it
 * otherwise. Rows are only ever inserted (and pruned by date).
 */
export interface AuditLogTable {
  id: Generated<number>;
  /** When the entry was written (MySQL's clock, UTC, milliseconds). */
  at: ColumnType<Date, Date | undefined, never>;
  /** Who acted: `admin:<user>` over HTTP, `cli:<login>` from the shell. */
  actor: string;
  /** What was done, dotted (`levels.replace`, `content.set-level`, …; see `AUDIT_ACTIONS`). */
  action: string;
  /** What it was done to (`levels`, `cid:7`); NULL when nothing in particular. */
  target: string | null;
  /** JSON text of the state before the action; NULL when there was none. */
  before: string | null;
  /** JSON text of the state (or outcome) after the action. */
  after: string | null;
  /** Free text for a person (e.g. the tier directories a level change created). */
  detail: string | null;
}

/**
 * An operator's pin (at most one per content): the content stays on `level` whatever its counts
 * say, until `until` (NULL: until released). Pinning, releasing and expiry each write an audit
 * entry in the same transaction.
 */
export interface ContentPinTable {
  cid: number;
  /** The level the content is kept on (a `level` row; a pinned level cannot be removed). */
  level: string;
  /** When the pin expires (UTC, milliseconds); NULL = never. */
  until: Date | null;
  /** Why it was pinned, for a person. */
  reason: string;
  /** Who pinned it: `admin:<user>` over HTTP, `cli:<login>` from the shell. */
  pinned_by: string;
  pinned_at: ColumnType<Date, Date | undefined, Date>;
}

/**
 * Files and bytes on a level, split over shards (`cid mod TIER_USAGE_SHARDS`) so concurrent
 * commits do not queue on one row; a level's usage is the sum of its shards. Kept by every write
 * of `contents`, in its transaction; recounted by reconcile.
 */
export interface TierUsageTable {
  level: string;
  shard: number;
  files: number;
  bytes: number;
}

/** Bytes a move reserved in a tier with a capacity before copying (one per content). */
export interface TierReservationTable {
  cid: number;
  level: string;
  bytes: number;
  reserved_at: Date;
}

/** The database as Kysely sees it. */
export interface Database {
  level: LevelTable;
  contents: ContentsTable;
  update_history: UpdateHistoryTable;
  deployment: DeploymentTable;
  audit_log: AuditLogTable;
  content_pin: ContentPinTable;
  tier_usage: TierUsageTable;
  tier_reservation: TierReservationTable;
}

export type LevelRow = Selectable<LevelTable>;
export type NewLevelRow = Insertable<LevelTable>;
export type Content = Selectable<ContentsTable>;
export type NewContent = Insertable<ContentsTable>;
export type ContentUpdate = Updateable<ContentsTable>;
export type HistoryRow = Selectable<UpdateHistoryTable>;
export type NewHistoryRow = Insertable<UpdateHistoryTable>;
export type AuditLogRow = Selectable<AuditLogTable>;
export type NewAuditLogRow = Insertable<AuditLogTable>;
export type ContentPinRow = Selectable<ContentPinTable>;
export type NewContentPinRow = Insertable<ContentPinTable>;
