/** Names of the benchmarks, in the order `npm run bench` runs them. */
export const BENCH_NAMES = [
  'ingest',
  'batched',
  'hot-path',
  'relocator',
  'cross-fs',
  'latency',
  'scale',
  'plan',
  'replay',
] as const;

/** One benchmark's name. */
export type BenchName = (typeof BENCH_NAMES)[number];

/** The command line of `npm run bench`. */
export interface BenchArgs {
  /** Longer rounds and more of them (`--long`); quick by default. */
  readonly long: boolean;
  /** The benchmarks to run (`--only a,b`); every one when `null`. */
  readonly only: ReadonlySet<BenchName> | null;
  /** Start every server child with `--cpu-prof`, profiles in `bench/profiles/` (`--cpu-prof`). */
  readonly cpuProf: boolean;
  /**
   * Also run the ingest and relocator benchmarks against a local 3-master Redis Cluster
   * (`--cluster`), reported as `cluster.*` figures against the single-node ones of the same run.
   */
  readonly cluster: boolean;
}

/** Thrown for a command line that cannot be run; the message says what is accepted. */
export class ArgsError extends Error {
  readonly code = 'BENCH_ARGS';
}

const USAGE = `usage: npm run bench -- [--long] [--only ${BENCH_NAMES.join(',')}] [--cpu-prof] [--cluster]`;

function isBenchName(value: string): value is BenchName {
  return (BENCH_NAMES as readonly string[]).includes(value);
}

/** Parses `argv` (without node and the script); throws {@link ArgsError} with the usage line. */
export function parseArgs(argv: readonly string[]): BenchArgs {
  let long = false;
  let cpuProf = false;
  let cluster = false;
  let only: Set<BenchName> | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--long') long = true;
    else if (arg === '--quick') long = false;
    else if (arg === '--cpu-prof') cpuProf = true;
    else if (arg === '--cluster') cluster = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const list = arg === '--only' ? argv[++i] : arg.slice('--only='.length);
      if (!list) throw new ArgsError(`--only needs a list of names\n${USAGE}`);
      only = new Set<BenchName>();
      for (const name of list.split(',').map((s) => s.trim())) {
        if (!isBenchName(name)) {
          throw new ArgsError(`unknown benchmark ${JSON.stringify(name)}\n${USAGE}`);
        }
        only.add(name);
      }
    } else if (arg === '--help' || arg === '-h') {
      throw new ArgsError(USAGE);
    } else {
      throw new ArgsError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return { long, only, cpuProf, cluster };
}
