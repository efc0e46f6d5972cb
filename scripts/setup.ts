/**
 * `npm run setup`: creates the database when missing, applies migrations, seeds the levels and
 * the sample contents into empty tables, prepares the tier directories (each with the marker of
 * its level and this database) and the sample files.
 * Environment: DATABASE_URL, DATA_DIR, SAMPLE_CONTENTS (default true), read as `npm start` reads
 * them (`loadSetupSettings`); a bad value exits 2 with one line per variable.
 * Flags: `--create-tiers` creates missing tier directories anywhere (by default only inside
 * DATA_DIR); `--claim-tiers` rewrites markers that name another level or database.
 */
import {
  EXIT_INVALID_CONFIG,
  configOrExit,
  loadEnvFile,
  loadSetupSettings,
} from '@relocation/runtime';
import { prepareService } from './lib/prepare.ts';
import { describeUnreachable } from './lib/unreachable.ts';

const FLAGS = ['--create-tiers', '--claim-tiers'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => !FLAGS.includes(a));
if (unknown.length > 0) {
  console.error(`setup: unknown argument ${unknown.join(' ')}; known: ${FLAGS.join(' ')}`);
  process.exit(EXIT_INVALID_CONFIG);
}

loadEnvFile();
const { databaseUrl, dataDir, sampleContents } = configOrExit('setup', () =>
  loadSetupSettings(process.env),
);

try {
  const result = await prepareService({
    databaseUrl,
    dataDir,
    sampleContents,
    createTiers: args.includes('--create-tiers'),
    claimTiers: args.includes('--claim-tiers'),
  });
  for (const tier of result.tiers) {
    if (tier.action === 'refuse') {
      console.error(`tier "${tier.level}" is not usable: ${tier.reason}`);
    } else if (tier.action !== 'ready') {
      console.log(
        JSON.stringify({
          msg: 'tier prepared',
          level: tier.level,
          path: tier.path,
          action: tier.action,
        }),
      );
    }
  }
  console.log(
    JSON.stringify({
      msg: 'setup done',
      migrations: result.migrations,
      seeded: result.seeded,
      tierDirs: result.tierDirs,
      filesCreated: result.filesCreated.length,
    }),
  );
} catch (error) {
  console.error(
    describeUnreachable('MySQL', databaseUrl, error) ??
      `setup failed: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
}
