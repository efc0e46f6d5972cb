import type { z } from 'zod';
import { ConfigError } from './config-error.ts';

/** Environment variables as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Options of {@link loadEnv}. */
export interface LoadEnvOptions<S extends z.ZodObject> {
  /**
   * Checks across variables (e.g. two that must be set together), run on the trimmed values even
   * when some variable is bad, so every problem is reported at once. Returns whole issue lines,
   * each starting with the variable it blames.
   */
  readonly check?: (values: Readonly<Partial<Record<keyof S['shape'], string>>>) => string[];
}

/**
 * The one trimming rule: a value is trimmed, and an empty or whitespace-only one counts as unset.
 * Returns only the variables `names` lists, so nothing else of `env` is read.
 */
export function readEnv(env: Env, names: Iterable<string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const name of names) {
    const value = env[name]?.trim();
    if (value !== undefined && value !== '') values[name] = value;
  }
  return values;
}

/**
 * How a value is echoed in an issue line: quoted, with a URL's password replaced by `***`, and
 * never for a variable whose name says it is a password, secret or token.
 */
function shown(name: string, value: string): string {
  if (/PASSWORD|SECRET|TOKEN/.test(name)) return '';
  const redacted = value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
  return ` (got ${JSON.stringify(redacted)})`;
}

/**
 * Reads the variables of `schema` from `env` (pure: nothing else is read) after the trimming rule
 * of {@link readEnv}, and returns the parsed values. Throws one {@link ConfigError} listing every
 * bad variable at once, one line each: `NAME: what is expected (got "value")`.
 */
export function loadEnv<S extends z.ZodObject>(
  schema: S,
  env: Env,
  options: LoadEnvOptions<S> = {},
): z.output<S> {
  const values = readEnv(env, Object.keys(schema.shape));
  const parsed = schema.safeParse(values);
  const issues = new Set<string>();
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? '(config)');
      const value = values[name];
      issues.add(`${name}: ${issue.message}${value === undefined ? '' : shown(name, value)}`);
    }
  }
  const checked = options.check?.(values as Partial<Record<keyof S['shape'], string>>);
  for (const issue of checked ?? []) issues.add(issue);
  if (!parsed.success || issues.size > 0) throw new ConfigError([...issues]);
  return parsed.data;
}
