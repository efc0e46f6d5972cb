import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { contentSizes, createDb, listLevels } from '@relocation/db';
import { ConfigError, configOrExit, loadEnvFile, policyText } from '@relocation/runtime';
import {
  replayViews,
  validateLevels,
  type ReplayResult,
  type ViewEvent,
} from '@relocation/tiering';
import { parseCliArgs } from './cli-args.ts';
import { readLevelsFile } from './cli-levels-file.ts';
import { bytesText, columns } from './cli-table.ts';
import { loadConfig, type RelocatorConfig } from './config.ts';

// `npm run replay -- --views FILE [--levels FILE] [--hysteresis N|N%] [--budget N/DURATION|off]
// [--residence DURATION] [--policy count|rate] [--half-life DURATION] [--thresholds SPEC]
// [--sweep-every DURATION|off] [--default-size BYTES] [--json]`: replays a view log through the
// placement policy in force (MySQL's level table, the TIERING_* settings and, with the rate
// policy, RATE_SWEEP_EVERY) and through a candidate (the same with the options given, read by the
// same rules as the variables they stand for), with the same `chooseTier` the service decides
// with, and prints both side by side. Reads MySQL (level table, file sizes); writes
// nothing, moves nothing. Exit 0 when done, 1 when the log or the candidate table is refused, 2 on
// bad usage or when it cannot run.

const DEFAULT_SIZE = 100 * 1024 * 1024;

const USAGE = `usage: npm run replay -- --views FILE [--levels FILE] [--hysteresis N|N%]
                            [--budget N/DURATION|off] [--residence DURATION]
                            [--policy count|rate] [--half-life DURATION] [--thresholds SPEC]
                            [--sweep-every DURATION|off] [--default-size BYTES] [--json]
  --views FILE        the view log: one {"cid", "count", "at"} per line (at: ISO time or epoch ms)
  --levels FILE       candidate level table: the body of PUT /v1/levels ({"levels": [...]}) or the array
  --hysteresis V      candidate TIERING_HYSTERESIS (views, or a percent of the boundary: 2%)
  --budget V          candidate TIERING_FLAP_BUDGET (4/1h, or off)
  --residence V       candidate TIERING_MIN_RESIDENCE_MS (milliseconds)
  --policy P          candidate TIERING_POLICY: count (by total views) or rate (by views per hour)
  --half-life D       candidate TIERING_RATE_HALF_LIFE (1m to 365d, e.g. 6h), with the rate policy
  --thresholds SPEC   candidate TIERING_RATE_THRESHOLDS in views per hour (silver=20/10,gold=100/50),
                      with the rate policy (required by it unless TIERING_RATE_THRESHOLDS is set)
  --sweep-every D     candidate RATE_SWEEP_EVERY (1m; off: demoted only at posts), with the rate policy
  --default-size B    bytes of a content whose size MySQL does not know (default ${DEFAULT_SIZE})
  --json              both results as JSON`;

const cli = parseCliArgs(USAGE, {
  views: { type: 'string' },
  levels: { type: 'string' },
  hysteresis: { type: 'string' },
  budget: { type: 'string' },
  residence: { type: 'string' },
  policy: { type: 'string' },
  'half-life': { type: 'string' },
  thresholds: { type: 'string' },
  'sweep-every': { type: 'string' },
  'default-size': { type: 'string', default: String(DEFAULT_SIZE) },
  json: { type: 'boolean', default: false },
});
const args = cli.values;
const usage: (problem: string) => never = cli.usage;
if (args.views === undefined) usage('--views FILE is required');
const viewsFile = args.views;
const defaultSize = cli.wholeNumber(
  'default-size',
  args['default-size'],
  0,
  Number.MAX_SAFE_INTEGER,
);

/** Exits 1 with `message` (a refused input file). */
function refuse(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** Reads the log, one JSON object per line; refuses a malformed line by its number. */
async function readViews(file: string): Promise<ViewEvent[]> {
  const events: ViewEvent[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n += 1;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        refuse(`${file}:${n}: not JSON`);
      }
      const { cid, count, at } = (value ?? {}) as Record<string, unknown>;
      const cidN = typeof cid === 'string' && /^\d+$/.test(cid) ? Number(cid) : cid;
      const countN = typeof count === 'string' && /^\d+$/.test(count) ? Number(count) : count;
      if (!Number.isSafeInteger(cidN) || (cidN as number) < 0) {
        refuse(`${file}:${n}: "cid" must be a whole number`);
      }
      if (!Number.isSafeInteger(countN) || (countN as number) < 0) {
        refuse(`${file}:${n}: "count" must be a whole number of views`);
      }
      const atMs = typeof at === 'number' ? at : typeof at === 'string' ? Date.parse(at) : NaN;
      if (!Number.isFinite(atMs))
        refuse(`${file}:${n}: "at" must be an ISO time or epoch milliseconds`);
      events.push({ cid: cidN as number, count: countN as number, at: atMs });
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') usage(`--views: no such file ${file}`);
    throw error;
  }
  // Logs of several gateways interleave: replay in time order (stable for equal times).
  return events.sort((a, b) => a.at - b.at);
}

