import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { BenchContext } from './context.ts';

/** A command MONITOR saw: who sent it (`ip:port`, or `lua` inside a script) and its arguments. */
export interface SeenCommand {
  source: string;
  args: string[];
}

/** Commands sent over the network vs run inside scripts, for this run's keys. */
export interface CommandCount {
  /** Commands from the connections that touched this run's keys (scripts' own calls excluded). */
  roundTrips: number;
  /** Commands scripts ran inside Redis on this run's keys (not round trips). */
  luaCalls: number;
  /** How many client connections those were. */
  connections: number;
  /** Round trips by command name (`evalsha` shows the script's name when ioredis sent it). */
  byName: Map<string, number>;
}

/**
 * Counts Redis commands with a MONITOR connection. `window(fn)` records every command Redis
 * executes while `fn` runs, then flushes the stream with an ECHO marker so none is missed.
 * MONITOR slows Redis down: never time anything inside a window.
 */
export class CommandMonitor {
  readonly #ctx: BenchContext;
  readonly #client: Redis;
  readonly #seen = new EventEmitter();
  #monitor: Redis | null = null;
  #buffer: SeenCommand[] | null = null;
  #marker: string | null = null;

  private constructor(ctx: BenchContext) {
    this.#ctx = ctx;
    this.#client = new Redis(ctx.redisUrl, { lazyConnect: true, maxRetriesPerRequest: null });
  }

  /** Opens the MONITOR connection. */
  static async open(ctx: BenchContext): Promise<CommandMonitor> {
    const counter = new CommandMonitor(ctx);
    await counter.#client.connect();
    const monitor = await counter.#client.monitor();
    counter.#monitor = monitor;
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (counter.#marker !== null && args[0]?.toLowerCase() === 'echo') {
        if (args[1] === counter.#marker) counter.#seen.emit('marker');
        return;
      }
      counter.#buffer?.push({ source, args });
    });
    return counter;
  }

  /** Runs `fn` and returns every command Redis ran meanwhile. */
  async window(fn: () => Promise<void>): Promise<SeenCommand[]> {
    const buffer: SeenCommand[] = [];
    this.#buffer = buffer;
    try {
      await fn();
      const marker = `bench-marker-${randomBytes(6).toString('hex')}`;
      this.#marker = marker;
      const flushed = once(this.#seen, 'marker');
      await this.#ctx.redis.echo(marker);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        flushed,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('MONITOR did not show the marker')), 5000);
        }),
      ]).finally(() => clearTimeout(timer));
    } finally {
      this.#buffer = null;
      this.#marker = null;
    }
    return buffer;
  }

  /**
   * Splits commands into round trips and script-internal calls. The connections counted are
   * those that sent a command naming `prefix` (the server's or worker's); the bench's own
   * connection sends nothing with the prefix inside a window.
   */
  count(commands: readonly SeenCommand[], prefix = this.#ctx.prefix): CommandCount {
    const ours = (c: SeenCommand) => c.args.some((a) => a.includes(prefix));
    const sources = new Set(
      commands.filter((c) => c.source !== 'lua' && ours(c)).map((c) => c.source),
    );
    const byName = new Map<string, number>();
    for (const c of commands) {
      if (!sources.has(c.source)) continue;
      const name = (c.args[0] ?? '?').toLowerCase();
      byName.set(name, (byName.get(name) ?? 0) + 1);
    }
    return {
      byName,
      roundTrips: commands.filter((c) => sources.has(c.source)).length,
      luaCalls: commands.filter((c) => c.source === 'lua' && ours(c)).length,
      connections: sources.size,
    };
  }

  /** Closes the MONITOR connection. */
  close(): void {
    this.#monitor?.disconnect();
    this.#client.disconnect();
  }
}

/** MariaDB/MySQL's server-wide count of statements sent by clients (`Questions`). */
export async function questions(ctx: BenchContext): Promise<number> {
  const { rows } = await sql<{
    Value: string;
  }>`SHOW GLOBAL STATUS LIKE 'Questions'`.execute(ctx.db);
  return Number(rows[0]?.Value ?? Number.NaN);
}

/** What reading `Questions` adds to it by itself (the smallest of a few back-to-back reads). */
export async function questionsOverhead(ctx: BenchContext): Promise<number> {
  let overhead = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const a = await questions(ctx);
    const b = await questions(ctx);
    overhead = Math.min(overhead, b - a);
  }
  return overhead;
}
