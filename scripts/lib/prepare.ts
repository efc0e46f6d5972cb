import { createHash } from 'node:crypto';
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyTierPlan, planTier, type TierPlan } from '@relocation/contract';
import {
  createDb,
  ensureDatabase,
  getDeploymentId,
  listContents,
  listLevels,
  migrateToLatest,
  SAMPLE_CONTENTS,
  seedIfEmpty,
  type SeedResult,
} from '@relocation/db';

/** What {@link prepareService} needs. */
export interface PrepareOptions {
  databaseUrl: string;
  /** Folder that holds one directory per tier when the levels are seeded now. */
  dataDir: string;
  /** Seed the 2018 sample contents (cid 1–12) and their files when `contents` is empty. */
  sampleContents: boolean;
  /**
   * Create every missing tier directory (with its marker), wherever it is. Without it only
   * missing directories inside `dataDir` are created: elsewhere a missing directory is most
   * likely an unmounted disk, and creating it would let moves write around the disk.
   */
  createTiers?: boolean;
  /** Rewrite tier markers that name another level or another database (`--claim-tiers`). */
  claimTiers?: boolean;
}

/** What {@link prepareService} did. */
export interface PrepareResult {
  migrations: string[];
  seeded: SeedResult;
  tierDirs: string[];
  /** What was done to each tier directory (see `planTier`); `refuse` ones are not usable. */
  tiers: TierPlan[];
  filesCreated: string[];
}

/** Size of each sample file, bytes. */
export const SAMPLE_FILE_BYTES = 256 * 1024;

/** Deterministic bytes for a sample file: the same name always gives the same content. */
export function sampleFileContent(filename: string, bytes = SAMPLE_FILE_BYTES): Buffer {
  const out = Buffer.alloc(bytes);
  let block = createHash('sha256').update(filename).digest();
  for (let offset = 0; offset < bytes; offset += block.length) {
    block.copy(out, offset);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Makes a fresh machine ready to run the service: creates the database when missing, applies
 * migrations, seeds the levels (and, when asked, the sample contents) into empty tables, makes
 * every tier directory the `level` table names its tier (creates it when it is missing inside
 * `dataDir`, or anywhere with `createTiers`, and writes the marker naming its level and this
 * database; see {@link PrepareOptions}), and writes each sample content's file on the tier MySQL
 * says when the file is on no tier yet. Safe to run again: it changes nothing that is already
 * there. A tier it may not prepare is reported in `tiers` (action `refuse`, with the reason) and
 * its moves wait until an operator acts.
 */
export async function prepareService(options: PrepareOptions): Promise<PrepareResult> {
  await ensureDatabase(options.databaseUrl);
  const db = createDb(options.databaseUrl, { connectionLimit: 2 });
  try {
    const migrations = await migrateToLatest(db);
    const seeded = await seedIfEmpty(db, {
      dataDir: options.dataDir,
      contents: options.sampleContents ? SAMPLE_CONTENTS : [],
    });
    const levels = await listLevels(db);
    const deployment = await getDeploymentId(db);
    const dataDir = path.resolve(options.dataDir);
    const tierDirs: string[] = [];
    const tiers: TierPlan[] = [];
    for (const level of levels) {
      const inDataDir = path.resolve(level.path).startsWith(`${dataDir}${path.sep}`);
      const plan = await planTier(
        level.path,
        { level: level.name, deployment },
        {
          createDirectory: options.createTiers === true || inDataDir,
          markUnmarked: true,
          claim: options.claimTiers === true,
        },
      );
      await applyTierPlan(plan, deployment);
      tiers.push(plan);
      tierDirs.push(level.path);
    }
    const usable = new Set(tiers.filter((t) => t.action !== 'refuse').map((t) => t.level));
    const filesCreated: string[] = [];
    if (options.sampleContents) {
      const byName = new Map(levels.map((l) => [l.name, l.path]));
      const samples = new Set(SAMPLE_CONTENTS.map((s) => `${s.cid}/${s.filename}`));
      const contents = await listContents(db, { limit: 1000 });
      for (const content of contents) {
        if (!samples.has(`${content.cid}/${content.filename}`)) continue;
        const dir = byName.get(content.content_level);
        if (dir === undefined || !usable.has(content.content_level)) continue;
        const onSomeTier = await Promise.all(
          levels.map((l) => exists(path.join(l.path, content.filename))),
        );
        if (onSomeTier.some(Boolean)) continue;
        const file = path.join(dir, content.filename);
        await writeFile(file, sampleFileContent(content.filename), { flag: 'wx' });
        filesCreated.push(file);
      }
    }
    return { migrations, seeded, tierDirs, tiers, filesCreated };
  } finally {
    await db.destroy();
  }
}
