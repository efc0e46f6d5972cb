import sonicBoom from 'sonic-boom';

// sonic-boom is CommonJS: its module object is the constructor, which also carries itself as
// `SonicBoom` (the name its types declare).
const { SonicBoom } = sonicBoom;
type Stream = InstanceType<typeof SonicBoom>;

/** The stream writing the file, whether it ever opened it, and the lines given it before. */
interface Writer {
  readonly stream: Stream;
  ready: boolean;
  early: number;
}

/** One line of the view log: `{"cid":7,"count":1964,"at":1700000000000}`. */
export interface ViewLogEntry {
  readonly cid: number;
  /** Total views posted. */
  readonly count: number;
  /** When the gateway recorded the count, epoch milliseconds. */
  readonly at: number;
}

/** What {@link ViewLog} tells its owner; each callback must not throw. */
export interface ViewLogDeps {
  /** A failure to open, write, reopen or close the file (the lines wait in memory meanwhile). */
  onError: (error: Error) => void;
  /** The file took a write again after a failure. */
  onRecovered?: () => void;
  /** A line was dropped: the file is not open, or {@link VIEW_LOG_MAX_BUFFER} bytes wait. */
  onDrop: () => void;
}

/** Most bytes of lines waiting for the disk; lines beyond it are dropped (and counted). */
export const VIEW_LOG_MAX_BUFFER = 16 * 1024 * 1024;

/** How long {@link ViewLog.close} waits for the last lines to reach the file. */
export const VIEW_LOG_CLOSE_TIMEOUT_MS = 5000;

/** The NDJSON line of `entry`, as `npm run replay -- --views` reads it. */
export function viewLogLine(entry: ViewLogEntry): string {
  return `{"cid":${entry.cid},"count":${entry.count},"at":${entry.at}}\n`;
}

/**
 * Appends view reports to a file, one NDJSON line each, written asynchronously by sonic-boom
 * (pino's writer): {@link append} only buffers, never blocks and never throws, so a full or
 * failing disk costs log lines, not posts. Opened in append mode: logrotate's `copytruncate`
 * works as is; after a rotation that moves the file, {@link reopen} opens the path again.
 */
export class ViewLog {
  readonly file: string;
  readonly #deps: ViewLogDeps;
  #writer: Writer | null = null;
  #closed = false;

  constructor(file: string, deps: ViewLogDeps) {
    this.file = file;
    this.#deps = deps;
    this.#open();
  }

  /** Buffers one line; written to the file as soon as the previous write is done. */
  append(entry: ViewLogEntry): void {
    if (this.#closed) return;
    const writer = this.#writer;
    if (writer === null) {
      this.#deps.onDrop();
      return;
    }
    if (!writer.ready) writer.early += 1;
    try {
      writer.stream.write(viewLogLine(entry));
    } catch (error) {
      this.#deps.onError(asError(error));
    }
  }

  /**
   * Opens the file path again (SIGHUP after logrotate moved the file): lines buffered so far go
   * to the old file, later ones to the new. Also retries a file that could not be opened.
   */
  reopen(): void {
    if (this.#closed) return;
    if (this.#writer === null) {
      this.#open();
      return;
    }
    try {
      this.#writer.stream.reopen();
    } catch (error) {
      this.#deps.onError(asError(error));
    }
  }

  /**
   * Writes what is buffered and closes the file; resolves once it is closed, or after
   * {@link VIEW_LOG_CLOSE_TIMEOUT_MS} when the disk does not take the last lines.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const writer = this.#writer;
    this.#writer = null;
    if (writer === null) return;
    const { stream } = writer;
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, VIEW_LOG_CLOSE_TIMEOUT_MS);
      stream.once('close', finish);
      // A write that fails while ending leaves the stream open: close it without the rest.
      // (One that never opened its file has nothing to close.)
      stream.on('error', () => {
        if (writer.ready) stream.destroy();
        else finish();
      });
      try {
        stream.end();
      } catch {
        finish();
      }
    });
  }

  #open(): void {
    const stream = new SonicBoom({
      dest: this.file,
      append: true,
      sync: false,
      maxLength: VIEW_LOG_MAX_BUFFER,
    });
    const writer: Writer = { stream, ready: false, early: 0 };
    let failing = false;
    stream.on('ready', () => {
      writer.ready = true;
      writer.early = 0;
    });
    stream.on('write', () => {
      if (!failing) return;
      failing = false;
      this.#deps.onRecovered?.();
    });
    stream.on('drop', () => this.#deps.onDrop());
    stream.on('error', (error: Error) => {
      failing = true;
      this.#deps.onError(error);
      // Never opened (a missing directory, no permission): nothing to write to until reopen(),
      // and the lines given it while it tried are lost.
      if (!writer.ready && this.#writer === writer) {
        this.#writer = null;
        for (; writer.early > 0; writer.early -= 1) this.#deps.onDrop();
      }
    });
    this.#writer = writer;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
