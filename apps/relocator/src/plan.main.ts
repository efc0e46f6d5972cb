import { listLevels } from '@relocation/db';
import {
  MAX_PLAN_LIMIT,
  PLAN_DIRECTIONS,
  planRelocations,
  type PlannedMove,
  type RelocationPlan,
} from '@relocation/queue';
import { configOrExit, loadEnvFile, policyText } from '@relocation/runtime';
import { validateLevels } from '@relocation/tiering';
import { parseCliArgs } from './cli-args.ts';
import { readLevelsFile } from './cli-levels-file.ts';
import { bytesText, columns } from './cli-table.ts';
import { openCliBackends } from './cli-backends.ts';
import { loadConfig } from './config.ts';

// `npm run plan [-- --levels candidate.json] [--limit N] [--after CID] [--sizes all] [--json]`:
// the dry-run plan (the same function as `GET /v1/plan`, and with --levels as `POST /v1/plan`):
// the contents whose latest posted count calls for another tier, from the shared cache in one
// pass; nothing is written and no file moves. Prints totals per direction and a table (or JSON
// with --json). Exit 0 when done, 1 when the candidate table is refused (each level and rule is
// named), 2 on bad usage or when it cannot run (settings, MySQL or Redis unreachable).

const USAGE = `usage: npm run plan -- [--levels FILE] [--limit N] [--after CID] [--sizes page|all] [--json]
  --levels FILE   plan with this candidate level table instead of the one in force: the body of
                  PUT /v1/levels ({"levels": [...]}) or the array alone; checked, never stored
  --limit N       most contents to list, 1-${MAX_PLAN_LIMIT} (default 100)
  --after CID     list the contents after this cid (the next page)
  --sizes all     stat every planned content's file, not only the listed ones (exact byte totals)
  --json          the plan as JSON (the same object as GET /v1/plan)`;

const cli = parseCliArgs(USAGE, {
  levels: { type: 'string' },
  limit: { type: 'string', default: '100' },
  after: { type: 'string' },
  sizes: { type: 'string', default: 'page' },
  json: { type: 'boolean', default: false },
});
const args = cli.values;
// Annotated, so that a call narrows like any function that never returns.
const usage: (problem: string) => never = cli.usage;

const { wholeNumber } = cli;

const limit = wholeNumber('limit', args.limit, 1, MAX_PLAN_LIMIT);
const after =
  args.after === undefined ? null : wholeNumber('after', args.after, 0, Number.MAX_SAFE_INTEGER);
if (args.sizes !== 'page' && args.sizes !== 'all') {
  usage(`--sizes: expected page or all, got ${JSON.stringify(args.sizes)}`);
}
const sizes = args.sizes;
const levelsFile = args.levels;
const json = args.json;

const candidate = levelsFile === undefined ? null : await readLevelsFile(levelsFile, usage);

function boundaryText(move: PlannedMove): string {
  if (move.pinned) return `pinned to ${move.to}`;
  if (move.rate !== null) return `rate ${Math.round(move.rate * 100) / 100}/h`;
  const b = move.boundary;
  if (b === null) return `${move.from} is no level`;
  return b.edge === 'max' ? `above ${b.level} max ${b.count}` : `below ${b.level} min ${b.count}`;
}

function table(plan: RelocationPlan): string {
  const what =
    candidate === null ? 'the level table in force' : `candidate table ${levelsFile ?? ''}`;
  const lines = [
    `plan with ${what} (${policyText(config.tiering)}): ${plan.moves} of ${plan.scanned} cached contents would move (${plan.withoutCount} without a posted count; ${Math.round(plan.durationMs)} ms)`,
    ...columns([
      ['direction', 'contents', 'queued', 'bytes', 'sized'],
      ...PLAN_DIRECTIONS.map((direction) => {
        const t = plan.totals[direction];
        return [
          direction,
          String(t.contents),
          String(t.queued),
          bytesText(t.bytes),
          `${t.sized} of ${t.contents}`,
        ];
      }),
    ]).map((line) => `  ${line}`),
  ];
  if (plan.items.length > 0) {
    lines.push(
      '',
      ...columns([
        ['cid', 'file', 'from', 'to', 'count', 'boundary', 'bytes', 'queued'],
        ...plan.items.map((move) => [
          String(move.cid),
          move.filename,
          move.from,
          move.to,
          String(move.count),
          boundaryText(move),
          bytesText(move.bytes),
          move.jobId === null ? 'no' : `job ${move.jobId}`,
        ]),
      ]),
    );
  }
  if (plan.nextAfter !== null) {
    const levels = levelsFile === undefined ? '' : ` --levels ${levelsFile}`;
    lines.push(`(more: npm run plan --${levels} --after ${plan.nextAfter} --limit ${limit})`);
  }
  return lines.join('\n');
}

loadEnvFile();
const config = configOrExit('plan', () => loadConfig(process.env));
const backends = openCliBackends(config);

let exitCode = 0;
try {
  const current = validateLevels(await listLevels(backends.db));
  if (!current.ok) {
    throw new Error(
      `the level table in MySQL breaks the rules (${current.errors.map((v) => v.message).join('; ')}); fix it first`,
    );
  }
  const plan = await planRelocations(backends.cache, {
    levels: candidate ?? current.levels,
    locate: current.levels,
    tiering: config.tiering,
    limit,
    after,
    sizes,
  });
  if (json) {
    const body = {
      candidate: candidate !== null,
      ...plan,
      items: plan.items.map((move) => ({ ...move, queued: move.jobId !== null })),
      durationMs: Math.round(plan.durationMs),
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`${table(plan)}\n`);
  }
} catch (error) {
  process.stderr.write(`plan failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 2;
} finally {
  await backends.close();
}
process.exit(exitCode);
