import { listLevels, readLevelUsage } from '@relocation/db';
import { configOrExit, loadEnvFile } from '@relocation/runtime';
import { validateLevels, type Level } from '@relocation/tiering';
import pino from 'pino';
import { sweepCapacity, type CapacitySweepLevel } from './capacity-sweep.ts';
import { parseCliArgs } from './cli-args.ts';
import { openCliBackends } from './cli-backends.ts';
import { bytesText, columns } from './cli-table.ts';
import { loadConfig } from './config.ts';

// `npm run levels [-- --json] [--sweep]`: the level table with each tier's usage (files, bytes,
// reserved, capacity, watermarks, percent: the same figures as `GET /v1/levels`, from MySQL's
// counters, no directory walked); with --sweep it first runs the capacity sweep the relocators
// run every CAPACITY_SWEEP_EVERY and prints what it queued. Exit 0 when done, 2 on bad usage or
// when it cannot run (settings, MySQL or Redis unreachable).

const USAGE = `usage: npm run levels -- [--sweep] [--json]
  --sweep   run the capacity sweep now: demote the coldest contents of tiers above their high
            watermark (and colder contents in the way of hotter ones waiting for space)
  --json    print {levels, usage[, sweep]} as JSON (levels and usage as GET /v1/levels)`;

const cli = parseCliArgs(USAGE, {
  sweep: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
});
const { sweep, json } = cli.values;

function range(level: Level): string {
  return level.maxCount === null ? `${level.minCount}+` : `${level.minCount}-${level.maxCount}`;
}

function sweepLines(report: readonly CapacitySweepLevel[]): string[] {
  if (report.length === 0) return ['capacity sweep: no level has a capacity'];
  return report.map((entry) => {
    const what =
      entry.demoted > 0
        ? `${entry.demoted} demotions queued (${bytesText(entry.demotedBytes)})`
        : 'nothing to demote';
    const state =
      entry.state === 'over'
        ? `above its high watermark (${bytesText(entry.usedBytes)} > ${bytesText(entry.highBytes)})`
        : entry.waiting > 0
          ? `${entry.waiting} moves waiting for space`
          : 'below its high watermark';
    const inFlight =
      entry.inFlightBytes > 0 ? `; ${bytesText(entry.inFlightBytes)} already being demoted` : '';
    const shortfall = entry.shortfall === null ? '' : `; ${entry.shortfall}`;
    return `capacity sweep: ${entry.level} ${state}: ${what}${inFlight}${shortfall}`;
  });
}

loadEnvFile();
const config = configOrExit('levels', () => loadConfig(process.env));
const backends = openCliBackends(config);

let exitCode = 0;
try {
  let report: CapacitySweepLevel[] | null = null;
  if (sweep) {
    report = await sweepCapacity({
      db: backends.db,
      cache: backends.cache,
      queue: backends.queue,
      logger: pino({ level: 'silent' }),
    });
  }
  const checked = validateLevels(await listLevels(backends.db));
  if (!checked.ok) {
    throw new Error(
      `the level table in MySQL breaks the rules (${checked.errors.map((v) => v.message).join('; ')}); fix it with PUT /v1/levels`,
    );
  }
  const levels = checked.levels;
  const usage = await readLevelUsage(backends.db, levels);
  if (json) {
    const body = { levels, usage, ...(report === null ? {} : { sweep: report }) };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    const rows = levels.map((level) => {
      const u = usage[level.name];
      const state =
        u === undefined || u.capacityBytes === null
          ? ''
          : u.aboveHighWatermark
            ? 'ABOVE HIGH WATERMARK'
            : 'ok';
      return [
        level.name,
        range(level),
        level.path,
        String(u?.files ?? 0),
        bytesText(u?.bytes ?? 0),
        bytesText(u?.reservedBytes ?? 0),
        bytesText(u?.capacityBytes ?? null),
        u?.highWatermarkBytes == null
          ? '-'
          : `${level.highWatermark ?? '-'}% ${bytesText(u.highWatermarkBytes)}`,
        u?.lowWatermarkBytes == null
          ? '-'
          : `${level.lowWatermark ?? '-'}% ${bytesText(u.lowWatermarkBytes)}`,
        u?.percent == null ? '-' : `${u.percent.toFixed(1)}%`,
        state,
      ];
    });
    const lines = [
      ...(report === null ? [] : [...sweepLines(report), '']),
      ...columns([
        [
          'level',
          'counts',
          'path',
          'files',
          'bytes',
          'reserved',
          'capacity',
          'high',
          'low',
          'used',
          'state',
        ],
        ...rows,
      ]),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
} catch (error) {
  process.stderr.write(
    `levels failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  exitCode = 2;
} finally {
  await backends.close();
}
process.exit(exitCode);
