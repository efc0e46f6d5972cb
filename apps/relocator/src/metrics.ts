import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Outcome label of `relocator_moves_total`. */
export type MoveMetricOutcome =
  'moved' | 'already-moved' | 'noop' | 'delayed' | 'waiting' | 'retry' | 'failed';

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
  /** 1 while a tier's directory is present and marked for its level and database, else 0. */
  readonly tierUp: Gauge<'level'>;
  /** Storage faults moves met, by tier and code (`TIER_FULL`, `TIER_READ_ONLY`, …). */
  readonly tierFaults: Counter<'level' | 'code'>;
  /** Moves put to wait by a storage fault, by code and the tier at fault. */
  readonly waits: Counter<'code' | 'level'>;
  /** Cache entries the cache sweep found disagreeing with MySQL and corrected. */
  readonly cacheDrift: Counter;
  /** Contents whose latest count calls for another tier with nothing queued (last sweep). */
  readonly stuck: Gauge;
  /** 1 while this relocator backs off because Redis refuses writes (`full` or `readonly`). */
  readonly redisCondition: Gauge<'condition'>;
  /** Bytes on each tier (MySQL's usage counters, read at scrape; see {@link watchTierUsage}). */
  readonly tierBytes: Gauge<'level'>;
  /** Files on each tier (MySQL's usage counters, read at scrape). */
  readonly tierFiles: Gauge<'level'>;
  /** Capacity of each tier that has one, in bytes. */
  readonly tierCapacityBytes: Gauge<'level'>;
  /** Bytes above which a tier with a capacity takes no more moves (its high watermark). */
  readonly tierHighWatermarkBytes: Gauge<'level'>;
  /** Demotions the capacity sweep queued, by the tier they leave. */
  readonly capacityDemotions: Counter<'level'>;
  /** Moves the placement policy held back, by rule (`residence`, `flap-budget`). */
  readonly policyHolds: Counter<'rule'>;
  /** Demotions the rate sweep queued (view rates decayed below their level's threshold). */
  readonly rateSweepQueued: Counter;
  /** Moves per MySQL transaction of the group commit (1 with grouping off). */
  readonly commitGroupSize: Histogram;
  /** Group commits that failed as a whole and were committed one move at a time instead. */
  readonly commitGroupFallbacks: Counter;
}

/** One tier's usage and limits as the metrics show them. */
export interface TierUsageSample {
  level: string;
  files: number;
  bytes: number;
  capacityBytes: number | null;
  highBytes: number | null;
}

