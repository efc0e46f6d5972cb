import {
  expireContentPins,
  getContent,
  listLevels,
  removeContentPin,
  setContentPin,
  type ContentPin,
} from '@relocation/db';
import { chooseTier, validateLevels } from '@relocation/tiering';
import {
  ContentAdminError,
  type ContentAdminDeps,
  type ContentAdminOptions,
} from './content-admin.ts';
import { enqueueRelocation } from './enqueue.ts';

/** The actor of the audit entries a pin's expiry writes. */
export const PIN_EXPIRY_ACTOR = 'system';

/** Longest `reason` of a pin, in characters. */
export const PIN_REASON_MAX = 500;

/** What an operator asks {@link pinContent} for. */
export interface PinRequest {
  /** The level to keep the content on. */
  level: string;
  /** When the pin releases itself; `null` = never (until `unpin`). Must be in the future. */
  until: Date | null;
  /** Why, for the audit trail (1–500 characters). */
  reason: string;
}

/** What {@link pinContent} did. */
export interface PinResult {
  cid: number;
  pin: ContentPin;
  /** The pin this one replaced, if any. */
  previous: ContentPin | null;
  /** The level MySQL holds (the pin's level once the queued move is done). */
  level: string;
  /** The job queued to move the content to the pin's level, else `null` (already there). */
  jobId: string | null;
}

/** What {@link unpinContent} did. */
export type UnpinResult =
  | {
      kind: 'released';
      cid: number;
      /** The pin that was released. */
      pin: ContentPin;
      /** The level MySQL holds. */
      level: string;
      /** The level its latest count calls for now (`null` when the level table is invalid). */
      target: string | null;
      count: number;
      /** The job queued to move it there, else `null`. */
      jobId: string | null;
    }
  | { kind: 'not-pinned'; cid: number };

/** A pin released by {@link expirePins}, and the job queued to let its count decide again. */
export interface ExpiredPin {
  pin: ContentPin;
  jobId: string | null;
}

/**
 * Pins a content to a level: it stays there whatever its counts say, until `until` or
 * {@link unpinContent}. One MySQL transaction writes the pin (replacing one the content had) and
 * its audit entry (`content.pin`, the reason as detail); then the gateways' cache learns the pin
 * and, when the content is not on the level (or a job of it is pending, which may be moving it
 * elsewhere right now), its relocation is queued with its latest count: the relocator reads the
 * pin from MySQL and moves it there once. Refuses (nothing changed) an unknown cid
 * (`CONTENT_NOT_FOUND`), an unknown level (`UNKNOWN_LEVEL`), an `until` that is not in the future
 * or an empty reason (`INVALID_PIN`).
 */
export async function pinContent(
  deps: ContentAdminDeps,
  cid: number,
  request: PinRequest,
  options: ContentAdminOptions,
): Promise<PinResult> {
  const now = (deps.now ?? Date.now)();
  const reason = request.reason.trim();
  if (reason.length === 0 || Array.from(reason).length > PIN_REASON_MAX) {
    throw new ContentAdminError(
      'INVALID_PIN',
      `a pin needs a reason of 1 to ${PIN_REASON_MAX} characters (it goes into the audit trail)`,
    );
  }
  if (request.until !== null && !(request.until.getTime() > now)) {
    throw new ContentAdminError(
      'INVALID_PIN',
      `until must be in the future (got ${request.until.toISOString()}); send null for a pin that lasts until it is released`,
    );
  }
  const result = await setContentPin(deps.db, {
    cid,
    level: request.level,
    until: request.until,
    reason,
    actor: options.actor,
    now: new Date(now),
  });
  switch (result.kind) {
    case 'content-not-found':
      throw new ContentAdminError('CONTENT_NOT_FOUND', `no content has cid ${cid}`);
    case 'level-not-found': {
      const levels = (await listLevels(deps.db)).map((l) => l.name).join(', ');
      throw new ContentAdminError(
        'UNKNOWN_LEVEL',
        `level ${JSON.stringify(request.level)} is not in the level table (levels: ${levels})`,
      );
    }
    case 'pinned':
      break;
  }
  await deps.cache.setPin(cid, result.pin.level);
  const [pending] = await deps.cache.pendingJobs([cid]);
  let jobId: string | null = null;
  if (result.contentLevel !== result.pin.level || (pending ?? null) !== null) {
    const count = (await deps.cache.latestCount(cid)) ?? result.viewCount;
    jobId = await enqueue(deps, cid, count, result.pin.level, result.contentLevel, now);
  }
  return { cid, pin: result.pin, previous: result.previous, level: result.contentLevel, jobId };
}

