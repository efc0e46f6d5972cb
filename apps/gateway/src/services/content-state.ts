import {
  getContent,
  getContentPin,
  HISTORY_REASONS,
  latestChanges,
  type Content,
  type ContentPin,
} from '@relocation/db';
import { getRelocationStatus, POLICY_HOLD_CODES, type RelocationStatus } from '@relocation/queue';
import { chooseTier, explainMove, freshLevel, rateOf, targetLevel } from '@relocation/tiering';
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
  /**
   * With `TIERING_POLICY=rate`: its view rate in views per hour as of now (what places it); null
   * with the count policy or while it is unknown.
   */
  viewRate: number | null;
  /**
   * The placement-policy rule keeping it off the tier its count calls for, if one does:
   * `hysteresis` (its count is past the boundary but within the band; no move is queued),
   * `residence` or `flap-budget` (its move is held until `until`).
   */
  heldBy: PolicyHold | null;
}

/** A placement-policy rule that keeps a content where it is. */
export interface PolicyHold {
  rule: 'hysteresis' | 'residence' | 'flap-budget';
  message: string;
  /** Epoch ms when the held move may happen; null for hysteresis (it waits for the count). */
  until: number | null;
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
  const tieringOptions = deps.tiering;
  const input = {
    count: viewCount,
    levels,
    current: content.content_level,
    options: tieringOptions,
    pin: pin?.level ?? null,
    rateState: cached?.rateState ?? null,
    now: Date.now(),
  };
  const decision = chooseTier(input);
  const viewRate = rateOf(input);
  const target = decision.kind === 'stay' ? content.content_level : decision.to;
  const settled = relocation.state === 'idle' && target === content.content_level;
  const heldBy = policyHold();
  // An idle content off its count's tier may have been demoted by the capacity sweep.
  const demoted =
    !settled && relocation.state === 'idle'
      ? (await fromDatabase(() => latestChanges(deps.db, [cid]))).get(cid)
      : undefined;
  const byCapacity =
    demoted?.reason === HISTORY_REASONS.capacity && demoted.level === content.content_level;
  return {
    content,
    viewCount,
    target,
    pin,
    relocation,
    settled,
    reason: settled ? null : why(),
    viewRate,
    heldBy,
  };

  function policyHold(): PolicyHold | null {
    if (relocation.state === 'held') {
      const rule =
        relocation.hold.code === POLICY_HOLD_CODES.residence ? 'residence' : 'flap-budget';
      return { rule, message: relocation.hold.message, until: relocation.hold.retryAt };
    }
    if (decision.kind !== 'stay' || decision.reason !== 'within-hysteresis') return null;
    const viewRatePolicy = tieringOptions.viewRate ?? null;
    if (viewRatePolicy !== null && viewRate !== null) {
      const wanted = freshLevel(viewRate, levels, viewRatePolicy).name;
      const crossed = explainMove(input, wanted).rate;
      if (crossed === undefined || crossed === null) return null;
      const rate = Math.round(viewRate * 100) / 100;
      const until =
        crossed.kind === 'demote'
          ? `falls below ${crossed.level}'s demote threshold of ${crossed.threshold}/h`
          : `reaches ${crossed.level}'s promote threshold of ${crossed.threshold}/h`;
      return {
        rule: 'hysteresis',
        message: `its view rate of ${rate}/h would place a new content on ${wanted}; it stays on ${content.content_level} until its rate ${until}`,
        until: null,
      };
    }
    const wanted = targetLevel(viewCount, levels).name;
    const why = explainMove(
      { count: viewCount, levels, current: content.content_level, options: tieringOptions },
      wanted,
    );
    const b = why.boundary;
    if (b === null) return null;
    const side = b.edge === 'max' ? 'above' : 'below';
    return {
      rule: 'hysteresis',
      message: `its count ${viewCount} is ${side} ${b.level}'s ${b.edge === 'max' ? 'max' : 'min'} ${b.count} but within its hysteresis band of ${b.band} views; it moves to ${wanted} at a count of ${b.threshold}`,
      until: null,
    };
  }

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

/** A content of the published stuck list that is still stuck, with its state now. */
export interface StillStuck {
  cid: number;
  /** Epoch ms since which the sweeps have found it stuck. */
  since: number;
  state: ContentState;
}

/**
 * A page of the stuck list the relocators' cache sweep published (`offset`, `limit`), each
 * content read again: one settled, queued or gone since the sweep is left out. `total` is the
 * published list's length. Shared by `GET /v1/contents?state=stuck` and the overview.
 */
export async function readStillStuck(
  deps: Omit<PostViewsDeps, 'now'>,
  offset: number,
  limit: number,
): Promise<{ total: number; items: StillStuck[] }> {
  const page = await fromRedis(() => deps.cache.listStuck(offset, limit));
  const items: StillStuck[] = [];
  for (const { cid, since } of page.items) {
    const state = await readContentState(deps, cid).catch(() => null);
    if (!state || state.settled || state.relocation.state !== 'idle') continue;
    items.push({ cid, since, state });
  }
  return { total: page.total, items };
}
