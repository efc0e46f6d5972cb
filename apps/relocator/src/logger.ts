import { logTransportFor, type LogLevel, type LogOutput } from '@relocation/runtime';
import { pino, type Logger } from 'pino';

/**
 * The relocator's logger on stdout (`service: "relocator"`, ISO timestamps): JSON lines, or
 * readable ones when `output` (stdout) is a terminal.
 */
export function createLogger(level: LogLevel, output: LogOutput = process.stdout): Logger {
  return pino({
    level,
    base: { service: 'relocator', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    transport: logTransportFor(output),
  });
}