/**
 * Releases a content's pin: one MySQL transaction deletes it and writes the audit entry
 * (`content.unpin`, `detail` as detail); then the gateways' cache forgets the pin and, when its
 * latest count calls for another tier, its relocation is queued so the count decides again.
 * `not-pinned` (nothing written) when it had no pin; `CONTENT_NOT_FOUND` for an unknown cid.
 */
export async function unpinContent(
  deps: ContentAdminDeps,
  cid: number,
  options: ContentAdminOptions & { detail?: string | null },
): Promise<UnpinResult> {
  if (!(await getContent(deps.db, cid))) {
    throw new ContentAdminError('CONTENT_NOT_FOUND', `no content has cid ${cid}`);
  }
  const pin = await removeContentPin(deps.db, cid, {
    actor: options.actor,
    detail: options.detail ?? null,
  });
  if (pin === null) return { kind: 'not-pinned', cid };
  await deps.cache.setPin(cid, null);
  const next = await queueByCount(deps, cid);
  return { kind: 'released', cid, pin, ...next };
}

/**
 * Releases every pin whose `until` has passed (the relocators' `pin-expiry` job): each with its
 * audit entry (`content.pin-expired`, actor {@link PIN_EXPIRY_ACTOR}), then, like
 * {@link unpinContent}, the cache forgets it and the content's count decides again.
 */
export async function expirePins(deps: ContentAdminDeps): Promise<ExpiredPin[]> {
  const now = new Date((deps.now ?? Date.now)());
  const expired = await expireContentPins(deps.db, now, { actor: PIN_EXPIRY_ACTOR });
  const out: ExpiredPin[] = [];
  for (const pin of expired) {
    await deps.cache.setPin(pin.cid, null);
    const next = await queueByCount(deps, pin.cid);
    out.push({ pin, jobId: next.jobId });
  }
  return out;
}

/** Queues a released content's relocation when its latest count calls for another tier. */
async function queueByCount(
  deps: ContentAdminDeps,
  cid: number,
): Promise<{ level: string; target: string | null; count: number; jobId: string | null }> {
  const content = await getContent(deps.db, cid);
  if (!content) return { level: '', target: null, count: 0, jobId: null };
  const latest = await deps.cache.latestViews(cid);
  const count = latest.count ?? Number(content.view_count);
  const level = content.content_level;
  const checked = validateLevels(await listLevels(deps.db));
  if (!checked.ok) return { level, target: null, count, jobId: null };
  const decision = chooseTier({
    count,
    levels: checked.levels,
    current: level,
    options: deps.tiering,
    rateState: latest.rateState,
    now: (deps.now ?? Date.now)(),
  });
  const target = decision.kind === 'stay' ? level : decision.to;
  if (target === level) return { level, target, count, jobId: null };
  const jobId = await enqueue(deps, cid, count, target, level, (deps.now ?? Date.now)());
  return { level, target, count, jobId };
}

async function enqueue(
  deps: ContentAdminDeps,
  cid: number,
  count: number,
  target: string,
  from: string,
  requestedAt: number,
): Promise<string> {
  const { deployment } = await deps.cache.keys();
  const job = await enqueueRelocation(deps.queue, {
    cid,
    count,
    target,
    from,
    requestedAt,
    deployment,
    reason: 'pin',
  });
  return job.id ?? '';
}
