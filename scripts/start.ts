/**
 * `npm start`: the whole service in one process for a developer machine. Prepares MySQL and the
 * tier directories (see `npm run setup`), then runs the gateway and one relocator together.
 * Ctrl-C stops both gracefully; a second Ctrl-C forces the exit. An unexpected error (a bug) in
 * either is logged with the relocator's active jobs, stops both the same way and exits 70.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import {
  loadConfig as loadGatewayConfig,
  startGateway,
  type GatewayHandle,
} from '@relocation/gateway';
import {
  loadConfig as loadRelocatorConfig,
  startRelocator,
  type RelocatorHandle,
} from '@relocation/relocator';
import {
  configOrExit,
  installCrashPolicy,
  loadEnvFile,
  loadSetupSettings,
  loadTogether,
  logTransportFor,
} from '@relocation/runtime';
import { createWorkerRedis, type RedisTarget } from '@relocation/queue';
import { pino } from 'pino';
import { prepareService } from './lib/prepare.ts';
import { describeUnreachable, describeUnreachableRedis, redisAddress } from './lib/unreachable.ts';

function fail(message: string): never {
  console.error(message);
  process.exit(1);
}

async function checkRedis(target: RedisTarget): Promise<void> {
  // The apps' own connection factory, so a cluster is reached as the apps reach it; one try.
  const redis = createWorkerRedis(target, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    fail(
      describeUnreachableRedis(target, error) ??
        `Redis at ${redisAddress(target)} answered with an error: ${(error as Error).message}`,
    );
  } finally {
    redis.disconnect();
  }
}

loadEnvFile();
const env: Record<string, string | undefined> = { ...process.env };
let generatedPassword = false;
if (!env.ADMIN_USER && !env.ADMIN_PASSWORD) {
  // No built-in default password: a fresh one for this run, printed below.
  env.ADMIN_USER = 'admin';
  env.ADMIN_PASSWORD = randomBytes(12).toString('base64url');
  generatedPassword = true;
}

// Every bad variable of the three at once; a shared one is named once, as both apps read it alike.
const [gatewayConfig, relocatorConfig, setup] = configOrExit('start', () =>
  loadTogether(
    () => loadGatewayConfig(env),
    () => loadRelocatorConfig(env),
    () => loadSetupSettings(env),
  ),
);

const dataDir = path.resolve(setup.dataDir);
await checkRedis(gatewayConfig);
let prepared: Awaited<ReturnType<typeof prepareService>>;
try {
  prepared = await prepareService({
    databaseUrl: gatewayConfig.databaseUrl,
    dataDir,
    sampleContents: setup.sampleContents,
  });
} catch (error) {
  fail(
    describeUnreachable('MySQL', gatewayConfig.databaseUrl, error) ??
      `Preparing the database failed: ${error instanceof Error ? error.message : String(error)}`,
  );
}

// Readable lines on a terminal, JSON lines when piped (`npm start | tee`, a supervisor).
const logger = pino({ level: gatewayConfig.logLevel, transport: logTransportFor(process.stdout) });
let gateway: GatewayHandle | undefined;
let relocator: RelocatorHandle | undefined;
let closing: Promise<void> | undefined;
// Signals and the crash policy share one close: the gateway first, so no new job is queued
// while the relocator lets its active moves finish.
const close = (): Promise<void> =>
  (closing ??= (async () => {
    try {
      await gateway?.close();
    } finally {
      await relocator?.close();
    }
  })());
const crash = installCrashPolicy({
  logger,
  shutdown: close,
  describeActive: () => relocator?.activeJobs() ?? [],
  deadlineMs: relocatorConfig.shutdownTimeoutMs + 15_000,
});
try {
  relocator = await startRelocator(relocatorConfig, { logger: logger.child({ app: 'relocator' }) });
  gateway = await startGateway(gatewayConfig, { logger: logger.child({ app: 'gateway' }) });
} catch (error) {
  await relocator?.close();
  fail(`Start-up failed: ${error instanceof Error ? error.message : String(error)}`);
}

const host =
  gatewayConfig.host === '0.0.0.0' || gatewayConfig.host === '::'
    ? 'localhost'
    : gatewayConfig.host;
const base = `http://${host}:${gateway.app.server.address() && typeof gateway.app.server.address() === 'object' ? (gateway.app.server.address() as { port: number }).port : gatewayConfig.port}`;
const admin = gatewayConfig.admin;
const keys = gatewayConfig.access.apiKeys;
const access =
  keys.length === 0
    ? 'open: no API keys are configured (API_KEYS), so posts, registrations and reads need no credentials; admin routes need the login above'
    : `${keys.length} API key${keys.length === 1 ? '' : 's'} (${[...new Set(keys.map((k) => k.role))].join(', ')}); the legacy endpoints are ${gatewayConfig.access.legacyRequireKey ? 'for player keys' : 'open'}${gatewayConfig.access.legacyAllow ? ' to LEGACY_ALLOW networks' : ''}`;
console.log(
  [
    '',
    'Content relocation service is running.',
    `  gateway      ${base}`,
    `  overview     ${base}/admin`,
    `  Bull Board   ${base}/admin/queues`,
    `               user "${admin?.user ?? ''}", password "${admin?.password ?? ''}"${generatedPassword ? ' (generated for this run; set ADMIN_USER and ADMIN_PASSWORD to choose your own)' : ''}`,
    `  access       ${access}`,
    `  API docs     ${base}/docs`,
    `  metrics      ${base}/metrics${relocator.metricsPort ? `, relocator http://${host}:${relocator.metricsPort}/metrics` : ''}`,
    `  tiers        ${prepared.tierDirs.join('  ')}`,
    ...prepared.tiers
      .filter((t) => t.action === 'refuse')
      .map((t) => `  WARNING      tier "${t.level}" is not usable, its moves wait: ${t.reason}`),
    '',
    `  try: curl ${base}/post_sentence -d "cid=7&count=1964"`,
    '  Ctrl-C stops both.',
    '',
  ].join('\n'),
);

async function stop(signal: NodeJS.Signals): Promise<void> {
  if (crash.faulted) {
    logger.warn({ signal }, 'signal during the crash shutdown: exiting now');
    process.exit(crash.exitCode);
  }
  if (closing) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(130);
  }
  logger.info({ signal }, 'stopping: gateway first, then the relocator lets active moves finish');
  try {
    await close();
  } catch (error) {
    logger.error({ err: error }, 'shutdown failed');
    if (!crash.faulted) process.exit(1);
  }
  // After a fault during this shutdown, the crash policy exits (status 70).
  if (!crash.faulted) process.exit(0);
}
process.on('SIGINT', (s) => void stop(s));
process.on('SIGTERM', (s) => void stop(s));
