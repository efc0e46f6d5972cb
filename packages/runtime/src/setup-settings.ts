import { baseEnvSchema } from './base-env.ts';
import { flag, text } from './env-fields.ts';
import { loadEnv, type Env } from './load-env.ts';

/**
 * The variables `npm run setup` and `npm start` read to prepare MySQL and the tier directories;
 * both read them through {@link loadSetupSettings}, so a value means the same in both.
 */
export const setupEnvSchema = baseEnvSchema.pick({ DATABASE_URL: true }).extend({
  DATA_DIR: text('data'),
  SAMPLE_CONTENTS: flag(true),
});

/** What setup needs, validated; see {@link loadSetupSettings}. */
export interface SetupSettings {
  readonly databaseUrl: string;
  /** Where tier directories are created when the levels are first seeded (relative to the cwd). */
  readonly dataDir: string;
  /** Seed contents 1-12 and their sample files into an empty `contents` table. */
  readonly sampleContents: boolean;
}

/**
 * Reads DATABASE_URL, DATA_DIR (`data`) and SAMPLE_CONTENTS (`true`; true/false, 1/0, yes/no)
 * from `env` by the shared rules. Returns a frozen object; throws a `ConfigError` naming every
 * bad variable.
 */
export function loadSetupSettings(env: Env = process.env): SetupSettings {
  const e = loadEnv(setupEnvSchema, env);
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    sampleContents: e.SAMPLE_CONTENTS,
  });
}
