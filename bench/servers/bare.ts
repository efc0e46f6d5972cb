// Baseline servers of the ingest benchmarks: bare Fastify routes, no validation, no logging.
//   POST /bare/ok        answers 200                                    (baseline a)
//   POST /bare/hset      one ioredis HSET of the posted count           (baseline b)
//   POST /bare/pipeline  a JSON array of counts: one pipeline of HSETs  (batched baseline)
// Bodies may be JSON or forms, like the gateway's. The Redis client is a plain ioredis client
// with default options, so tuning the gateway's connection shows up against a fixed baseline.
// Env: REDIS_URL, BENCH_PREFIX.
import formbody from '@fastify/formbody';
import Fastify from 'fastify';
import { Redis } from 'ioredis';
import { requireEnv, serveBench, signalReady } from './ipc.ts';

interface Report {
  cid: string | number;
  count: string | number;
}

const redis = new Redis(requireEnv('REDIS_URL'), { connectionName: 'bench-bare' });
const keyPrefix = `${requireEnv('BENCH_PREFIX')}:bare:cid:`;
const app = Fastify({ logger: false });
await app.register(formbody);

app.post('/bare/ok', () => Promise.resolve({ status: 'done' }));

app.post('/bare/hset', async (request) => {
  const { cid, count } = request.body as Report;
  await redis.hset(keyPrefix + String(cid), 'count', String(count));
  return { status: 'done' };
});

app.post('/bare/pipeline', async (request) => {
  const items = request.body as Report[];
  const pipeline = redis.pipeline();
  for (const { cid, count } of items)
    pipeline.hset(keyPrefix + String(cid), 'count', String(count));
  await pipeline.exec();
  return { items: items.length };
});

await redis.ping();
const url = await app.listen({ port: 0, host: '127.0.0.1' });
serveBench({}, async () => {
  await app.close();
  await redis.quit();
});
signalReady({ url });
