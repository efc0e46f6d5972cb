import { sql, type Kysely } from 'kysely';
import type { AuditLogRow, Database } from '../schema.ts';

/**
 * The actions the service records, by name. A new admin command (pause, resume, pin, …) adds its
 * name here and calls {@link recordAudit} with it, in the transaction of its effect when it has
 * one, naming the actor the gateway's `actorOf(request)` or the commands' `cliActor()` gives.
 */
export const AUDIT_ACTIONS = Object.freeze({
  /** `PUT /v1/levels`: the whole tier table replaced (before and after: the tables). */
  replaceLevels: 'levels.replace',
  /** `set-level`: a content's level recorded after a manual file move. */
  setContentLevel: 'content.set-level',
  /** `requeue`: a content's relocation queued by an operator (after: the job). */
  requeueContent: 'content.requeue',
  /** `clear-pending`: a content's pending move cleared after its files were checked. */
  clearPendingMove: 'content.clear-pending',
  /** `pin`: a content pinned to a level (before/after: the pin; detail: the reason). */
  pinContent: 'content.pin',
  /** `unpin`: a content's pin released by an operator (before: the pin). */
  unpinContent: 'content.unpin',
  /** A pin released by its expiry (actor `system`; before: the pin). */
  pinExpired: 'content.pin-expired',
  /** Relocations paused on every relocator (before/after: paused, counts; after: drained). */
  pauseRelocations: 'relocations.pause',
  /** Relocations resumed. */
  resumeRelocations: 'relocations.resume',
  /** `npm run audit -- --prune-older-than`: old entries deleted (after: how many). */
  pruneAudit: 'audit.prune',
} as const);

/** Widest `actor` and `target` stored (the columns' width, in characters). */
export const AUDIT_TEXT_MAX = 200;

/** Who acted, for a query that records its own entry; `detail` is added to the entry. */
export interface AuditContext {
  /** `admin:<user>` over HTTP, `cli:<login>` from the shell. */
  actor: string;
  detail?: string | null;
}

/** One entry to record. `before` and `after` are stored as JSON (`undefined` and `null` as NULL). */
export interface AuditEntry {
  actor: string;
  /** Dotted name, at most 64 characters (see {@link AUDIT_ACTIONS}). */
  action: string;
  /** What the action was done to (`levels`, `cid:7`). */
  target?: string | null;
  before?: unknown;
  after?: unknown;
  detail?: string | null;
}

/** An entry as read back: `before` and `after` parsed from their JSON. */
export interface AuditRecord {
  id: number;
  at: Date;
  actor: string;
  action: string;
  target: string | null;
  before: unknown;
  after: unknown;
  detail: string | null;
}

/** Which entries {@link listAudit} returns. */
export interface ListAuditOptions {
  /** Most entries, newest first (default 100). */
  limit?: number;
  /** Only entries with a smaller id (paging: pass the last id of the previous page). */
  beforeId?: number;
  /** Only this action (exact name). */
  action?: string;
  /** Only this actor (exact). */
  actor?: string;
}

/** Cuts `text` to `max` characters (code points, as MySQL counts them in a utf8mb4 column). */
function cut(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length > max ? chars.slice(0, max).join('') : text;
}

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

function fromJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Written by hand, not by the service: shown as it is.
    return text;
  }
}

function toRecord(row: AuditLogRow): AuditRecord {
  return {
    id: Number(row.id),
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    before: fromJson(row.before),
    after: fromJson(row.after),
    detail: row.detail,
  };
}

/**
 * Writes one audit entry and returns its id. Pass the transaction of the action's effect, so
 * that the entry and the effect commit or roll back together; an effect outside MySQL (a queued
 * job, a Redis key) is recorded right after it succeeded. `actor` and `target` are cut to
 * {@link AUDIT_TEXT_MAX} characters.
 */
export async function recordAudit(db: Kysely<Database>, entry: AuditEntry): Promise<number> {
  const inserted = await db
    .insertInto('audit_log')
    .values({
      // MySQL's clock in UTC, whatever the session's time zone (dates are read back as UTC).
      at: sql<Date>`utc_timestamp(3)`,
      actor: cut(entry.actor, AUDIT_TEXT_MAX),
      action: entry.action,
      target: entry.target == null ? null : cut(entry.target, AUDIT_TEXT_MAX),
      before: toJson(entry.before),
      after: toJson(entry.after),
      detail: entry.detail ?? null,
    })
    .executeTakeFirstOrThrow();
  return Number(inserted.insertId);
}

/** Reads audit entries newest first (by id, the order they were written in). */
export async function listAudit(
  db: Kysely<Database>,
  options: ListAuditOptions = {},
): Promise<AuditRecord[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (options.beforeId !== undefined) query = query.where('id', '<', options.beforeId);
  if (options.action !== undefined) query = query.where('action', '=', options.action);
  if (options.actor !== undefined) query = query.where('actor', '=', options.actor);
  const rows = await query
    .orderBy('id', 'desc')
    .limit(options.limit ?? 100)
    .execute();
  return rows.map(toRecord);
}

/**
 * Deletes the entries written before `olderThan` and records that it did (`audit.prune`, with the
 * number deleted), in one transaction: pruning leaves a trace of its own. Returns that number.
 */
export async function pruneAudit(
  db: Kysely<Database>,
  olderThan: Date,
  audit: AuditContext,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const result = await trx.deleteFrom('audit_log').where('at', '<', olderThan).executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    await recordAudit(trx, {
      actor: audit.actor,
      action: AUDIT_ACTIONS.pruneAudit,
      target: 'audit_log',
      before: null,
      after: { deleted, olderThan: olderThan.toISOString() },
      detail: audit.detail ?? null,
    });
    return deleted;
  });
}
