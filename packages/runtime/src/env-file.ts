import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The optional `.env` file at the repository root that every entry point reads. */
export const ENV_FILE = fileURLToPath(new URL('../../../.env', import.meta.url));

/**
 * Loads `.env` from the repository root into `process.env` when the file exists; variables
 * already set in the environment win. Returns the file's path when it was read, else null.
 * Only entry points (`main.ts`, scripts) call it, before loading their configuration.
 */
export function loadEnvFile(file = ENV_FILE): string | null {
  if (!existsSync(file)) return null;
  process.loadEnvFile(file);
  return file;
}
