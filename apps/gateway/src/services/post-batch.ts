import { fromRedis, toAppError, type AppError, type ErrorBody } from '../errors.ts';
import {
  decide,
  rateHalfLifeMs,
  recordLatest,
  type CacheHit,
  type PostViewsDeps,
  type PostViewsOptions,
  type ViewOutcome,
  type ViewReport,
} from './post-views.ts';

/** A batch item that failed on its own (e.g. an unknown cid). */
export interface ViewItemFailure {
  cid: number;
  count: number;
  status: 'error';
  error: ErrorBody;
}

/** What one batch item led to. */
export type BatchEntry = ViewOutcome | ViewItemFailure;

/** Contents posted in parallel within one batch. */
export const BATCH_CONCURRENCY = 32;

/**
 * Posts a batch of view reports; answers one entry per item, in order.
 *
 * Items for the same cid run one after another in batch order, so the last one wins, as if they
 * had been posted one by one; different cids run in parallel. An item's client error (unknown
 * cid) is reported in its entry. A backend outage (503) or a bug fails the whole batch: posting a
 * total count again is harmless, so the client can simply retry it. Every job the batch queues
 * carries `options.requestId` (one request id per batch).
 */
export async function postBatch(
  deps: PostViewsDeps,
  items: readonly ViewReport[],
  options: PostViewsOptions = {},
): Promise<BatchEntry[]> {
  const byCid = new Map<number, number[]>();
  items.forEach((item, index) => {
    const indexes = byCid.get(item.cid);
    if (indexes === undefined) byCid.set(item.cid, [index]);
    else indexes.push(index);
  });
  const groups = [...byCid.values()];
  const entries: BatchEntry[] = new Array<BatchEntry>(items.length);
  // Every count is recorded in one pipelined round trip, in batch order (so a cid's last item is
  // its latest count). Cached cids are then decided from those answers. A cid with a miss (its
  // count was not recorded, at least for one item) is filled from MySQL and only its last item
  // is recorded again: re-recording an earlier item would overwrite a later one recorded by the
  // pipeline when another gateway filled the entry in between (I5).
  const now = (deps.now ?? Date.now)();
  const recorded = await fromRedis(() =>
    deps.cache.recordCounts(items, now, rateHalfLifeMs(deps.tiering)),
  );
  // Shared by the lanes; the first 5xx stops them all.
  const run: { next: number; failure: AppError | null } = { next: 0, failure: null };

  const lane = async (): Promise<void> => {
    while (run.failure === null && run.next < groups.length) {
      const group = groups[run.next] ?? [];
      run.next += 1;
      let refilled: CacheHit | null = null;
      for (const index of group) {
        const item = items[index];
        if (item === undefined || run.failure !== null) break;
        try {
          let hit = recorded[index];
          if (hit?.kind !== 'hit' || refilled) {
            if (!refilled) {
              const last = items[group[group.length - 1] ?? index] ?? item;
              refilled = await recordLatest(deps, last.cid, last.count, now);
            }
            hit = refilled;
          }
          entries[index] = await decide(deps, item, hit, now, options);
        } catch (error) {
          const appError = toAppError(error);
          if (appError.statusCode >= 500) {
            run.failure ??= appError;
            break;
          }
          entries[index] = { ...item, status: 'error', error: appError.toBody() };
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(BATCH_CONCURRENCY, groups.length) }, lane));
  if (run.failure !== null) throw run.failure;
  return entries;
}
