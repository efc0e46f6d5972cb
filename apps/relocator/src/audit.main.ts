import { createDb, listAudit, pruneAudit, type AuditRecord } from '@relocation/db';
import {
  baseEnvSchema,
  configOrExit,
  loadEnv,
  loadEnvFile,
  parseDuration,
} from '@relocation/runtime';
import { cliActor } from './cli-actor.ts';
import { parseCliArgs } from './cli-args.ts';

// `npm run audit [-- --limit N] [--before ID] [--action A] [--actor WHO] [--json]`: prints the
// audit log of admin actions, newest first (the same entries as `GET /v1/audit`), reading MySQL
// only. `--prune-older-than <duration>` deletes older entries instead (and records that it did).
// Exit 0 when done, 2 on bad usage or when it cannot run (settings, MySQL unreachable).

const USAGE = `usage: npm run audit -- [--limit N] [--before ID] [--action ACTION] [--actor WHO] [--json]
       npm run audit -- --prune-older-than <duration of at least 1d, e.g. 365d>
  --limit N       most entries to print, 1-1000 (default 100)
  --before ID     only entries older than entry ID (the next page)
  --action NAME   only this action (levels.replace, content.set-level, content.requeue, …)
  --actor WHO     only this actor (admin:<user>, cli:<login>)
  --json          one JSON object {"items": [...]} instead of a table`;

const DAY_MS = 24 * 60 * 60 * 1000;

const cli = parseCliArgs(USAGE, {
  limit: { type: 'string', default: '100' },
  before: { type: 'string' },
  action: { type: 'string' },
  actor: { type: 'string' },
  json: { type: 'boolean', default: false },
  'prune-older-than': { type: 'string' },
});
const args = cli.values;
// Annotated, so that a call narrows like any function that never returns.
const usage: (problem: string) => never = cli.usage;

const { wholeNumber } = cli;

const limit = wholeNumber('limit', args.limit, 1, 1000);
const beforeId =
  args.before === undefined
    ? undefined
    : wholeNumber('before', args.before, 1, Number.MAX_SAFE_INTEGER);
let pruneMs: number | null = null;
if (args['prune-older-than'] !== undefined) {
  pruneMs = parseDuration(args['prune-older-than']);
  if (pruneMs === null || pruneMs < DAY_MS) {
    usage('--prune-older-than: expected a duration of at least 1d, such as 90d or 365d');
  }
}

loadEnvFile();
const { DATABASE_URL } = configOrExit('audit', () =>
  loadEnv(baseEnvSchema.pick({ DATABASE_URL: true }), process.env),
);

/** A JSON value on one line, cut to `max` characters. */
function brief(value: unknown, max = 100): string {
  const text = value === null || value === undefined ? '-' : JSON.stringify(value);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function table(items: readonly AuditRecord[]): string {
  if (items.length === 0) return 'no audit entries';
  const rows = items.map((e) => [
    String(e.id),
    e.at.toISOString(),
    e.actor,
    e.action,
    e.target ?? '-',
    `${brief(e.before)} → ${brief(e.after)}${e.detail === null ? '' : `  (${e.detail})`}`,
  ]);
  const head = ['id', 'at', 'actor', 'action', 'target', 'before → after'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [line(head), ...rows.map(line)];
  const last = items.at(-1);
  if (items.length === limit && last !== undefined) {
    out.push(`(more: npm run audit -- --before ${last.id} --limit ${limit})`);
  }
  return out.join('\n');
}

const db = createDb(DATABASE_URL, { connectionLimit: 1 });
let exitCode = 0;
try {
  if (pruneMs !== null) {
    const olderThan = new Date(Date.now() - pruneMs);
    const deleted = await pruneAudit(db, olderThan, { actor: cliActor() });
    process.stdout.write(
      args.json
        ? `${JSON.stringify({ deleted, olderThan: olderThan.toISOString() })}\n`
        : `deleted ${deleted} audit entries older than ${olderThan.toISOString()}\n`,
    );
  } else {
    const items = await listAudit(db, {
      limit,
      beforeId,
      action: args.action,
      actor: args.actor,
    });
    process.stdout.write(
      args.json
        ? `${JSON.stringify({ items: items.map((e) => ({ ...e, at: e.at.toISOString() })) })}\n`
        : `${table(items)}\n`,
    );
  }
} catch (error) {
  process.stderr.write(`audit failed: ${error instanceof Error ? error.message : String(error)}\n`);
  exitCode = 2;
} finally {
  await db.destroy().catch(() => undefined);
}
process.exit(exitCode);
