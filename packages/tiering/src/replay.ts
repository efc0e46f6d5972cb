import { chooseTier, targetLevel, type ChooseTierOptions, type RecentMove } from './choose-tier.ts';
import type { Level } from './level.ts';

/** One line of a view log: a content's total count as a player posted it, at a time. */
export interface ViewEvent {
  readonly cid: number;
  readonly count: number;
  /** Epoch milliseconds. */
  readonly at: number;
}

/** A placement policy to replay: a level table and the settings `chooseTier` decides with. */
export interface ReplayPolicy {
  readonly levels: readonly Level[];
  readonly options: ChooseTierOptions;
}

/** What a replay of one policy gives. */
export interface ReplayResult {
  /** Posts replayed and contents seen. */
  readonly posts: number;
  readonly contents: number;
  /** Tier changes the policy made, and the bytes they copied (sizes from `sizeOf`). */
  readonly moves: number;
  readonly bytesMoved: number;
  readonly promotions: number;
  readonly demotions: number;
  /**
   * Decisions the policy did not take although the count called for another tier, by rule:
   * within the hysteresis band, before the minimum residence, past the flap budget.
   */
  readonly prevented: {
    readonly hysteresis: number;
    readonly residence: number;
    readonly 'flap-budget': number;
  };
  /**
   * Share (0–1) of the time between each content's first post and the end of the log that it
   * spent on a tier other than the one its latest count called for.
   */
  readonly offTargetShare: number;
  /** The most moves one content made. */
  readonly maxMovesPerContent: number;
}

interface Held {
  readonly allowedAt: number;
}

interface ContentRun {
  level: string;
  lastMovedAt: number | null;
  moves: RecentMove[];
  count: number;
  /** Since when its level differs from its latest count's tier (`null`: on target). */
  offSince: number | null;
  offMs: number;
  firstAt: number;
  held: Held | null;
  movesMade: number;
}

/**
 * Replays a view log through the placement policy exactly as the service applies it (the same
 * `chooseTier`): each post records the content's latest count and decides; a move happens at
 * once; a move the policy holds (`wait`: residence or flap budget) is tried again at its
 * `allowedAt` with the latest count, as the relocator's delayed job does. A content starts on
 * the tier its first count calls for (its first post moves nothing). Nothing is read or written
 * outside: deterministic for a given log, policy and `sizeOf`. `events` must be in time order.
 */
export function replayViews(
  events: Iterable<ViewEvent>,
  policy: ReplayPolicy,
  sizeOf: (cid: number) => number,
): ReplayResult {
  const runs = new Map<number, ContentRun>();
  let posts = 0;
  let moves = 0;
  let bytesMoved = 0;
  let promotions = 0;
  let demotions = 0;
  const prevented = { hysteresis: 0, residence: 0, 'flap-budget': 0 };
  const windowMs = policy.options.flapBudget?.windowMs ?? 0;
  const minCount = new Map(policy.levels.map((l) => [l.name, l.minCount]));
  let lastAt = -Infinity;

  const tierOf = (count: number) => targetLevel(count, policy.levels).name;
  const track = (run: ContentRun, at: number): void => {
    const onTarget = run.level === tierOf(run.count);
    if (onTarget && run.offSince !== null) {
      run.offMs += at - run.offSince;
      run.offSince = null;
    } else if (!onTarget && run.offSince === null) {
      run.offSince = at;
    }
  };
  const decide = (cid: number, run: ContentRun, at: number, counted: boolean): void => {
    // Moves older than the budget's window never matter again: keep the history short.
    if (windowMs > 0) {
      while (run.moves.length > 0 && (run.moves[0]?.at ?? at) <= at - windowMs) run.moves.shift();
    } else if (run.moves.length > 8) {
      run.moves.splice(0, run.moves.length - 8);
    }
    const decision = chooseTier({
      count: run.count,
      levels: policy.levels,
      current: run.level,
      options: policy.options,
      now: at,
      lastMovedAt: run.lastMovedAt,
      recentMoves: run.moves,
    });
    if (decision.kind === 'move') {
      const from = run.level;
      run.moves.push({ at, from, to: decision.to });
      run.level = decision.to;
      run.lastMovedAt = at;
      run.held = null;
      run.movesMade += 1;
      moves += 1;
      bytesMoved += sizeOf(cid);
      if ((minCount.get(decision.to) ?? 0) > (minCount.get(from) ?? 0)) promotions += 1;
      else demotions += 1;
    } else if (decision.kind === 'wait') {
      run.held = { allowedAt: decision.allowedAt };
      if (counted) prevented[decision.rule] += 1;
    } else {
      run.held = null;
      if (counted && decision.reason === 'within-hysteresis') prevented.hysteresis += 1;
    }
    track(run, at);
  };

  for (const event of events) {
    if (event.at < lastAt) {
      throw new RangeError(
        `view log out of time order: cid ${event.cid} at ${event.at} comes after ${lastAt}`,
      );
    }
    lastAt = event.at;
    posts += 1;
    let run = runs.get(event.cid);
    if (run === undefined) {
      run = {
        level: tierOf(event.count),
        lastMovedAt: null,
        moves: [],
        count: event.count,
        offSince: null,
        offMs: 0,
        firstAt: event.at,
        held: null,
        movesMade: 0,
      };
      runs.set(event.cid, run);
      continue;
    }
    // A held move tries again when it is allowed, with the count it knew then.
    if (run.held !== null && run.held.allowedAt <= event.at) {
      decide(event.cid, run, run.held.allowedAt, false);
    }
    run.count = event.count;
    decide(event.cid, run, event.at, true);
  }

  // Held moves that become allowed before the end of the log still happen.
  let offMs = 0;
  let spanMs = 0;
  let maxMovesPerContent = 0;
  for (const [cid, run] of runs) {
    if (run.held !== null && run.held.allowedAt <= lastAt)
      decide(cid, run, run.held.allowedAt, false);
    if (run.offSince !== null) run.offMs += lastAt - run.offSince;
    offMs += run.offMs;
    spanMs += lastAt - run.firstAt;
    maxMovesPerContent = Math.max(maxMovesPerContent, run.movesMade);
  }
  return {
    posts,
    contents: runs.size,
    moves,
    bytesMoved,
    promotions,
    demotions,
    prevented,
    offTargetShare: spanMs > 0 ? offMs / spanMs : 0,
    maxMovesPerContent,
  };
}
