import {
  configOrExit,
  installCrashPolicy,
  loadEnvFile,
  logTransportFor,
} from '@relocation/runtime';
import { pino } from 'pino';
import { loadConfig } from './config.ts';
import { startGateway, type GatewayHandle } from './start.ts';

// The gateway's command line: `tsx apps/gateway/src/main.ts`. Reads the environment (a bad
// variable: one line each on stderr, exit 2), starts, and closes gracefully on SIGTERM/SIGINT (a second signal forces the exit); with VIEW_LOG_FILE set, SIGHUP reopens the view log. An unexpected error
// (a bug) is logged, closes the same way and exits 70; a signal or another error during that
// exits 70 at once.

function fail(message: string): never {
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(1);
}

loadEnvFile();
const config = configOrExit('gateway', () => loadConfig(process.env));

// JSON lines, or readable ones when stdout is a terminal (not under compose: no TTY there).
const logger = pino({ level: config.logLevel, transport: logTransportFor(process.stdout) });
let handle: GatewayHandle | undefined;
let closing: Promise<void> | undefined;
// Signals and the crash policy share one close: it stops accepting requests and drains.
const close = (): Promise<void> => (closing ??= handle?.close() ?? Promise.resolve());
const crash = installCrashPolicy({ logger, shutdown: close });

try {
  handle = await startGateway(config, { logger });
} catch (error) {
  fail(`refusing to start: ${error instanceof Error ? error.message : String(error)}`);
}

function onSignal(signal: NodeJS.Signals): void {
  if (crash.faulted) {
    logger.warn({ signal }, 'signal during the crash shutdown: exiting now');
    process.exit(crash.exitCode);
  }
  if (closing) {
    logger.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  logger.info({ signal }, 'closing: finishing in-flight requests');
  close().then(
    () => {
      // After a fault during this shutdown, the crash policy exits (status 70).
      if (!crash.faulted) process.exit(0);
    },
    (error: unknown) => {
      logger.error({ err: error }, 'closing failed');
      if (!crash.faulted) process.exit(1);
    },
  );
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
if (config.viewLogFile !== null) {
  // logrotate moved the view log (`postrotate kill -HUP`): open VIEW_LOG_FILE again.
  const app = handle.app;
  process.on('SIGHUP', () => {
    logger.info({ file: config.viewLogFile }, 'SIGHUP: reopening the view log');
    app.viewReports.reopenLog();
  });
}
logger.info({ url: handle.url }, 'gateway listening');