/** The variable each candidate option stands for. */
const OPTION_VARIABLES = {
  hysteresis: 'TIERING_HYSTERESIS',
  budget: 'TIERING_FLAP_BUDGET',
  residence: 'TIERING_MIN_RESIDENCE_MS',
  policy: 'TIERING_POLICY',
  'half-life': 'TIERING_RATE_HALF_LIFE',
  thresholds: 'TIERING_RATE_THRESHOLDS',
  'sweep-every': 'RATE_SWEEP_EVERY',
} as const;

/**
 * The candidate settings: the variables in force with the options given, read by the same rules
 * (the runtime's fields, through the relocator's `loadConfig`). A refused value is bad usage
 * naming the option; so are rate options for a candidate that decides by count.
 */
function candidateSettings(): RelocatorConfig {
  const overrides: Record<string, string> = {};
  for (const [option, variable] of Object.entries(OPTION_VARIABLES)) {
    const value = args[option as keyof typeof OPTION_VARIABLES];
    if (value !== undefined) overrides[variable] = value;
  }
  let settings: RelocatorConfig;
  try {
    settings = loadConfig({ ...process.env, ...overrides });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The current settings loaded from the same environment: every issue comes from an option.
    const issues = error.issues.map((issue) => {
      const named = Object.entries(OPTION_VARIABLES).find(([, v]) => issue.startsWith(`${v}:`));
      return named === undefined
        ? issue
        : `--${named[0]} (${named[1]})${issue.slice(named[1].length)}`;
    });
    return usage(issues.join('\n'));
  }
  const rateOnly = (['half-life', 'thresholds', 'sweep-every'] as const).filter(
    (o) => args[o] !== undefined,
  );
  if ((settings.tiering.viewRate ?? null) === null && rateOnly.length > 0) {
    usage(
      `--${rateOnly.join(', --')}: the candidate decides by count (TIERING_POLICY=count); add --policy rate`,
    );
  }
  return settings;
}

/** The replay's sweep period for RATE_SWEEP_EVERY (`0`, off: no sweep). */
function sweepEvery(settings: RelocatorConfig): number | null {
  return settings.rateSweepEveryMs > 0 ? settings.rateSweepEveryMs : null;
}

function tableText(file: string, current: ReplayResult, candidate: ReplayResult): string {
  const pct = (share: number) => `${(share * 100).toFixed(1)}%`;
  const row = (name: string, f: (r: ReplayResult) => string) => [name, f(current), f(candidate)];
  return [
    `replay of ${file}: ${current.posts} posts, ${current.contents} contents`,
    `  current:   ${policyText(currentTiering, current.sweep?.everyMs ?? null)}${candidateLevels === null ? '' : ' (level table in force)'}`,
    `  candidate: ${policyText(candidateOptions, candidate.sweep?.everyMs ?? null)}${candidateLevels === null ? '' : ` (level table ${args.levels ?? ''})`}`,
    '',
    ...columns([
      ['', 'current', 'candidate'],
      row('moves', (r) => String(r.moves)),
      row('  promotions', (r) => String(r.promotions)),
      row('  demotions', (r) => String(r.demotions)),
      row('bytes moved', (r) => bytesText(r.bytesMoved)),
      row('prevented by hysteresis', (r) => String(r.prevented.hysteresis)),
      row('prevented by residence', (r) => String(r.prevented.residence)),
      row('prevented by flap budget', (r) => String(r.prevented['flap-budget'])),
      row('most moves of one content', (r) => String(r.maxMovesPerContent)),
      row('time off target', (r) => pct(r.offTargetShare)),
      ...(current.sweep || candidate.sweep
        ? [row('moves by the rate sweep', (r) => (r.sweep ? String(r.sweep.moves) : '-'))]
        : []),
    ]),
  ].join('\n');
}

loadEnvFile();
const config = configOrExit('replay', () => loadConfig(process.env));
const currentTiering = config.tiering;
const candidateConfig = candidateSettings();
const candidateOptions = candidateConfig.tiering;
const candidateLevels = args.levels === undefined ? null : await readLevelsFile(args.levels, usage);
const events = await readViews(viewsFile);

const db = createDb(config.databaseUrl, { connectionLimit: 2 });
let exitCode = 0;
try {
  const current = validateLevels(await listLevels(db));
  if (!current.ok) {
    throw new Error(
      `the level table in MySQL breaks the rules (${current.errors.map((v) => v.message).join('; ')}); fix it first`,
    );
  }
  const sizes = await contentSizes(db, [...new Set(events.map((e) => e.cid))]);
  const sizeOf = (cid: number) => sizes.get(cid) ?? defaultSize;
  const before = replayViews(
    events,
    { levels: current.levels, options: currentTiering, sweepEveryMs: sweepEvery(config) },
    sizeOf,
  );
  const after = replayViews(
    events,
    {
      levels: candidateLevels ?? current.levels,
      options: candidateOptions,
      sweepEveryMs: sweepEvery(candidateConfig),
    },
    sizeOf,
  );
  if (args.json) {
    const body = {
      views: viewsFile,
      current: { tiering: currentTiering, result: before },
      candidate: {
        tiering: candidateOptions,
        levels: candidateLevels === null ? null : candidateLevels,
        result: after,
      },
      sizes: { known: sizes.size, defaultBytes: defaultSize },
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`${tableText(viewsFile, before, after)}\n`);
  }
} catch (error) {
  process.stderr.write(
    `replay failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  exitCode = 2;
} finally {
  await db.destroy().catch(() => undefined);
}
process.exit(exitCode);