/** Creates the metrics with Node process metrics (`collectDefaultMetrics`) in a new registry. */
export function createRelocatorMetrics(): RelocatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    moves: new Counter({
      name: 'relocator_moves_total',
      help: 'Relocation job attempts by outcome (moved, already-moved, noop, delayed, waiting, retry, failed) and tier pair',
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
    tierUp: new Gauge({
      name: 'relocator_tier_up',
      help: "1 while a tier's directory exists and holds the marker of its level and database, else 0 (moves into and out of it wait)",
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    tierFaults: new Counter({
      name: 'relocator_tier_faults_total',
      help: 'Storage faults moves met on a tier, by code (TIER_FULL, TIER_READ_ONLY, TIER_DENIED, TIER_IO_ERROR, TIER_UNAVAILABLE)',
      labelNames: ['level', 'code'] as const,
      registers: [registry],
    }),
    cacheDrift: new Counter({
      name: 'relocator_cache_drift_total',
      help: 'Cache entries the cache sweep found disagreeing with MySQL (a change made outside the service) and corrected',
      registers: [registry],
    }),
    stuck: new Gauge({
      name: 'relocator_stuck_contents',
      help: 'Contents whose latest count calls for another tier while nothing is queued, running or delayed for them (last cache sweep)',
      registers: [registry],
    }),
    redisCondition: new Gauge({
      name: 'relocator_redis_condition',
      help: '1 while this relocator takes no jobs because Redis refuses writes: full (maxmemory) or readonly (a replica)',
      labelNames: ['condition'] as const,
      registers: [registry],
    }),
    waits: new Counter({
      name: 'relocator_waiting_moves_total',
      help: 'Moves put to wait (delayed with backoff, never failed) by a storage fault or by a target tier at its high watermark (code TIER_AT_HIGH_WATERMARK), by code and tier',
      labelNames: ['code', 'level'] as const,
      registers: [registry],
    }),
    tierBytes: new Gauge({
      name: 'relocator_tier_bytes',
      help: 'Bytes of the files on each tier (MySQL usage counters, kept on every commit)',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    tierFiles: new Gauge({
      name: 'relocator_tier_files',
      help: 'Files on each tier (MySQL usage counters, kept on every commit)',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    tierCapacityBytes: new Gauge({
      name: 'relocator_tier_capacity_bytes',
      help: 'Capacity of each tier that has one, in bytes',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    tierHighWatermarkBytes: new Gauge({
      name: 'relocator_tier_high_watermark_bytes',
      help: 'Bytes above which a tier takes no more moves and its coldest contents are demoted',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    policyHolds: new Counter({
      name: 'relocator_policy_holds_total',
      help: 'Moves the placement policy held back (delayed until allowed), by rule: residence or flap-budget',
      labelNames: ['rule'] as const,
      registers: [registry],
    }),
    capacityDemotions: new Counter({
      name: 'relocator_capacity_demotions_total',
      help: 'Demotions queued because a tier was above its high watermark, by the tier they leave',
      labelNames: ['level'] as const,
      registers: [registry],
    }),
    commitGroupSize: new Histogram({
      name: 'relocator_commit_group_size',
      help: 'Moves committed in one MySQL transaction (group commit)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers: [registry],
    }),
    commitGroupFallbacks: new Counter({
      name: 'relocator_commit_group_fallbacks_total',
      help: 'Group commits that failed as a whole (deadlock, lost connection) and were retried one move at a time',
      registers: [registry],
    }),
    rateSweepQueued: new Counter({
      name: 'relocator_rate_sweep_queued_total',
      help: 'Demotions queued by the rate sweep: contents whose view rate decayed below their level demote threshold with no post (TIERING_POLICY=rate)',
      registers: [registry],
    }),
  };
}

/**
 * Fills the tier usage gauges from `read` each time the registry is scraped (the counters live
 * in MySQL; a failed read keeps the last values and is logged by the caller's `onError`).
 */
export function watchTierUsage(
  metrics: RelocatorMetrics,
  read: () => Promise<TierUsageSample[]>,
  onError: (error: unknown) => void,
): void {
  const refresh = async (): Promise<void> => {
    let samples: TierUsageSample[];
    try {
      samples = await read();
    } catch (error) {
      onError(error);
      return;
    }
    for (const gauge of [
      metrics.tierBytes,
      metrics.tierFiles,
      metrics.tierCapacityBytes,
      metrics.tierHighWatermarkBytes,
    ]) {
      gauge.reset();
    }
    for (const sample of samples) {
      metrics.tierBytes.set({ level: sample.level }, sample.bytes);
      metrics.tierFiles.set({ level: sample.level }, sample.files);
      if (sample.capacityBytes !== null) {
        metrics.tierCapacityBytes.set({ level: sample.level }, sample.capacityBytes);
      }
      if (sample.highBytes !== null) {
        metrics.tierHighWatermarkBytes.set({ level: sample.level }, sample.highBytes);
      }
    }
  };
  // prom-client awaits a metric's `collect` before rendering it: one read serves every gauge.
  let pending: Promise<void> | null = null;
  const collect = async (): Promise<void> => {
    pending ??= refresh().finally(() => {
      pending = null;
    });
    await pending;
  };
  for (const gauge of [
    metrics.tierBytes,
    metrics.tierFiles,
    metrics.tierCapacityBytes,
    metrics.tierHighWatermarkBytes,
  ]) {
    (gauge as unknown as { collect: () => Promise<void> }).collect = collect;
  }
}

/** A running metrics server. */
export interface MetricsServer {
  /** The port it listens on (useful with port 0 in tests). */
  readonly port: number;
  close(): Promise<void>;
}

/** What `GET /readyz` of the relocator answers: ready, or why not (e.g. which tier is down). */
export interface Readiness {
  ready: boolean;
  /** Shown in the JSON body, e.g. `{ tiers: [{ level, code, message }] }`. */
  detail?: Record<string, unknown>;
}

/**
 * Serves `GET /metrics` (Prometheus text), `GET /healthz` (`{"status":"ok"}` while `healthy()`
 * is true, else 503) and `GET /readyz` (`{"status":"ready"}`, or 503 `{"status":"not ready", …}`
 * naming what is wrong, from `ready()`) on `host:port`; other paths answer 404.
 */
export async function startMetricsServer(
  registry: Registry,
  options: { port: number; host?: string; healthy?: () => boolean; ready?: () => Readiness },
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
    if (url === '/readyz') {
      const healthy = options.healthy?.() ?? true;
      const readiness = healthy
        ? (options.ready?.() ?? { ready: true })
        : { ready: false, detail: { reason: 'closing' } };
      res.writeHead(readiness.ready ? 200 : 503, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: readiness.ready ? 'ready' : 'not ready',
          ...(readiness.detail ?? {}),
        }),
      );
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
