import { parseArgs } from 'node:util';
import {
  ContentAdminError,
  clearPendingMove,
  pinContent,
  requeueContent,
  setContentLevel,
  unpinContent,
  type ClearPendingResult,
  type ContentAdminDeps,
  type PinResult,
  type RequeueResult,
  type SetLevelResult,
  type UnpinResult,
} from '@relocation/queue';
import { configOrExit, loadEnvFile } from '@relocation/runtime';
import { cliActor } from './cli-actor.ts';
import { openCliBackends } from './cli-backends.ts';
import { loadConfig } from './config.ts';

// `npm run content -- <command> <cid> [<level>] [--until ISO] [--reason text] [--json]`: the operator's commands on one content
// (the same functions as the gateway's admin routes), so that no repair needs SQL. Prints one
// line (or JSON with --json). Exit 0 when done, 1 when refused (the line says why and what to
// do), 2 on bad usage or when it cannot run (settings, MySQL or Redis unreachable).

const USAGE = `usage: npm run content -- <command> [--json]
  set-level <cid> <level>   record that the content's file is on <level> (after moving it by hand)
  requeue <cid>             queue the content's relocation from its latest count
  clear-pending <cid>       clear a stuck pending move, after checking both tiers' files
  pin <cid> <level> [--until ISO] [--reason text]
                            keep the content on <level> whatever its counts say (until released)
  unpin <cid> [--reason text]
                            release its pin: its latest count decides again`;

function usage(problem: string): never {
  process.stderr.write(`${problem}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      until: { type: 'string' },
      reason: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
} catch (error) {
  usage((error as Error).message);
}
if (parsed.values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
/** The commands, and the arguments each takes after its name. */
const COMMANDS = {
  'set-level': ['<cid>', '<level>'],
  requeue: ['<cid>'],
  'clear-pending': ['<cid>'],
  pin: ['<cid>', '<level>'],
  unpin: ['<cid>'],
};
type Command = keyof typeof COMMANDS;

const [name, cidText, level] = parsed.positionals;
if (name === undefined) usage('missing command');
if (!Object.hasOwn(COMMANDS, name)) usage(`unknown command ${JSON.stringify(name)}`);
const command = name as Command;
if (parsed.positionals.length !== COMMANDS[command].length + 1) {
  usage(`${command}: expected ${COMMANDS[command].join(' ')}`);
}
const cid = /^\d+$/.test(cidText ?? '') ? Number(cidText) : NaN;
if (!Number.isSafeInteger(cid))
  usage(`cid: expected a whole number, got ${JSON.stringify(cidText)}`);
const json = parsed.values.json;
const untilText = parsed.values.until;
const reasonText = parsed.values.reason;
if (untilText !== undefined && command !== 'pin') usage('--until: only pin takes it');
if (reasonText !== undefined && command !== 'pin' && command !== 'unpin') {
  usage('--reason: only pin and unpin take it');
}
const until = untilText === undefined || untilText === 'never' ? null : new Date(untilText);
if (until !== null && Number.isNaN(until.getTime())) {
  usage(`--until: expected an ISO 8601 date-time, got ${JSON.stringify(untilText)}`);
}

loadEnvFile();
const config = configOrExit('content', () => loadConfig(process.env));

const backends = openCliBackends(config);
const deps: ContentAdminDeps = {
  db: backends.db,
  queue: backends.queue,
  cache: backends.cache,
  journal: backends.journal,
  tiering: config.tiering,
};

const actor = cliActor();

function setLevelLine(r: SetLevelResult): string {
  const copies =
    r.otherCopies.length > 0
      ? `; other copies remain at ${r.otherCopies.join(' and ')} (\`npm run reconcile\`)`
      : '';
  const target =
    r.target !== null && r.target !== r.level
      ? `; its latest count calls for ${r.target}: the next post or \`npm run content -- requeue ${r.cid}\` moves it there`
      : '';
  return r.changed
    ? `content ${r.cid}: level set to ${r.level} (was ${r.previousLevel}), file ${r.path}, history row ${r.historyId}${copies}${target}`
    : `content ${r.cid} is already on ${r.level} (file ${r.path}); nothing changed${copies}${target}`;
}

function requeueLine(r: RequeueResult): string {
  if (r.kind === 'on-target') {
    return `content ${r.cid} is already on its target ${r.level} (count ${r.count}); nothing queued`;
  }
  return r.reason === 'move'
    ? `content ${r.cid}: job ${r.jobId} queued to move it from ${r.from} to ${r.target} (count ${r.count})`
    : `content ${r.cid}: job ${r.jobId} queued to finish its pending move (it stays on ${r.target}, count ${r.count})`;
}

function clearLine(r: ClearPendingResult): string {
  const head = `content ${r.cid}: pending move ${r.move.from} → ${r.move.to} cleared; the file is at ${r.path} (${r.level})`;
  if (r.mysqlLevel === null) return `${head}; the content no longer exists in MySQL`;
  if (r.next === null) return `${head}, which MySQL says too`;
  return `${head}, but MySQL says ${r.mysqlLevel}: run ${r.next}`;
}

function pinLine(r: PinResult): string {
  const until = r.pin.until === null ? 'until released' : `until ${r.pin.until.toISOString()}`;
  const move =
    r.jobId === null
      ? `it is on ${r.level}`
      : `job ${r.jobId} queued to move it from ${r.level} to ${r.pin.level}`;
  const replaced = r.previous === null ? '' : ` (replaces its pin to ${r.previous.level})`;
  return `content ${r.cid}: pinned to ${r.pin.level} ${until}${replaced}; ${move}`;
}

function unpinLine(r: UnpinResult): string {
  if (r.kind === 'not-pinned') return `content ${r.cid} was not pinned; nothing changed`;
  const next =
    r.jobId !== null
      ? `its count ${r.count} calls for ${r.target}: job ${r.jobId} queued to move it from ${r.level}`
      : `it stays on ${r.level} (count ${r.count})`;
  return `content ${r.cid}: pin to ${r.pin.level} released; ${next}`;
}

async function runCommand(): Promise<{ result: unknown; line: string }> {
  switch (command) {
    case 'set-level': {
      const result = await setContentLevel(deps, cid, level ?? '', { actor });
      return { result, line: setLevelLine(result) };
    }
    case 'requeue': {
      const result = await requeueContent(deps, cid, { actor });
      return { result, line: requeueLine(result) };
    }
    case 'clear-pending': {
      const result = await clearPendingMove(deps, cid, { actor });
      return { result, line: clearLine(result) };
    }
    case 'pin': {
      const reason = reasonText ?? `pinned from the command line by ${actor}`;
      const result = await pinContent(deps, cid, { level: level ?? '', until, reason }, { actor });
      return { result, line: pinLine(result) };
    }
    case 'unpin': {
      const result = await unpinContent(deps, cid, {
        actor,
        detail: reasonText ?? null,
      });
      return { result, line: unpinLine(result) };
    }
  }
}

let exitCode = 0;
try {
  const { result, line } = await runCommand();
  process.stdout.write(json ? `${JSON.stringify({ ok: true, command, result })}\n` : `${line}\n`);
} catch (error) {
  if (error instanceof ContentAdminError) {
    exitCode = 1;
    if (json) {
      const body = { ok: false, command, code: error.code, message: error.message };
      process.stdout.write(`${JSON.stringify(body)}\n`);
    } else {
      process.stderr.write(`refused (${error.code}): ${error.message}\n`);
    }
  } else {
    exitCode = 2;
    process.stderr.write(
      `${command} failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  }
} finally {
  await backends.close();
}
process.exit(exitCode);
