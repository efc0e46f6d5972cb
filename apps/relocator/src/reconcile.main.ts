import { parseArgs } from 'node:util';
import { configOrExit, loadEnvFile, parseDuration } from '@relocation/runtime';
import { openCliBackends } from './cli-backends.ts';
import { loadConfig } from './config.ts';
import { DRIFT_KINDS, fixDrift, reconcile, type FixAction } from './reconcile.ts';

// `npm run reconcile [-- --fix] [--json] [--check] [--temp-min-age 1h]`: compares MySQL with the
// tier directories (and the usage counters with a recount) and prints the drift; --fix queues the
// moves that bring files to where MySQL says, records file sizes and recounts tier usage (see
// fixDrift). Exit 0 when done (with --check: 1 when drift was found), 2 on errors.

const USAGE =
  'usage: npm run reconcile [-- --fix] [--json] [--check] [--temp-min-age <duration, e.g. 1h>]';

let args;
try {
  args = parseArgs({
    options: {
      fix: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
      'temp-min-age': { type: 'string', default: '1h' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (args.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const tempMinAgeMs = parseDuration(args['temp-min-age']);
if (tempMinAgeMs === null) {
  process.stderr.write(`--temp-min-age: expected a duration such as 30m or 1h\n${USAGE}\n`);
  process.exit(2);
}

loadEnvFile();
const config = configOrExit('reconcile', () => loadConfig(process.env));

const backends = openCliBackends(config);
const { db, queue, journal, cache } = backends;

let exitCode = 0;
try {
  const report = await reconcile({
    db,
    queue,
    journal,
    cache,
    tiering: config.tiering,
  });
  let actions: FixAction[] = [];
  if (args.fix) actions = await fixDrift({ db, queue, cache, journal }, report, { tempMinAgeMs });
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ ...report, actions }, null, 2)}\n`);
  } else {
    const out: string[] = [
      `scanned ${report.contents} contents and ${report.files} files on ${report.levels} tiers`,
    ];
    for (const d of report.drift) {
      const who = d.cid === null ? d.filename : `cid ${d.cid} (${d.filename})`;
      const expected = d.expected ? `, expected at ${d.expected}` : '';
      const found = d.found.length > 0 ? `, found at ${d.found.join(' and ')}` : '';
      const detail = d.detail ? `: ${d.detail}` : '';
      out.push(
        `  ${d.kind.padEnd(9)} ${who}${expected}${found}${d.inFlight ? ' [relocation in flight]' : ''}${detail}`,
      );
    }
    for (const a of actions) {
      const who = a.drift.cid === null ? a.drift.filename : `cid ${a.drift.cid}`;
      out.push(`  fix: ${a.action.padEnd(9)} ${a.drift.kind} ${who}: ${a.reason}`);
    }
    const summary = DRIFT_KINDS.map((k) => `${k} ${report.counts[k]}`).join(', ');
    out.push(report.drift.length === 0 ? 'no drift' : `drift: ${summary}`);
    if (!args.fix && report.drift.length > 0) out.push('run with --fix to make the repairs');
    process.stdout.write(`${out.join('\n')}\n`);
  }
  if (args.check && report.drift.length > 0) exitCode = 1;
} catch (error) {
  process.stderr.write(
    `reconcile failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  exitCode = 2;
} finally {
  await backends.close();
}
process.exit(exitCode);
