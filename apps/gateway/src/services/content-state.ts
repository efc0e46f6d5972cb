import {
  getContent,
  getContentPin,
  HISTORY_REASONS,
  latestChanges,
  type Content,
  type ContentPin,
} from '@relocation/db';
import { getRelocationStatus, type RelocationStatus } from '@relocation/queue';
import { chooseTier } from '@relocation/tiering';
import { contentNotFound, fromDatabase, fromRedis } from '../errors.ts';
import { fromQueue } from './backends.ts';
import type { PostViewsDeps } from './post-views.ts';

/** A content as MySQL holds it, with its latest count and where its relocation stands. */
export interface ContentState {
  content: Content;
  /** Latest count posted for the content, else the count MySQL holds. */
  viewCount: number;
  /** Tier `viewCount` (or the pin) calls for, given the content's level in MySQL. */
  target: string;
  /** The operator's pin (MySQL), if any: it overrides the count. */
  pin: ContentPin | null;
  relocation: RelocationStatus;
  /**
   * True when nothing is pending for the content and MySQL holds its final level: no job is
   * queued, running or failed, and its latest count calls for the level it is on.
   */
  settled: boolean;
  /** Why it is not settled (and what to do when nothing will settle it); null when settled. */
  reason: string | null;
}

/**
 * Reads a content's state for `GET /v1/contents/:cid` and `POST /update_sentence`: its MySQL row
 * and its pin (the authority on where the file is and must be), the latest count from the
 * shared cache, and its relocation state from BullMQ. Throws `CONTENT_NOT_FOUND` for an unknown cid.
 */
export async function readContentState(
  deps: Omit<PostViewsDeps, 'now'>,
  cid: number,
): Promise<ContentState> {
  const found = await fromDatabase(() => getContent(deps.db, cid));
  if (found === undefined) throw contentNotFound(cid);
  const content = found;
  const pin = await fromDatabase(() => getContentPin(deps.db, cid));
  const cached = await fromRedis(() => deps.cache.get(cid));
  const relocation = await fromQueue(deps.redis, () =>
    getRelocationStatus(deps.queue, deps.cache, cid),
  );
  const viewCount = cached?.count ?? Number(content.view_count);
  const { levels } = await deps.levels.latest();
  const decision = chooseTier({
    count: viewCount,
    levels,
    current: content.content_level,
    options: { hysteresis: deps.hysteresis },
    pin: pin?.level ?? null,
  });
  const target = decision.kind === 'stay' ? content.content_level : decision.to;
  const settled = relocation.state === 'idle' && target === content.content_level;
  // An idle content off its count's tier may have been demoted by the capacity sweep.
  const demoted =
    !settled && relocation.state === 'idle'
      ? (await fromDatabase(() => latestChanges(deps.db, [cid]))).get(cid)
      : undefined;
  const byCapacity =
    demoted?.reason === HISTORY_REASONS.capacity && demoted.level === content.content_level;
  return { content, viewCount, target, pin, relocation, settled, reason: settled ? null : why() };

  function why(): string {
    switch (relocation.state) {
      case 'queued':
        return `a move to ${relocation.target ?? target} is queued`;
      case 'active':
        return `a move to ${relocation.target ?? target} is running`;
      case 'waiting':
        return `the move to ${relocation.target ?? target} waits for a storage fault to clear: ${relocation.hold.message}`;
      case 'waiting-for-space':
        return `the move to ${relocation.target ?? target} waits for space: ${relocation.hold.message}`;
      case 'held':
        return `the placement policy holds the move to ${relocation.target ?? target}: ${relocation.hold.message}`;
      case 'failed':
        return `the last move failed: ${relocation.error}; fix the cause, then \`npm run content -- requeue ${cid}\` (or POST /v1/contents/${cid}/requeue)`;
      case 'idle':
        if (byCapacity) {
          return `demoted from ${target} by the capacity sweep (${target} was above its high watermark, or made room for a hotter content); its next post moves it back if ${target} has room below its high watermark, else it waits for space`;
        }
        if (pin !== null && target === pin.level) {
          return `stuck: it is pinned to ${pin.level}, it is on ${content.content_level}, and nothing is queued for it; \`npm run content -- requeue ${cid}\` (or POST /v1/contents/${cid}/requeue) queues the move`;
        }
        return `stuck: its count ${viewCount} calls for ${target}, it is on ${content.content_level}, and nothing is queued for it; \`npm run content -- requeue ${cid}\` (or POST /v1/contents/${cid}/requeue) queues the move`;
    }
  }
}
