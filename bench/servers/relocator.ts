// The real relocator (startRelocator) as a bench child, configured from the environment the
// bench passes (QUEUE_PREFIX, DATABASE_URL, RELOCATOR_METRICS_PORT=0, …).
import { createLogger, loadConfig, startRelocator } from '@relocation/relocator';
import { configOrExit } from '@relocation/runtime';
import { serveBench, signalReady } from './ipc.ts';

const config = configOrExit('bench relocator', () => loadConfig(process.env));
const handle = await startRelocator(config, { logger: createLogger(config.logLevel) });
serveBench({}, () => handle.close());
signalReady({ concurrency: config.concurrency });
