import type { Kysely } from 'kysely';
import { addMissingColumns, dropColumns } from './column-helpers.ts';

/**
 * Records each content's file size (`size_bytes`, NULL until known: set by every move's commit,
 * by registration when the gateway sees the file, and by reconcile), so tier usage is a sum of
 * rows, never a walk of the directories.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await addMissingColumns(db, 'contents', [
    { name: 'size_bytes', definition: 'bigint unsigned null' },
  ]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await dropColumns(db, 'contents', ['size_bytes']);
}
