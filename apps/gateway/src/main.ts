import { loadEnvFile } from '@relocation/queue';
import { ConfigError, loadConfig, type GatewayConfig } from './config.ts';
import { startGateway, type GatewayHandle } from './start.ts';

// The gateway's command line: `tsx apps/gateway/src/main.ts`. Reads the environment, starts,
// and closes gracefully on SIGTERM/SIGINT (a second signal forces the exit).

function fail(message: string): never {
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(1);
}

loadEnvFile();
let config: GatewayConfig;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) {
    for (const issue of error.issues)
      process.stderr.write(`gateway: invalid configuration: ${issue}\n`);
    process.exit(1);
  }
  throw error;
}

let handle: GatewayHandle;
try {
  handle = await startGateway(config);
} catch (error) {
  fail(`refusing to start: ${error instanceof Error ? error.message : String(error)}`);
}

let closing = false;
function onSignal(signal: NodeJS.Signals): void {
  if (closing) {
    handle.app.log.warn({ signal }, 'second signal: exiting now');
    process.exit(1);
  }
  closing = true;
  handle.app.log.info({ signal }, 'closing: finishing in-flight requests');
  handle.close().then(
    () => process.exit(0),
    (error: unknown) => {
      handle.app.log.error({ err: error }, 'closing failed');
      process.exit(1);
    },
  );
}
process.on('SIGTERM', onSignal);
process.on('SIGINT', onSignal);
handle.app.log.info({ url: handle.url }, 'gateway listening');
