import { sql, type Kysely } from 'kysely';
import type { ContentPinRow, Database } from '../schema.ts';
import { AUDIT_ACTIONS, recordAudit } from './audit.ts';

type Executor = Kysely<Database>;

/** A content's pin as the service shows it. */
export interface ContentPin {
  cid: number;
  /** The level the content is kept on. */
  level: string;
  /** When the pin expires; `null` = never. */
  until: Date | null;
  reason: string;
  /** Who pinned it (`admin:<user>`, `cli:<login>`). */
  pinnedBy: string;
  pinnedAt: Date;
}

/** A pin to write with {@link setContentPin}. */
export interface NewPin {
  cid: number;
  level: string;
  /** When it expires; `null` = never. */
  until: Date | null;
  reason: string;
  /** Who pins it; named by the pin and by its audit entry (`content.pin`). */
  actor: string;
  /** Time of the change; defaults to now. */
  now?: Date;
}

/** What {@link setContentPin} did. */
export type SetPinResult =
  | {
      kind: 'pinned';
      pin: ContentPin;
      /** The pin it replaced, if any. */
      previous: ContentPin | null;
      /** The content's level (MySQL) when it was pinned. */
      contentLevel: string;
      /** The content's `view_count` (MySQL). */
      viewCount: number;
    }
  | { kind: 'content-not-found' }
  | { kind: 'level-not-found' };

function toPin(row: ContentPinRow): ContentPin {
  return {
    cid: Number(row.cid),
    level: row.level,
    until: row.until,
    reason: row.reason,
    pinnedBy: row.pinned_by,
    pinnedAt: row.pinned_at,
  };
}

/** How a pin is stored in an audit entry's `before` / `after`. */
function auditPin(pin: ContentPin | null) {
  return pin === null
    ? null
    : {
        level: pin.level,
        until: pin.until?.toISOString() ?? null,
        reason: pin.reason,
        pinnedBy: pin.pinnedBy,
        pinnedAt: pin.pinnedAt.toISOString(),
      };
}

/** Reads a content's pin; `null` when it is not pinned. */
export async function getContentPin(db: Executor, cid: number): Promise<ContentPin | null> {
  const row = await db
    .selectFrom('content_pin')
    .selectAll()
    .where('cid', '=', cid)
    .executeTakeFirst();
  return row ? toPin(row) : null;
}

/** The pinned level of each of `cids` that is pinned (one query). */
export async function getPinnedLevels(
  db: Executor,
  cids: readonly number[],
): Promise<Map<number, string>> {
  if (cids.length === 0) return new Map();
  const rows = await db
    .selectFrom('content_pin')
    .select(['cid', 'level'])
    .where('cid', 'in', cids)
    .execute();
  return new Map(rows.map((r) => [Number(r.cid), r.level]));
}

/** How many contents are pinned. */
export async function countContentPins(db: Executor): Promise<number> {
  const row = await db
    .selectFrom('content_pin')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Pins a content to a level, replacing its pin if it has one, and writes the audit entry
 * (`content.pin`: before and after the pin, the reason as detail) in the same transaction. The
 * content row is locked, so a pin never outlives a content deleted meanwhile. Refuses (nothing
 * written) an unknown cid or level.
 */
export async function setContentPin(db: Kysely<Database>, pin: NewPin): Promise<SetPinResult> {
  const now = pin.now ?? new Date();
  return db.transaction().execute(async (trx): Promise<SetPinResult> => {
    const content = await trx
      .selectFrom('contents')
      .select(['content_level', 'view_count'])
      .where('cid', '=', pin.cid)
      .forUpdate()
      .executeTakeFirst();
    if (!content) return { kind: 'content-not-found' };
    const level = await trx
      .selectFrom('level')
      .select('content_level')
      .where('content_level', '=', pin.level)
      // Shared lock (MariaDB has no FOR SHARE): a level table replaced meanwhile waits for us.
      .modifyEnd(sql`lock in share mode`)
      .executeTakeFirst();
    if (!level) return { kind: 'level-not-found' };
    const before = await trx
      .selectFrom('content_pin')
      .selectAll()
      .where('cid', '=', pin.cid)
      .forUpdate()
      .executeTakeFirst();
    const values = {
      level: pin.level,
      until: pin.until,
      reason: pin.reason,
      pinned_by: pin.actor,
      pinned_at: now,
    };
    await trx
      .insertInto('content_pin')
      .values({ cid: pin.cid, ...values })
      .onDuplicateKeyUpdate(values)
      .execute();
    const stored = await trx
      .selectFrom('content_pin')
      .selectAll()
      .where('cid', '=', pin.cid)
      .executeTakeFirstOrThrow();
    const previous = before ? toPin(before) : null;
    const after = toPin(stored);
    await recordAudit(trx, {
      actor: pin.actor,
      action: AUDIT_ACTIONS.pinContent,
      target: `cid:${pin.cid}`,
      before: auditPin(previous),
      after: { ...auditPin(after), contentLevel: content.content_level },
      detail: pin.reason,
    });
    return {
      kind: 'pinned',
      pin: after,
      previous,
      contentLevel: content.content_level,
      viewCount: Number(content.view_count),
    };
  });
}

/**
 * Releases a content's pin and writes the audit entry (`content.unpin`, before: the pin) in the
 * same transaction; returns the released pin, or `null` when the content was not pinned (nothing
 * written).
 */
export async function removeContentPin(
  db: Kysely<Database>,
  cid: number,
  audit: { actor: string; detail?: string | null },
): Promise<ContentPin | null> {
  return db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('content_pin')
      .selectAll()
      .where('cid', '=', cid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return null;
    await trx.deleteFrom('content_pin').where('cid', '=', cid).execute();
    const pin = toPin(row);
    await recordAudit(trx, {
      actor: audit.actor,
      action: AUDIT_ACTIONS.unpinContent,
      target: `cid:${cid}`,
      before: auditPin(pin),
      after: null,
      detail: audit.detail ?? null,
    });
    return pin;
  });
}

/**
 * Releases every pin whose `until` is at or before `now`, each in a transaction of its own with
 * its audit entry (`content.pin-expired`, actor `actor`, before: the pin, detail: its reason). A
 * pin replaced or released meanwhile is left alone. Returns the released pins (at most `limit`).
 */
export async function expireContentPins(
  db: Kysely<Database>,
  now: Date,
  options: { actor: string; limit?: number },
): Promise<ContentPin[]> {
  const due = await db
    .selectFrom('content_pin')
    .select('cid')
    .where('until', 'is not', null)
    .where('until', '<=', now)
    .orderBy('until')
    .limit(options.limit ?? 1000)
    .execute();
  const released: ContentPin[] = [];
  for (const { cid } of due) {
    const pin = await db.transaction().execute(async (trx) => {
      const row = await trx
        .selectFrom('content_pin')
        .selectAll()
        .where('cid', '=', cid)
        .where('until', '<=', now)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return null;
      await trx.deleteFrom('content_pin').where('cid', '=', cid).execute();
      const expired = toPin(row);
      await recordAudit(trx, {
        actor: options.actor,
        action: AUDIT_ACTIONS.pinExpired,
        target: `cid:${Number(cid)}`,
        before: auditPin(expired),
        after: null,
        detail: `expired at ${row.until?.toISOString() ?? '?'}; pinned for: ${row.reason}`,
      });
      return expired;
    });
    if (pin) released.push(pin);
  }
  return released;
}
