import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Database } from '@relocation/db';
import type { Kysely } from 'kysely';
import { Prng } from './prng.ts';

/** The seed's tiers, in order (bronze 0–999, silver 1000–1999, gold 2000+). */
export const LEVELS = ['bronze', 'silver', 'gold'] as const;

/** A tier name. */
export type LevelName = (typeof LEVELS)[number];

/** Counts drawn for each tier (gold is unbounded; we draw up to 2999). */
export const COUNT_RANGE: Readonly<Record<LevelName, readonly [number, number]>> = {
  bronze: [0, 999],
  silver: [1000, 1999],
  gold: [2000, 2999],
};

/** Contents of the ingest benchmarks: cids 1 … 10,000. */
export const INGEST_CONTENTS = 10_000;

/** First cid of the decision-latency contents (all start on bronze, with a file). */
export const LATENCY_CID_BASE = 100_000;

/** First cid of each relocator-throughput set (all start on bronze; noop needs no rows). */
export const RELOCATOR_CID_BASE = { relocator: 200_000, 'rename-tx': 300_000, noop: 400_000 };

/** Size of each small file the relocator benchmarks move, bytes. */
export const SMALL_FILE_BYTES = 4096;

/** The file name of a bench content. */
export function filenameOf(cid: number): string {
  return `c${cid}.mp4`;
}

/** The tier an ingest content sits on: cid mod 3 → bronze, silver, gold. */
export function ingestLevel(cid: number): LevelName {
  return LEVELS[cid % 3] ?? 'bronze';
}

/** Ingest contents that receive the threshold-crossing posts: every tenth cid. */
export function isMover(cid: number): boolean {
  return cid % 10 === 0;
}

/** The middle of a tier's range: the count every content is seeded and warmed with. */
export function restingCount(level: LevelName): number {
  const [min, max] = COUNT_RANGE[level];
  return Math.floor((min + max) / 2);
}

/** A view report. */
export interface View {
  cid: number;
  count: number;
}

/**
 * The ingest mix, seeded: 90 % of posts go to the 9,000 contents that never move, with a count
 * inside their tier (the post changes nothing); 10 % go to the 1,000 movers with a count in the
 * next tier (the post crosses a threshold and queues a relocation).
 */
export class ViewMix {
  readonly #prng: Prng;
  readonly #crossShare: number;

  constructor(seed: number, crossShare = 0.1) {
    this.#prng = new Prng(seed);
    this.#crossShare = crossShare;
  }

  /** The next report. */
  next(): View {
    const prng = this.#prng;
    if (prng.next() < this.#crossShare) {
      const cid = prng.int(1, INGEST_CONTENTS / 10) * 10;
      const current = LEVELS.indexOf(ingestLevel(cid));
      const target = LEVELS[(current + 1) % LEVELS.length] ?? 'bronze';
      return { cid, count: prng.int(...COUNT_RANGE[target]) };
    }
    let cid = prng.int(1, INGEST_CONTENTS);
    while (isMover(cid)) cid = prng.int(1, INGEST_CONTENTS);
    return { cid, count: prng.int(...COUNT_RANGE[ingestLevel(cid)]) };
  }

  /** The next `n` reports. */
  batch(n: number): View[] {
    return Array.from({ length: n }, () => this.next());
  }
}

/** A content row to seed. */
export interface SeedContent {
  cid: number;
  level: LevelName;
  viewCount: number;
}

/** Inserts contents in bulk (1,000 rows per statement). */
export async function insertContents(
  db: Kysely<Database>,
  rows: readonly SeedContent[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += 1000) {
    await db
      .insertInto('contents')
      .values(
        rows.slice(i, i + 1000).map((r) => ({
          cid: r.cid,
          content_level: r.level,
          filename: filenameOf(r.cid),
          view_count: r.viewCount,
        })),
      )
      .execute();
  }
}

/** Writes a small file per cid into `dir` (deterministic bytes). */
export async function writeSmallFiles(
  dir: string,
  cids: readonly number[],
  bytes = SMALL_FILE_BYTES,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const content = Buffer.alloc(bytes);
  const prng = new Prng(42);
  for (let i = 0; i < bytes; i++) content[i] = prng.int(0, 255);
  for (let i = 0; i < cids.length; i += 64) {
    await Promise.all(
      cids.slice(i, i + 64).map((cid) => writeFile(path.join(dir, filenameOf(cid)), content)),
    );
  }
}

/** `count` consecutive cids after `base`. */
export function cidRange(base: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => base + i + 1);
}
