/** What {@link logTransportFor} looks at: an output stream such as `process.stdout`. */
export interface LogOutput {
  /** `true` when the stream is a terminal. */
  readonly isTTY?: boolean;
}

/** A pino `transport` option (the shape of pino's `TransportSingleOptions`). */
export interface LogTransport {
  readonly target: string;
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * The pino `transport` for a process that logs to `output`: pino-pretty (one readable,
 * coloured line per entry, `HH:MM:ss.l` local time) when `output` is a terminal, so a developer
 * running `npm start` can read it; `undefined`, that is pino's JSON lines, for anything else (a
 * pipe, a file, a container under compose), which log collectors parse.
 */
export function logTransportFor(output: LogOutput): LogTransport | undefined {
  if (output.isTTY !== true) return undefined;
  return {
    target: 'pino-pretty',
    options: {
      colorize: true,
      translateTime: 'SYS:HH:MM:ss.l',
      singleLine: true,
      ignore: 'pid,hostname,service,app',
      // `npm start` runs both apps in one process: each line names the one that wrote it.
      messageFormat: '{if app}{app}: {end}{if service}{service}: {end}{msg}',
    },
  };
}
