import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome label of `relocator_moves_total`. */
export type MoveMetricOutcome = 'moved' | 'already-moved' | 'noop' | 'delayed' | 'retry' | 'failed';

/** The relocator's Prometheus metrics, in a registry of their own. */
export interface RelocatorMetrics {
  readonly registry: Registry;
  /** Finished job attempts by outcome and tier pair (`from`/`to` empty when unknown). */
  readonly moves: Counter<'outcome' | 'from' | 'to'>;
  /** Bytes of files moved (renamed or copied) to another tier. */
  readonly bytesMoved: Counter;
  /** Seconds a file move took (rename, or copy + verify + place). */
  readonly moveDuration: Histogram;
  /** Jobs this process is running now. */
  readonly activeJobs: Gauge;
  /** Drift found by the last reconcile run of this process, by kind. */
  readonly drift: Gauge<'kind'>;
}

/** Creates the metrics with Node process metrics (`collectDefaultMetrics`) in a new registry. */
export function createRelocatorMetrics(): RelocatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    moves: new Counter({
      name: 'relocator_moves_total',
      help: 'Relocation job attempts by outcome (moved, already-moved, noop, delayed, retry, failed) and tier pair',
      labelNames: ['outcome', 'from', 'to'] as const,
      registers: [registry],
    }),
    bytesMoved: new Counter({
      name: 'relocator_bytes_moved_total',
      help: 'Bytes of files moved to another tier',
      registers: [registry],
    }),
    moveDuration: new Histogram({
      name: 'relocator_move_duration_seconds',
      help: 'Time a file move took: a rename, or a copy with flush, verification and placement',
      buckets: [0.005, 0.05, 0.25, 1, 5, 15, 60, 300, 1200, 3600],
      registers: [registry],
    }),
    activeJobs: new Gauge({
      name: 'relocator_active_jobs',
      help: 'Relocation jobs this process is running',
      registers: [registry],
    }),
    drift: new Gauge({
      name: 'relocator_drift',
      help: 'Disagreements between MySQL and the tier directories found by the last reconcile run, by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0 in tests). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` (Prometheus text) and `GET /healthz` (`{"status":"ok"}` while `healthy()`
 * is true, else 503) on `host:port`; other paths answer 404.
 */
export async function startMetricsServer(
  registry: Registry,
  options: { port: number; host?: string; healthy?: () => boolean },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed\n'),
      );
      return;
    }
    if (url === '/healthz') {
      const ok = options.healthy?.() ?? true;
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: ok ? 'ok' : 'closing' }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  server.listen(options.port, options.host ?? '0.0.0.0');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
