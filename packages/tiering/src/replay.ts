import { chooseTier, targetLevel, type ChooseTierOptions, type RecentMove } from './choose-tier.ts';
import type { Level } from './level.ts';
import { freshLevel, observeViews, rateAt, type ViewRateState } from './view-rate.ts';

/**
 * The period of the replay's rate sweep unless `ReplayPolicy.sweepEveryMs` says otherwise: a
 * minute, the default of the relocator's rate sweep (`RATE_SWEEP_EVERY`).
 */
export const DEFAULT_REPLAY_SWEEP_EVERY_MS = 60_000;

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
  /**
   * With `options.viewRate`: the period of the rate sweep in milliseconds (finite, > 0; absent:
   * {@link DEFAULT_REPLAY_SWEEP_EVERY_MS}), which re-decides every content above the bottom level
   * without a post, as the relocator's sweep does; `null`: no sweep (contents move only at posts
   * and held retries). Ignored by the count policy (a count changes only with a post).
   */
  readonly sweepEveryMs?: number | null;
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
   * Posts whose decision the policy did not take although the count (with the rate policy: the
   * rate) called for another tier, by rule: within the hysteresis band (with the rate policy:
   * between a boundary's two thresholds), before the minimum residence, past the flap budget.
   * Counted per post only: held retries and sweep ticks add none.
   */
  readonly prevented: {
    readonly hysteresis: number;
    readonly residence: number;
    readonly 'flap-budget': number;
  };
  /**
   * Share (0–1) of the time between each content's first post and the end of the log that it
   * spent on a tier other than the one its latest count called for. With the rate policy, the
   * tier its rate calls for as `freshLevel` places it (the band left out: a content kept between
   * a boundary's two thresholds is off target), checked at each post, held retry and sweep tick
   * of the content and taken as unchanged until the next one; while its rate is unknown
   * (warm-up) a content is on target.
   */
  readonly offTargetShare: number;
  /** The most moves one content made. */
  readonly maxMovesPerContent: number;
  /**
   * With the rate policy only (absent with the count policy): the sweep's period and the moves
   * it made, i.e. decided at a tick rather than at a post or a held retry.
   */
  readonly sweep?: {
    /** `null`: no sweep. */
    readonly everyMs: number | null;
    readonly moves: number;
  };
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
  /** With the rate policy: its rate state, every post folded in (`null` with the count policy). */
  rate: ViewRateState | null;
  /** With the rate policy: the sweep tick it is due at, `-1` when none (see {@link replayViews}). */
  due: number;
}

/** A content due at a sweep tick; `seq` orders a tick's contents by when they were scheduled. */
interface Due {
  readonly tick: number;
  readonly seq: number;
  readonly cid: number;
  readonly run: ContentRun;
}

