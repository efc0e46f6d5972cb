import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import os from 'node:os';
import { Redis } from 'ioredis';
import { freePort } from './net.ts';

/** A `redis-server` child of the test, on a port of its own, with nothing persisted. */
export interface RedisServer {
  port: number;
  url: string;
  /** A connection for the test itself (CONFIG, INFO, filling). */
  client: Redis;
  child: ChildProcess;
  /** Closes the client and kills the server (safe to call twice). */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` on a free port with `--save '' --appendonly no` plus `args`, and resolves
 * once it answers PING.
 */
export async function startRedisServer(args: string[] = []): Promise<RedisServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      os.tmpdir(),
      ...args,
    ],
    { stdio: 'ignore' },
  );
  const exited = once(child, 'exit');
  // Reconnects every 50 ms until the server listens.
  const client = new Redis({
    port,
    host: '127.0.0.1',
    maxRetriesPerRequest: 1,
    retryStrategy: () => 50,
  });
  client.on('error', () => undefined);
  const stop = async (): Promise<void> => {
    client.disconnect();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  };
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      const answered = await client.ping().then(
        (reply) => reply === 'PONG',
        () => false,
      );
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, url: `redis://127.0.0.1:${port}`, client, child, stop };
}
