import type { BenchName } from './args.ts';
import type { BenchContext } from './context.ts';
import type { BenchResult } from './results.ts';

/** One benchmark of `npm run bench`. */
export interface Bench {
  readonly name: BenchName;
  readonly title: string;
  /** Measures and returns its result lines; throws when the measurement is not valid. */
  run(ctx: BenchContext): Promise<BenchResult[]>;
}

/** Fixed seed of every generated request sequence. */
export const SEED = 20_240_601;

/** The order of `items` rotated by `round`, so no target always runs first or last. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const k = round % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Content types of the two body encodings the gateway accepts. */
export const JSON_TYPE = 'application/json';
export const FORM_TYPE = 'application/x-www-form-urlencoded';
