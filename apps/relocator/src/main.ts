import { configOrExit, installCrashPolicy, loadEnvFile } from '@relocation/runtime';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startRelocator } from './start.ts';

// The CLI: `tsx apps/relocator/src/main.ts`. A bad variable: one line each on stderr, exit 2.
// SIGTERM/SIGINT close gracefully (exit 0); a second signal exits at once with status 1. An
// unexpected error (a bug) is logged with the active jobs, closes the same way and exits 70; a
// signal or another error during that exits 70 at once.

loadEnvFile();
const config = configOrExit('relocator', () => loadConfig(process.env));

const logger = createLogger(config.logLevel);
let signals = 0;
let handle: Awaited<ReturnType<typeof startRelocator>> | null = null;

const crash = installCrashPolicy({
  logger,
  shutdown: async () => {
    await handle?.close();
  },
  describeActive: () => handle?.activeJobs() ?? [],
  // close() waits shutdownTimeoutMs for active moves, then up to 5 s for the aborted ones.
  deadlineMs: config.shutdownTimeoutMs + 15_000,
});

function onSignal(signal: NodeJS.Signals): void {
  if (crash.faulted) {
    logger.warn({ signal }, 'signal during the crash shutdown: exiting now');
    process.exit(crash.exitCode);
  }
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting without waiting for active moves');
    process.exit(1);
  }
  logger.info({ signal }, 'signal received: finishing active moves');
  if (!handle) process.exit(0);
  handle.close().then(
    () => {
      // After a fault during this shutdown, the crash policy exits (status 70).
      if (!crash.faulted) process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      if (!crash.faulted) process.exit(1);
    },
  );
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);

try {
  handle = await startRelocator(config, { logger });
} catch (error) {
  logger.fatal({ err: error }, 'relocator failed to start');
  process.exit(1);
}
