import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { percentile } from './stats.ts';

/**
 * Client settings shared by every autocannon run, whatever the target: the same connections,
 * pipelining and timeout, so baselines and the gateway see the same load.
 */
export const LOAD_SETTINGS = Object.freeze({ connections: 50, pipelining: 1, timeoutSec: 10 });

/** A target of a load run: the request is rebuilt for every post with a fresh body. */
export interface LoadTarget {
  /** Base URL of the server. */
  url: string;
  path: string;
  contentType: string;
  /** Body of the next request (seeded generator: the same sequence every run). */
  body: () => string;
}

/** What a load run measured. */
export interface LoadResult {
  /** 2xx responses per second, from the first to the last response of the run. */
  reqPerSec: number;
  /** Latency percentiles of the 2xx responses, milliseconds (sub-millisecond resolution). */
  p50: number;
  p99: number;
  /** Responses that were not 2xx, and socket errors / timeouts. */
  non2xx: number;
  errors: number;
  total: number;
}

/**
 * Runs autocannon for `durationSec` against `target` with {@link LOAD_SETTINGS}.
 *
 * The rate is taken between the first and the last 2xx response rather than over the whole
 * duration: with big batches the first responses arrive a second or more after the start, and
 * requests still in flight at the end are dropped, which would bias slow targets downwards.
 * Latencies come from every response's own timing (autocannon's histogram rounds to whole ms).
 */
export async function runLoad(target: LoadTarget, durationSec: number): Promise<LoadResult> {
  const latencies: number[] = [];
  let first = 0;
  let last = 0;
  const instance = autocannon({
    url: target.url,
    connections: LOAD_SETTINGS.connections,
    pipelining: LOAD_SETTINGS.pipelining,
    timeout: LOAD_SETTINGS.timeoutSec,
    duration: durationSec,
    requests: [
      {
        method: 'POST',
        path: target.path,
        headers: { 'content-type': target.contentType },
        setupRequest: (request) => ({ ...request, body: target.body() }),
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    if (status < 200 || status > 299) return;
    const now = performance.now();
    if (latencies.length === 0) first = now;
    last = now;
    latencies.push(ms);
  });
  const result = await instance;
  const ok = latencies.length;
  const seconds = (last - first) / 1000;
  return {
    reqPerSec: ok > 1 && seconds > 0 ? (ok - 1) / seconds : ok / result.duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    total: ok + result.non2xx,
  };
}