/**
 * Replays a view log through the placement policy exactly as the service applies it (the same
 * `chooseTier`): each post records the content's latest count and decides; a move happens at
 * once; a move the policy holds (`wait`: residence or flap budget) is tried again at its
 * `allowedAt` with the latest count, as the relocator's delayed job does. A content starts on
 * the tier its first count calls for (its first post moves nothing). Nothing is read or written
 * outside: deterministic for a given log, policy and `sizeOf`. `events` must be in time order.
 *
 * With the rate policy (`options.viewRate`), each post is also folded into the content's rate
 * state (`observeViews`) and decisions go by its rate as of their time; the content still starts
 * on the tier its first count calls for (where the count policy has put it) and stays there
 * while its rate warms up. A rate sweep ticks every `sweepEveryMs` from the first post's time
 * up to the end of the log, which is the last post's time (nothing is replayed after it): at
 * each tick, before the posts of that same millisecond, every content above the bottom level is
 * re-decided as the relocator's sweep does (a held move whose `allowedAt` has come is tried
 * first, at its `allowedAt`), so a content nobody watches is demoted as its rate decays. Only
 * the ticks at which a content's decision can change are evaluated: its rate falls monotonically
 * between posts, so each content is due at the tick before its rate crosses the next threshold
 * (or at the first tick at or after its held move's `allowedAt`); between those ticks a sweep
 * would leave it as it is. This gives what sweeping all of them at every tick gives, at a cost
 * that grows with threshold crossings rather than with ticks × contents.
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

  const viewRate = policy.options.viewRate ?? null;
  const halfLifeMs = viewRate?.halfLifeMs ?? 0;
  const sweepEveryMs =
    viewRate === null
      ? null
      : policy.sweepEveryMs === undefined
        ? DEFAULT_REPLAY_SWEEP_EVERY_MS
        : policy.sweepEveryMs;
  if (sweepEveryMs !== null && (!Number.isFinite(sweepEveryMs) || sweepEveryMs <= 0)) {
    throw new RangeError(
      `sweepEveryMs must be a finite number > 0 or null, got ${String(sweepEveryMs)}`,
    );
  }
  const everyMs = sweepEveryMs ?? 0;
  const bottom = policy.levels.reduce<Level | undefined>(
    (low, level) => (low === undefined || level.minCount < low.minCount ? level : low),
    undefined,
  )?.name;
  // Every rate at which some decision flips (`rate < x`), highest first.
  const crossings = [
    ...new Set(
      policy.levels.flatMap((level) => {
        const t = viewRate !== null && Object.hasOwn(viewRate.thresholds, level.name);
        const own = t ? viewRate.thresholds[level.name] : undefined;
        return own === undefined ? [] : [own.promote, own.demote];
      }),
    ),
  ]
    .filter((x) => x > 0)
    .sort((a, b) => b - a);
  const dueHeap: Due[] = [];
  let dueSeq = 0;
  let sweepMoves = 0;
  let origin = 0;

  const tierOf = (count: number) => targetLevel(count, policy.levels).name;
  /** The tier the content should be on at `at`; `null` while its rate is unknown. */
  const targetOf = (run: ContentRun, at: number): string | null => {
    if (viewRate === null) return tierOf(run.count);
    const rate = rateAt(run.rate, at, halfLifeMs);
    return rate === null ? null : freshLevel(rate, policy.levels, viewRate).name;
  };
  const track = (run: ContentRun, at: number): void => {
    const target = targetOf(run, at);
    const onTarget = target === null || run.level === target;
    if (onTarget && run.offSince !== null) {
      run.offMs += at - run.offSince;
      run.offSince = null;
    } else if (!onTarget && run.offSince === null) {
      run.offSince = at;
    }
  };
  const decide = (cid: number, run: ContentRun, at: number, counted: boolean): boolean => {
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
      rateState: run.rate,
    });
    let moved = false;
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
      moved = true;
    } else if (decision.kind === 'wait') {
      run.held = { allowedAt: decision.allowedAt };
      if (counted) prevented[decision.rule] += 1;
    } else {
      run.held = null;
      if (counted && decision.reason === 'within-hysteresis') prevented.hysteresis += 1;
    }
    track(run, at);
    return moved;
  };

  /**
   * Schedules the content's next sweep tick after `at` (first tick considered: `next`): the tick
   * at or before its rate's next threshold crossing, or the first at or after its held move's
   * `allowedAt`, whichever comes first. None on the bottom level, or when nothing can change
   * without a post (rate unknown or below every threshold, nothing held).
   */
  const schedule = (cid: number, run: ContentRun, at: number, next: number): void => {
    let tick = Infinity;
    if (run.level !== bottom) {
      if (run.held !== null) tick = Math.ceil((run.held.allowedAt - origin) / everyMs);
      const state = run.rate;
      if (state !== null && state.rate !== null) {
        const rate = rateAt(state, at, halfLifeMs) ?? 0;
        const x = crossings.find((c) => c <= rate);
        if (x !== undefined) {
          const crossAt = state.at + halfLifeMs * Math.log2(state.rate / x);
          // The tick at or before the computed crossing: the ticks' rates are measured (rateAt),
          // and a tick that finds the rate not crossed yet changes nothing; the next one follows.
          tick = Math.min(tick, Math.floor((crossAt - origin) / everyMs));
        }
      }
    }
    const due = tick === Infinity ? -1 : Math.max(next, tick);
    // An entry due no later stays: a tick that finds nothing to change is harmless, and a content
    // watched often would otherwise push one at nearly every post.
    if (due >= 0 && run.due >= 0 && run.due <= due) return;
    run.due = due;
    if (due >= 0) heapPush(dueHeap, { tick: due, seq: dueSeq++, cid, run });
  };
  /** Runs the sweep's ticks up to `until` (inclusive), in time order. */
  const sweepUntil = (until: number): void => {
    for (let top = dueHeap[0]; top !== undefined; top = dueHeap[0]) {
      const at = origin + top.tick * everyMs;
      if (at > until) break;
      heapPop(dueHeap);
      const { cid, run, tick } = top;
      if (run.due !== tick) continue; // cancelled or rescheduled earlier by a post
      run.due = -1;
      if (run.held !== null && run.held.allowedAt <= at) {
        decide(cid, run, run.held.allowedAt, false);
      }
      if (decide(cid, run, at, false)) sweepMoves += 1;
      schedule(cid, run, at, tick + 1);
    }
  };

  for (const event of events) {
    if (event.at < lastAt) {
      throw new RangeError(
        `view log out of time order: cid ${event.cid} at ${event.at} comes after ${lastAt}`,
      );
    }
    if (posts === 0) origin = event.at;
    lastAt = event.at;
    posts += 1;
    if (dueHeap.length > 0) sweepUntil(event.at);
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
        rate: viewRate === null ? null : observeViews(null, event.count, event.at, halfLifeMs),
        due: -1,
      };
      runs.set(event.cid, run);
      continue;
    }
    // A held move tries again when it is allowed, with the count it knew then.
    if (run.held !== null && run.held.allowedAt <= event.at) {
      decide(event.cid, run, run.held.allowedAt, false);
    }
    run.count = event.count;
    if (viewRate !== null) {
      run.rate = observeViews(run.rate, event.count, event.at, halfLifeMs);
    }
    decide(event.cid, run, event.at, true);
    if (sweepEveryMs !== null) {
      schedule(event.cid, run, event.at, Math.floor((event.at - origin) / everyMs) + 1);
    }
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
    ...(viewRate === null ? {} : { sweep: { everyMs: sweepEveryMs, moves: sweepMoves } }),
  };
}

/** Adds `item` to the binary min-heap `heap` (by tick, then seq). */
function heapPush(heap: Due[], item: Due): void {
  let i = heap.push(item) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent];
    if (p === undefined || !before(item, p)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = item;
}

/** Removes the least item of `heap`. */
function heapPop(heap: Due[]): void {
  const last = heap.pop();
  if (last === undefined || heap.length === 0) return;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let least = last;
    let at = i;
    const left = heap[l];
    const right = heap[r];
    if (left !== undefined && before(left, least)) {
      least = left;
      at = l;
    }
    if (right !== undefined && before(right, least)) {
      least = right;
      at = r;
    }
    if (at === i) break;
    heap[i] = least;
    i = at;
  }
  heap[i] = last;
}

function before(a: Due, b: Due): boolean {
  return a.tick < b.tick || (a.tick === b.tick && a.seq < b.seq);
}
