/** A handler the bench can call in this child; its result goes back over IPC. */
export type Handler = (params: unknown) => Promise<unknown>;

interface CallMessage {
  type: 'call';
  id: number;
  method: string;
  params: unknown;
}

function isCall(value: unknown): value is CallMessage {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'call' &&
    typeof (value as { id?: unknown }).id === 'number'
  );
}

function send(message: unknown): void {
  if (process.send && process.connected) process.send(message);
}

/**
 * Makes this process a bench child: answers the bench's calls with `handlers`, and on SIGTERM,
 * SIGINT or when the bench goes away (IPC disconnect) runs `close` and exits 0, so a crashed or
 * interrupted bench never leaves a server behind (and `--cpu-prof` gets to write its profile).
 * Every child also answers `cpu`: its CPU time so far in microseconds.
 */
export function serveBench(handlers: Record<string, Handler>, close: () => Promise<void>): void {
  let closing = false;
  const shutdown = (): void => {
    if (closing) process.exit(1);
    closing = true;
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`close failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('disconnect', shutdown);
  const all: Record<string, Handler> = {
    // CPU time this process used so far (user + system), microseconds.
    cpu: () => {
      const usage = process.cpuUsage();
      return Promise.resolve(usage.user + usage.system);
    },
    ...handlers,
  };
  process.on('message', (message: unknown) => {
    if (!isCall(message)) return;
    const handler = all[message.method];
    if (!handler) {
      send({ type: 'reply', id: message.id, ok: false, error: `no method ${message.method}` });
      return;
    }
    handler(message.params).then(
      (value) => send({ type: 'reply', id: message.id, ok: true, value }),
      (error: unknown) =>
        send({
          type: 'reply',
          id: message.id,
          ok: false,
          error: error instanceof Error ? (error.stack ?? error.message) : String(error),
        }),
    );
  });
}

/** Tells the bench this child is ready, with what it needs to know (e.g. the URL). */
export function signalReady(data: Record<string, unknown> = {}): void {
  send({ type: 'ready', data });
}

/** Reads a required environment variable; exits with a message naming it when it is missing. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    process.stderr.write(`bench child: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}
