/**
 * `npm run setup`: creates the database when missing, applies migrations, seeds the levels and
 * the sample contents into empty tables, creates the tier directories and the sample files.
 * Environment: DATABASE_URL, DATA_DIR, SAMPLE_CONTENTS (default true).
 */
import { loadEnvFile } from '@relocation/queue';
import { prepareService } from './lib/prepare.ts';
import { describeUnreachable } from './lib/unreachable.ts';

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
  });
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
