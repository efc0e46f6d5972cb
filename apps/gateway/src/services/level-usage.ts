import { readTierReservations, readTierUsage, type Database } from '@relocation/db';
import { tierCapacity, type Level } from '@relocation/tiering';
import type { Kysely } from 'kysely';
import { fromDatabase } from '../errors.ts';

/** One level's usage as `GET /v1/levels` shows it; byte counts are bytes, `percent` one decimal. */
export interface LevelUsage {
  files: number;
  bytes: number;
  reservedBytes: number;
  capacityBytes: number | null;
  highWatermarkBytes: number | null;
  lowWatermarkBytes: number | null;
  percent: number | null;
  aboveHighWatermark: boolean;
}

/**
 * The usage of every level of `levels`, by name: files and bytes from the `tier_usage` counters,
 * bytes reserved by moves under way, and the capacity limits `tierCapacity` derives from the
 * watermarks. Two grouped reads of small tables; never walks a directory. A level without
 * counters yet (no content ever registered or moved into it) shows zeros. Throws `AppError`
 * (503) when MySQL is unreachable.
 */
export async function readLevelUsage(
  db: Kysely<Database>,
  levels: readonly Level[],
): Promise<Record<string, LevelUsage>> {
  const [usage, reservations] = await fromDatabase(() =>
    Promise.all([readTierUsage(db), readTierReservations(db)]),
  );
  return Object.fromEntries(
    levels.map((level) => {
      const { files, bytes } = usage.get(level.name) ?? { files: 0, bytes: 0 };
      const capacity = tierCapacity(level);
      const entry: LevelUsage = {
        files,
        bytes,
        reservedBytes: reservations.get(level.name) ?? 0,
        capacityBytes: capacity?.capacityBytes ?? null,
        highWatermarkBytes: capacity?.highBytes ?? null,
        lowWatermarkBytes: capacity?.lowBytes ?? null,
        percent:
          capacity && capacity.capacityBytes > 0
            ? Math.round((bytes * 1000) / capacity.capacityBytes) / 10
            : null,
        // The capacity sweep's test: a tier whose committed bytes pass its high watermark.
        aboveHighWatermark: capacity !== null && bytes > capacity.highBytes,
      };
      return [level.name, entry];
    }),
  );
}
