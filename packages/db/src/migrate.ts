/* eslint-disable @typescript-eslint/no-explicit-any -- the migrator works on any schema */
import { Migrator, NO_MIGRATIONS, type Kysely, type MigrationResult } from 'kysely';
import { MIGRATIONS } from './migrations/index.ts';

/** Thrown when a migration fails; `cause` is the database error. */
export class MigrationError extends Error {
  readonly code = 'MIGRATION_FAILED';
  readonly migration: string | undefined;

  constructor(migration: string | undefined, options: { cause: unknown }) {
    super(
      `migration ${migration ?? '(unknown)'} failed: ${options.cause instanceof Error ? options.cause.message : String(options.cause)}`,
      options,
    );
    this.migration = migration;
    this.name = 'MigrationError';
  }
}

function createMigrator(db: Kysely<any>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...MIGRATIONS }) },
  });
}

/**
 * Applies every pending migration; running it again is a no-op.
 * Returns the migrations applied by this call, in order.
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await createMigrator(db).migrateToLatest();
  return unwrap(error, results);
}

/** Reverts every migration (drops the tables); for tests and tear-down. */
export async function migrateDownToEmpty(db: Kysely<any>): Promise<string[]> {
  const { error, results } = await createMigrator(db).migrateTo(NO_MIGRATIONS);
  return unwrap(error, results);
}

function unwrap(error: unknown, results: MigrationResult[] | undefined): string[] {
  if (error !== undefined) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new MigrationError(failed?.migrationName, { cause: error });
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
