import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Cluster } from 'ioredis';
import type { ChildHandle } from './children.ts';
import type { BenchContext } from './context.ts';

/** CPU time so far of the processes a measurement involves, microseconds. */
export interface CpuSnapshot {
  /** The server or worker child. */
  child: number;
  /** Redis (every thread; server-wide, so other clients add to it). */
  redis: number;
  /** mysqld / mariadbd when it runs on this machine, else null (other clients add to it). */
  mysql: number | null;
}

/**
 * Redis's CPU time so far (used_cpu_user + used_cpu_sys of INFO cpu), microseconds; on a
 * cluster, the sum over its masters.
 */
export async function redisCpuUs(ctx: BenchContext): Promise<number> {
  const nodes = ctx.redis instanceof Cluster ? ctx.redis.nodes('master') : [ctx.redis];
  let total = 0;
  for (const node of nodes) {
    const text = await node.info('cpu');
    const field = (name: string) =>
      Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
    total += (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
  }
  return total;
}

let mysqlPid: number | null | undefined;

/** The local MySQL/MariaDB server's pid, if there is one (looked up once). */
function findMysqlPid(): number | null {
  if (mysqlPid !== undefined) return mysqlPid;
  mysqlPid = null;
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const out = execFileSync('pgrep', ['-x', '-o', name], { encoding: 'utf8' }).trim();
      if (out !== '') {
        mysqlPid = Number(out);
        break;
      }
    } catch {
      // not running under this name
    }
  }
  return mysqlPid;
}

/** CPU time of a local process from /proc (utime + stime), microseconds; null when unknown. */
function procCpuUs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime), counted after the command name; clock ticks.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks / 100) * 1e6;
  } catch {
    return null;
  }
}

/** Reads the CPU time of `child`, Redis and the local MySQL server. */
export async function cpuSnapshot(ctx: BenchContext, child: ChildHandle): Promise<CpuSnapshot> {
  return {
    child: await child.call<number>('cpu'),
    redis: await redisCpuUs(ctx),
    mysql: procCpuUs(findMysqlPid()),
  };
}

/** CPU microseconds per item between two snapshots. */
export function cpuPer(a: CpuSnapshot, b: CpuSnapshot, items: number): CpuSnapshot {
  const n = Math.max(1, items);
  return {
    child: (b.child - a.child) / n,
    redis: (b.redis - a.redis) / n,
    mysql: a.mysql === null || b.mysql === null ? null : (b.mysql - a.mysql) / n,
  };
}
