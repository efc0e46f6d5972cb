import { significant } from './stats.ts';

/** Which direction is good for a figure. */
export type Better = 'higher' | 'lower';

/**
 * One line of `bench/results.json`: a figure, the baseline it was measured against in the same
 * run, their ratio (`value / baselineValue`), and the ratio we aim for (`target`, or null).
 * `goal` states an absolute goal where the issue sets one (e.g. "p99 < 50 ms"); `met` says
 * whether the target and the goal hold (null when there is neither).
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
  note?: string;
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
  goal?: { text: string; check: (value: number) => boolean } | null;
  note?: string;
}

/** Builds a result line: computes the ratio and whether the target and goal are met. */
export function figure(input: FigureInput): BenchResult {
  const base = input.baselineValue;
  const ratio =
    base !== null && Number.isFinite(base) && base !== 0 && Number.isFinite(input.value)
      ? input.value / base
      : null;
  const target = input.target ?? null;
  const checks: boolean[] = [];
  if (target !== null) {
    checks.push(ratio !== null && (input.better === 'higher' ? ratio >= target : ratio <= target));
  }
  if (input.goal) checks.push(Number.isFinite(input.value) && input.goal.check(input.value));
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
