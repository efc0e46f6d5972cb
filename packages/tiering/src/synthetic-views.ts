import type { ViewEvent } from './replay.ts';

/** What {@link syntheticViews} generates. */
export interface SyntheticViewsOptions {
  /** Contents (cids 1…contents). */
  readonly contents: number;
  /** Posts in all, spread evenly over `durationMs`. */
  readonly posts: number;
  readonly durationMs: number;
  /** The first `hovering` cids post counts within `spread` views of `around`. */
  readonly hovering: number;
  readonly around: number;
  readonly spread: number;
  /** Epoch ms of the first post. */
  readonly startAt: number;
  /** Seed of the generator: the same options always give the same log. */
  readonly seed: number;
}

/**
 * A deterministic synthetic view log (mulberry32): `hovering` contents post counts hovering at
 * `around ± spread` (the flapping case), the others climb steadily from a random start below
 * 3,000 views. For tests, benchmarks and the sample log of `npm run replay`.
 */
export function syntheticViews(options: SyntheticViewsOptions): ViewEvent[] {
  const random = mulberry32(options.seed);
  const counts = Array.from({ length: options.contents }, (_, i) =>
    i < options.hovering ? options.around : Math.floor(random() * 3000),
  );
  const events: ViewEvent[] = [];
  for (let i = 0; i < options.posts; i += 1) {
    const index = Math.floor(random() * options.contents);
    const at = options.startAt + Math.floor((i * options.durationMs) / options.posts);
    let count: number;
    if (index < options.hovering) {
      count = options.around - options.spread + Math.floor(random() * (2 * options.spread + 1));
    } else {
      count = (counts[index] ?? 0) + Math.floor(random() * 3);
      counts[index] = count;
    }
    events.push({ cid: index + 1, count, at });
  }
  return events;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
