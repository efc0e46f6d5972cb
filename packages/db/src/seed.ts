import path from 'node:path';
import type { Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { recountTierUsage } from './queries/tier-usage.ts';
import type { Database } from './schema.ts';

/** The seed's three tiers (bronze 0–999, silver 1000–1999, gold 2000–unbounded) under `dataDir`. */
export function seedLevels(dataDir: string): Level[] {
  const root = path.resolve(dataDir);
  return [
    { name: 'bronze', minCount: 0, maxCount: 999, path: path.join(root, 'bronze') },
    { name: 'silver', minCount: 1000, maxCount: 1999, path: path.join(root, 'silver') },
    { name: 'gold', minCount: 2000, maxCount: null, path: path.join(root, 'gold') },
  ];
}

/** A sample content of the 2018 seed: cid, file name, tier and a view count inside that tier. */
export interface SampleContent {
  cid: number;
  filename: string;
  level: string;
  viewCount: number;
}

/**
 * Contents 1–12 (`a.mp4` … `l.mp4`). Levels of 1, 2, 3, 4, 5, 7 and 12 are the seed's; 6, 8, 9,
 * 10 and 11 are ours (gold, bronze, silver, bronze, gold). View counts sit inside each tier.
 */
export const SAMPLE_CONTENTS: readonly SampleContent[] = Object.freeze([
  { cid: 1, filename: 'a.mp4', level: 'gold', viewCount: 2500 },
  { cid: 2, filename: 'b.mp4', level: 'bronze', viewCount: 120 },
  { cid: 3, filename: 'c.mp4', level: 'silver', viewCount: 1200 },
  { cid: 4, filename: 'd.mp4', level: 'bronze', viewCount: 300 },
  { cid: 5, filename: 'e.mp4', level: 'silver', viewCount: 1600 },
  { cid: 6, filename: 'f.mp4', level: 'gold', viewCount: 2100 },
  { cid: 7, filename: 'g.mp4', level: 'bronze', viewCount: 640 },
  { cid: 8, filename: 'h.mp4', level: 'bronze', viewCount: 50 },
  { cid: 9, filename: 'i.mp4', level: 'silver', viewCount: 1100 },
  { cid: 10, filename: 'j.mp4', level: 'bronze', viewCount: 10 },
  { cid: 11, filename: 'k.mp4', level: 'gold', viewCount: 3000 },
  { cid: 12, filename: 'l.mp4', level: 'silver', viewCount: 1900 },
]);

/** What {@link seedIfEmpty} inserted. */
export interface SeedResult {
  levels: number;
  contents: number;
}

/**
 * Inserts the seed's levels when `level` is empty and its sample contents when `contents` is
 * empty; tables that already hold rows are left alone.
 */
export async function seedIfEmpty(
  db: Kysely<Database>,
  options: { dataDir: string; contents?: readonly SampleContent[] },
): Promise<SeedResult> {
  return db
    .transaction()
    .execute(async (trx) => {
      const result: SeedResult = { levels: 0, contents: 0 };
      const haveLevel = await trx.selectFrom('level').select('content_level').limit(1).execute();
      if (haveLevel.length === 0) {
        const levels = seedLevels(options.dataDir);
        await trx
          .insertInto('level')
          .values(
            levels.map((l) => ({
              content_level: l.name,
              min_counts: l.minCount,
              max_counts: l.maxCount,
              path: l.path,
            })),
          )
          .execute();
        result.levels = levels.length;
      }
      const haveContent = await trx.selectFrom('contents').select('cid').limit(1).execute();
      const contents = options.contents ?? SAMPLE_CONTENTS;
      if (haveContent.length === 0 && contents.length > 0) {
        await trx
          .insertInto('contents')
          .values(
            contents.map((c) => ({
              cid: c.cid,
              content_level: c.level,
              filename: c.filename,
              view_count: c.viewCount,
            })),
          )
          .execute();
        result.contents = contents.length;
      }
      return result;
    })
    .then(async (result) => {
      // The seed writes `contents` in bulk: its tiers' usage is counted from the rows afterwards.
      if (result.levels > 0 || result.contents > 0) await recountTierUsage(db);
      return result;
    });
}
