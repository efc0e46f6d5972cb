import { significant } from './stats.ts';

/** Which direction is good for a figure. */
export type Better = 'higher' | 'lower';

/** Whether a figure holds its target and goal: `inconclusive` when the rounds disagree. */
export type Verdict = 'met' | 'missed' | 'inconclusive';

/** The smallest and largest of a figure's rounds. */
export interface Spread {
  min: number;
  max: number;
}

/**
 * One line of `bench/results.json`: a figure, the baseline it was measured against in the same
 * run, their ratio (`value / baselineValue`), and the ratio we aim for (`target`, or null).
 * `goal` states an absolute goal where the issue sets one (e.g. "p99 < 50 ms"); `met` says
 * whether the median holds the target and the goal (null when there is neither).
 *
 * `spread` is the min–max of the rounds the median `value` came from (null for a single
 * measurement); `ratioSpread` the min–max of the per-round ratios value_i / baseline_i (null
 * without baseline rounds of the same count). `verdict` is `inconclusive` instead of
 * `met` / `missed` when a check's spread is wider than the median's distance to its threshold.
 */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number | null;
  ratio: number | null;
  target: number | null;
  better: Better;
  goal: string | null;
  met: boolean | null;
  spread: Spread | null;
  ratioSpread: Spread | null;
  verdict: Verdict | null;
  note?: string;
}

/**
 * An absolute goal: `text` for the table, `check` receives the median value, and `limit` (the
 * threshold `check` compares with) lets the verdict weigh the rounds' spread against it.
 */
export interface Goal {
  text: string;
  check: (value: number) => boolean;
  limit?: number;
}

/** The per-round measurements the medians came from (same order, one per round). */
export interface Samples {
  value: readonly number[];
  baseline?: readonly number[];
}

/** What {@link figure} needs; `goal.check` receives the value. */
export interface FigureInput {
  name: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number | null;
  better: Better;
  target?: number | null;
  goal?: Goal | null;
  /** The rounds behind `value` (and `baselineValue`); omitted for a single measurement. */
  samples?: Samples;
  note?: string;
}

/** Min–max of the finite `values`, or null when there are none. */
export function spreadOf(values: readonly number[]): Spread | null {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return null;
  return { min: Math.min(...finite), max: Math.max(...finite) };
}

/** Per-round ratios value_i / baseline_i, or null unless both have the same number of rounds. */
function roundRatios(samples: Samples | undefined): number[] | null {
  const base = samples?.baseline;
  if (!samples || !base || base.length === 0 || base.length !== samples.value.length) return null;
  return samples.value.map((v, i) => {
    const b = base[i] ?? Number.NaN;
    return Number.isFinite(b) && b !== 0 ? v / b : Number.NaN;
  });
}

/**
 * One check's verdict: `holds` for the median, `inconclusive` when the spread of the rounds is
 * wider than the distance from the median to the threshold.
 */
function checkVerdict(
  holds: boolean,
  median: number | null,
  threshold: number | undefined,
  spread: Spread | null,
): Verdict {
  if (median !== null && Number.isFinite(median) && threshold !== undefined && spread) {
    if (spread.max - spread.min > Math.abs(median - threshold)) return 'inconclusive';
  }
  return holds ? 'met' : 'missed';
}

function sig(spread: Spread | null, digits: number): Spread | null {
  return spread && { min: significant(spread.min, digits), max: significant(spread.max, digits) };
}

/** Builds a result line: computes the ratio and whether the target and goal are met. */
export function figure(input: FigureInput): BenchResult {
  const base = input.baselineValue;
  const ratio =
    base !== null && Number.isFinite(base) && base !== 0 && Number.isFinite(input.value)
      ? input.value / base
      : null;
  const target = input.target ?? null;
  const spread = input.samples ? spreadOf(input.samples.value) : null;
  const ratios = roundRatios(input.samples);
  const ratioSpread = ratios ? spreadOf(ratios) : null;
  const checks: boolean[] = [];
  const verdicts: Verdict[] = [];
  if (target !== null) {
    const holds = ratio !== null && (input.better === 'higher' ? ratio >= target : ratio <= target);
    checks.push(holds);
    verdicts.push(checkVerdict(holds, ratio, target, ratioSpread));
  }
  if (input.goal) {
    const holds = Number.isFinite(input.value) && input.goal.check(input.value);
    checks.push(holds);
    verdicts.push(checkVerdict(holds, input.value, input.goal.limit, spread));
  }
  // A clear miss outweighs an inconclusive check; `met` needs every check clearly met.
  const verdict: Verdict | null =
    verdicts.length === 0
      ? null
      : verdicts.includes('missed')
        ? 'missed'
        : verdicts.includes('inconclusive')
          ? 'inconclusive'
          : 'met';
  const result: BenchResult = {
    name: input.name,
    value: significant(input.value, 4),
    unit: input.unit,
    baseline: input.baseline,
    baselineValue: base === null ? null : significant(base, 4),
    ratio: ratio === null ? null : significant(ratio, 3),
    target,
    better: input.better,
    goal: input.goal?.text ?? null,
    met: checks.length === 0 ? null : checks.every(Boolean),
    spread: sig(spread, 4),
    ratioSpread: sig(ratioSpread, 3),
    verdict,
  };
  if (input.note !== undefined) result.note = input.note;
  return result;
}

/** The machine a run happened on. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  /** Total memory, GiB. */
  memoryGiB: number;
}

/** The code a run measured. */
export interface CodeInfo {
  /** `git rev-parse --short HEAD`, or null outside a git checkout. */
  commit: string | null;
  /** Files of apps/ and packages/ that differed from that commit when the run started. */
  uncommitted: string[];
  /** sha1 of `git diff HEAD -- apps packages` then, or null when there was no difference. */
  diffSha1: string | null;
}

/** The content of `bench/results.json`. */
export interface ResultsFile {
  machine: MachineInfo;
  code: CodeInfo;
  date: string;
  quick: boolean;
  /** The benchmarks this run was limited to (`--only`), or null for all of them. */
  only: string[] | null;
  durationSec: number;
  results: BenchResult[];
  /** What the reader must know about this run (smaller sizes in quick mode, failures, …). */
  notes: string[];
}
