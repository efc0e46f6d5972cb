import { loadEnvFile } from '@relocation/queue';
import { ConfigError, loadConfig } from './config.ts';
import { createLogger } from './logger.ts';
import { startRelocator } from './start.ts';

// The CLI: `tsx apps/relocator/src/main.ts`. SIGTERM/SIGINT close gracefully (exit 0); a second
// signal exits at once with status 1.

loadEnvFile();
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`relocator: invalid configuration\n${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const logger = createLogger(config.logLevel);
let signals = 0;
let handle: Awaited<ReturnType<typeof startRelocator>> | null = null;

function onSignal(signal: NodeJS.Signals): void {
  signals++;
  if (signals > 1) {
    logger.warn({ signal }, 'second signal: exiting without waiting for active moves');
    process.exit(1);
  }
  logger.info({ signal }, 'signal received: finishing active moves');
  if (!handle) process.exit(0);
  handle.close().then(
    () => process.exit(0),
    (error: unknown) => {
      logger.error({ err: error }, 'shutdown failed');
      process.exit(1);
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
