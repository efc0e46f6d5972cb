// The real gateway (startGateway) as a bench child. Its configuration comes from the
// environment the bench passes (PORT=0, QUEUE_PREFIX, DATABASE_URL, LOG_LEVEL, …).
import { loadConfig, startGateway } from '@relocation/gateway';
import { configOrExit } from '@relocation/runtime';
import { serveBench, signalReady } from './ipc.ts';

const handle = await startGateway(configOrExit('bench gateway', () => loadConfig(process.env)));
serveBench({}, () => handle.close());
signalReady({ url: handle.url });
