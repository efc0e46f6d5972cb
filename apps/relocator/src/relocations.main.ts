import { parseArgs } from 'node:util';
import {
  pauseRelocations,
  relocationsStatus,
  resumeRelocations,
  type RelocationsStatus,
} from '@relocation/queue';
import { configOrExit, loadEnvFile } from '@relocation/runtime';
import { cliActor } from './cli-actor.ts';
import { openCliBackends } from './cli-backends.ts';
import { loadConfig } from './config.ts';

// `npm run relocations -- status|pause|resume [--wait SECONDS] [--json]`: the operator's controls
// of every relocator at once (the same functions as `GET /v1/relocations`, `POST
// /v1/relocations/pause` and `/resume`). Prints a table (or JSON with --json). Exit 0 when done,
// 1 when a drain (`pause --wait`) ended with moves still active, 2 on bad usage or errors.

const USAGE = `usage: npm run relocations -- <command> [--json]
  status                  paused or not, active, waiting, delayed and failed moves, replicas
  pause [--wait SECONDS]  no relocator starts a new move (active ones finish); with --wait,
                          wait until no move is active (drain)
  resume                  relocators start moves again`;

let parsed;
try {
  parsed = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (parsed.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const [command, ...extra] = parsed.positionals;
if (!['status', 'pause', 'resume'].includes(command ?? '') || extra.length > 0) {
  process.stderr.write(`expected one command: status, pause or resume\n${USAGE}\n`);
  process.exit(2);
}
const waitText = parsed.values.wait;
if (waitText !== undefined && (command !== 'pause' || !/^\d{1,4}$/.test(waitText))) {
  process.stderr.write(`--wait: expected whole seconds (0-3600) after pause\n${USAGE}\n`);
  process.exit(2);
}
const waitMs = Math.min(3600, Number(waitText ?? 0)) * 1000;

loadEnvFile();
const config = configOrExit('relocations', () => loadConfig(process.env));
const backends = openCliBackends(config);

function table(status: RelocationsStatus & { drained?: boolean }): string {
  const lines = [
    `relocations ${status.paused ? 'PAUSED' : 'running'}`,
    `  active   ${status.active}${status.drained === undefined ? '' : status.drained ? ' (drained)' : ' (still active: not drained)'}`,
    `  waiting  ${status.waiting}`,
    `  delayed  ${status.delayed}`,
    `  failed   ${status.failed}`,
    `  replicas ${status.replicas.length}`,
    ...status.replicas.map(
      (r) =>
        `    ${r.name.padEnd(28)} ${r.addr.padEnd(22)} up ${r.ageSeconds} s, idle ${r.idleSeconds} s`,
    ),
  ];
  return lines.join('\n');
}

let exitCode = 0;
try {
  const audit = { db: backends.db, actor: cliActor() };
  const status =
    command === 'pause'
      ? await pauseRelocations(backends.queue, { waitMs, audit })
      : command === 'resume'
        ? await resumeRelocations(backends.queue, { audit })
        : await relocationsStatus(backends.queue);
  process.stdout.write(`${parsed.values.json ? JSON.stringify(status, null, 2) : table(status)}\n`);
  if ('drained' in status && waitMs > 0 && !status.drained) exitCode = 1;
} catch (error) {
  process.stderr.write(
    `relocations ${command ?? ''} failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  exitCode = 2;
} finally {
  await backends.close();
}
process.exit(exitCode);
