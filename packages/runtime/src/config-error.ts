/**
 * Exit status of a process refused at start-up because of its configuration: 2, the status of a
 * command used wrongly. Every entry point (the apps, `npm start`, `npm run setup`, `npm run
 * reconcile`, the bench children) exits with it, distinct from 1 (failed start, forced stop) and
 * 70 (a bug, see `EXIT_SOFTWARE`).
 */
export const EXIT_INVALID_CONFIG = 2;

/**
 * The one error for a bad configuration. `issues` holds one line per bad variable, each starting
 * with the variable's name (`PORT: must be a whole number from 0 to 65535 (got "abc")`); the
 * message is those lines joined by newlines.
 */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    super(issues.join('\n'));
    this.name = 'ConfigError';
    this.issues = Object.freeze([...issues]);
  }
}

/**
 * Runs every loader and returns their results in order; when some throw a {@link ConfigError},
 * throws one that lists all their issues (each line once), so a launcher that reads several
 * configurations still reports every bad variable at once. Other errors propagate.
 */
export function loadTogether<T extends unknown[]>(...loaders: { [K in keyof T]: () => T[K] }): T {
  const issues = new Set<string>();
  const results = loaders.map((load) => {
    try {
      return load();
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) issues.add(issue);
      return undefined;
    }
  });
  if (issues.size > 0) throw new ConfigError([...issues]);
  return results as T;
}

/**
 * For entry points: a {@link ConfigError} is printed to stderr as `<app>: invalid configuration`
 * and one indented line per bad variable, and the process exits with
 * {@link EXIT_INVALID_CONFIG}; any other error is thrown again.
 */
export function exitOnConfigError(app: string, error: unknown): never {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(
    `${app}: invalid configuration\n${error.issues.map((i) => `  ${i}\n`).join('')}`,
  );
  process.exit(EXIT_INVALID_CONFIG);
}

/** Returns what `load` returns, or exits through {@link exitOnConfigError} when it refuses. */
export function configOrExit<T>(app: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    return exitOnConfigError(app, error);
  }
}
