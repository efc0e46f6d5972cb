import { pino, type Logger } from 'pino';
import type { LogLevel } from '@relocation/runtime';

/** The relocator's JSON logger on stdout (`service: "relocator"`, ISO timestamps). */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'relocator', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
