import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createDb,
  ensureDatabase,
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
}

/** What {@link prepareService} did. */
export interface PrepareResult {
  migrations: string[];
  seeded: SeedResult;
  tierDirs: string[];
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
 * migrations, seeds the levels (and, when asked, the sample contents) into empty tables, creates
 * every tier directory the `level` table names, and writes each sample content's file on the
 * tier MySQL says when the file is on no tier yet. Safe to run again: it changes nothing that
 * is already there.
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
    const tierDirs: string[] = [];
    for (const level of levels) {
      await mkdir(level.path, { recursive: true });
      tierDirs.push(level.path);
    }
    const filesCreated: string[] = [];
    if (options.sampleContents) {
      const byName = new Map(levels.map((l) => [l.name, l.path]));
      const samples = new Set(SAMPLE_CONTENTS.map((s) => `${s.cid}/${s.filename}`));
      const contents = await listContents(db, { limit: 1000 });
      for (const content of contents) {
        if (!samples.has(`${content.cid}/${content.filename}`)) continue;
        const dir = byName.get(content.content_level);
        if (dir === undefined) continue;
        const onSomeTier = await Promise.all(
          levels.map((l) => exists(path.join(l.path, content.filename))),
        );
        if (onSomeTier.some(Boolean)) continue;
        const file = path.join(dir, content.filename);
        await writeFile(file, sampleFileContent(content.filename), { flag: 'wx' });
        filesCreated.push(file);
      }
    }
    return { migrations, seeded, tierDirs, filesCreated };
  } finally {
    await db.destroy();
  }
}
