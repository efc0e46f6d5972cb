import { sql, type Kysely } from 'kysely';
import { adjustTierUsage } from './tier-usage.ts';
import { DbError, isDuplicateKeyError } from '../errors.ts';
import type { Content, Database } from '../schema.ts';

type Executor = Kysely<Database>;

/** Reads one content by cid; `undefined` when there is none. */
export async function getContent(db: Executor, cid: number): Promise<Content | undefined> {
  return db.selectFrom('contents').selectAll().where('cid', '=', cid).executeTakeFirst();
}

/** A content with the level it is pinned to (`null`: not pinned), as {@link getContentWithPin} reads it. */
export type ContentWithPin = Content & { pinLevel: string | null };

/** The statement of {@link getContentWithPin} and {@link getContentsWithPin}, before its filter. */
function contentWithPinQuery(db: Executor) {
  return db
    .selectFrom('contents')
    .leftJoin('content_pin', 'content_pin.cid', 'contents.cid')
    .selectAll('contents')
    .select('content_pin.level as pinLevel');
}

/**
 * Reads one content and the level of its pin (if any) in one statement; `undefined` when there
 * is no such content. What a relocation job decides with (the pin overrides the count).
 */
export async function getContentWithPin(
  db: Executor,
  cid: number,
): Promise<ContentWithPin | undefined> {
  const row = await contentWithPinQuery(db).where('contents.cid', '=', cid).executeTakeFirst();
  return row ? { ...row, pinLevel: row.pinLevel ?? null } : undefined;
}

/**
 * {@link getContentWithPin} of several cids in one statement, by cid; a cid with no content is
 * absent from the map.
 */
export async function getContentsWithPin(
  db: Executor,
  cids: readonly number[],
): Promise<Map<number, ContentWithPin>> {
  const found = new Map<number, ContentWithPin>();
  if (cids.length === 0) return found;
  const rows = await contentWithPinQuery(db)
    .where('contents.cid', 'in', [...new Set(cids)])
    .execute();
  for (const row of rows) found.set(Number(row.cid), { ...row, pinLevel: row.pinLevel ?? null });
  return found;
}

/** What {@link listContents} reads: a page after `afterCid` (exclusive), of at most `limit`. */
export interface ListContentsOptions {
  afterCid?: number;
  /** Rows per page; default 1000. */
  limit?: number;
  /** Only contents on these levels (`[]`: none); absent: every level. */
  levels?: readonly string[];
}

/**
 * Lists contents by ascending cid, a page at a time (`afterCid` exclusive).
 *
 * With `levels` naming one level, a page is one range of the `content_level` index (InnoDB
 * keeps its entries as `(content_level, cid)`), so it reads only the rows it returns, whatever
 * the other levels hold. With several, MySQL walks the primary key and filters (rows of the other
 * levels are read and skipped): page one level at a time where that matters.
 */
export async function listContents(
  db: Executor,
  options: ListContentsOptions = {},
): Promise<Content[]> {
  const levels = options.levels;
  if (levels !== undefined && levels.length === 0) return [];
  let query = db
    .selectFrom('contents')
    .selectAll()
    .where('cid', '>', options.afterCid ?? -1);
  if (levels !== undefined) {
    query =
      levels.length === 1
        ? query.where('content_level', '=', levels[0] ?? '')
        : query.where('content_level', 'in', [...levels]);
  }
  return query
    .orderBy('cid')
    .limit(options.limit ?? 1000)
    .execute();
}

/** What {@link insertContent} needs: the content's id and the base name of its file. */
export interface NewContentInput {
  cid: number;
  filename: string;
  /** Size of the file in bytes when the caller saw it on the default tier; NULL = unknown. */
  sizeBytes?: number | null;
  /** Registration time; defaults to the database's clock. */
  now?: Date;
}

/**
 * Registers a content on the default tier (the level whose `min_counts` is 0), as the seed's
 * `insert_contents` did; `generate_time` and `update_time` are set to now.
 * Throws `CONTENT_EXISTS` for a known cid, `FILENAME_EXISTS` for a file name another content
 * uses (tier directories are shared) and `NO_DEFAULT_LEVEL` when no level starts at 0.
 */
export async function insertContent(db: Executor, input: NewContentInput): Promise<Content> {
  return db.transaction().execute((trx) => insertContentIn(trx, input));
}

async function insertContentIn(db: Executor, input: NewContentInput): Promise<Content> {
  const now = input.now ?? null;
  const size = input.sizeBytes ?? null;
  const timeExpr = now ? sql<Date>`${now}` : sql<Date>`current_timestamp(3)`;
  let inserted: bigint | undefined;
  try {
    const result = await db
      .insertInto('contents')
      .columns([
        'cid',
        'content_level',
        'filename',
        'view_count',
        'size_bytes',
        'generate_time',
        'update_time',
      ])
      .expression((eb) =>
        eb
          .selectFrom('level')
          .select([
            sql<number>`${input.cid}`.as('cid'),
            'content_level',
            sql<string>`${input.filename}`.as('filename'),
            sql<number>`0`.as('view_count'),
            sql<number | null>`${size}`.as('size_bytes'),
            timeExpr.as('generate_time'),
            timeExpr.as('update_time'),
          ])
          .where('min_counts', '=', 0)
          .limit(1),
      )
      .executeTakeFirst();
    inserted = result.numInsertedOrUpdatedRows;
  } catch (error) {
    if (isDuplicateKeyError(error)) {
      if ((error as Error).message.includes('contents_filename_unique')) {
        throw new DbError(
          'FILENAME_EXISTS',
          `another content already uses the file name ${JSON.stringify(input.filename)}`,
          { cause: error },
        );
      }
      throw new DbError('CONTENT_EXISTS', `content ${input.cid} already exists`, { cause: error });
    }
    throw error;
  }
  if (!inserted) {
    throw new DbError('NO_DEFAULT_LEVEL', 'no level has min_counts 0, so there is no default tier');
  }
  const content = await getContent(db, input.cid);
  if (!content) throw new Error(`content ${input.cid} vanished right after insert`);
  await adjustTierUsage(db, input.cid, [
    { level: content.content_level, files: 1, bytes: size ?? 0 },
  ]);
  return content;
}

/** The known file sizes of `cids` (contents without one, or unknown cids, are left out). */
export async function contentSizes(
  db: Executor,
  cids: readonly number[],
): Promise<Map<number, number>> {
  const sizes = new Map<number, number>();
  for (let i = 0; i < cids.length; i += 1000) {
    const rows = await db
      .selectFrom('contents')
      .select(['cid', 'size_bytes'])
      .where('cid', 'in', cids.slice(i, i + 1000))
      .where('size_bytes', 'is not', null)
      .execute();
    for (const row of rows) sizes.set(Number(row.cid), Number(row.size_bytes));
  }
  return sizes;
}
