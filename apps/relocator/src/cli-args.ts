import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Exit status of a command run with bad arguments (as for bad settings). */
export const EXIT_USAGE = 2;

/**
 * Parses `process.argv` for a one-shot command (`npm run audit`, `plan`, …) with `options`
 * (`--help`/`-h` is added and prints `usageText`, exit 0). Strict: an unknown option is bad usage:
 * it prints the problem and the usage text and exits 2 (`usage` does the same for checks of the
 * values; `wholeNumber` checks a whole number in a range).
 */
export function parseCliArgs<O extends NonNullable<ParseArgsConfig['options']>>(
  usageText: string,
  options: O,
  config: { allowPositionals?: boolean } = {},
) {
  const usage = (problem: string): never => {
    process.stderr.write(`${problem}\n${usageText}\n`);
    process.exit(EXIT_USAGE);
  };
  let parsed;
  try {
    parsed = parseArgs({
      options: { ...options, help: { type: 'boolean', short: 'h', default: false } },
      allowPositionals: config.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    return usage((error as Error).message);
  }
  if ((parsed.values as Record<string, unknown>).help === true) {
    process.stdout.write(`${usageText}\n`);
    process.exit(0);
  }
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    usage,
    wholeNumber: (name: string, raw: string, min: number, max: number): number => {
      const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n) || n < min || n > max) {
        usage(
          `--${name}: expected a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`,
        );
      }
      return n;
    },
  };
}
