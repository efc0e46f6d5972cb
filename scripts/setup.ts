/**
 * `npm run setup`: creates the database when missing, applies migrations, seeds the levels and
 * the sample contents into empty tables, prepares the tier directories (each with the marker of
 * its level and this database) and the sample files.
 * Environment: DATABASE_URL, DATA_DIR, SAMPLE_CONTENTS (default true).
 * Flags: `--create-tiers` creates missing tier directories anywhere (by default only inside
 * DATA_DIR); `--claim-tiers` rewrites markers that name another level or database.
 */
import { loadEnvFile } from '@relocation/queue';
import { prepareService } from './lib/prepare.ts';
import { describeUnreachable } from './lib/unreachable.ts';

const FLAGS = ['--create-tiers', '--claim-tiers'];
const args = process.argv.slice(2);
const unknown = args.filter((a) => !FLAGS.includes(a));
if (unknown.length > 0) {
  console.error(`setup: unknown argument ${unknown.join(' ')}; known: ${FLAGS.join(' ')}`);
  process.exit(2);
}

loadEnvFile();
const databaseUrl = process.env.DATABASE_URL || 'mysql://root@127.0.0.1:3306/relocation';
const dataDir = process.env.DATA_DIR || 'data';
const sample = (process.env.SAMPLE_CONTENTS || 'true').toLowerCase();
if (!['true', 'false', '1', '0'].includes(sample)) {
  console.error(`SAMPLE_CONTENTS: expected true or false, got "${sample}"`);
  process.exit(2);
}

try {
  const result = await prepareService({
    databaseUrl,
    dataDir,
    sampleContents: sample === 'true' || sample === '1',
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
