import { Kysely, MysqlDialect } from 'kysely';
import { createConnection, createPool, type PoolOptions } from 'mysql2';
import type { Database } from './schema.ts';

/** Connection settings parsed from a `mysql://user:password@host:port/database` URL. */
export interface DatabaseUrlParts {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Options for {@link createDb}. */
export interface CreateDbOptions {
  /** Most connections the pool opens at once. */
  connectionLimit?: number;
  /** Milliseconds to wait for a TCP connection before failing. */
  connectTimeoutMs?: number;
}

/** Parses a `mysql://` (or `mariadb://`) URL; throws a `TypeError` naming what is wrong. */
export function parseDatabaseUrl(url: string): DatabaseUrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`not a URL: expected mysql://user:password@host:3306/database`);
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new TypeError(`protocol must be mysql: (got ${parsed.protocol})`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(database)) {
    throw new TypeError('the URL must name a database made of letters, digits, _ or $');
  }
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 3306,
    user: decodeURIComponent(parsed.username || 'root'),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

function poolOptions(parts: DatabaseUrlParts, options: CreateDbOptions): PoolOptions {
  return {
    host: parts.host,
    port: parts.port,
    user: parts.user,
    password: parts.password,
    database: parts.database,
    connectionLimit: options.connectionLimit ?? 10,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // Dates are stored and read as UTC; counts are BIGINT but stay below 2^53.
    timezone: 'Z',
    supportBigNumbers: true,
    dateStrings: false,
    enableKeepAlive: true,
  };
}

/** Creates a Kysely instance over a mysql2 pool; the caller owns it and calls `destroy()`. */
export function createDb(url: string, options: CreateDbOptions = {}): Kysely<Database> {
  const parts = parseDatabaseUrl(url);
  return new Kysely<Database>({
    dialect: new MysqlDialect({ pool: createPool(poolOptions(parts, options)) }),
  });
}

/** Creates the URL's database when it does not exist yet (connects without selecting one). */
export async function ensureDatabase(url: string): Promise<void> {
  const parts = parseDatabaseUrl(url);
  const conn = createConnection({
    host: parts.host,
    port: parts.port,
    user: parts.user,
    password: parts.password,
    connectTimeout: 5000,
  }).promise();
  try {
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS \`${parts.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    );
  } finally {
    await conn.end();
  }
}

/** Drops the URL's database if it exists; for tests. */
export async function dropDatabase(url: string): Promise<void> {
  const parts = parseDatabaseUrl(url);
  const conn = createConnection({
    host: parts.host,
    port: parts.port,
    user: parts.user,
    password: parts.password,
  }).promise();
  try {
    await conn.query(`DROP DATABASE IF EXISTS \`${parts.database}\``);
  } finally {
    await conn.end();
  }
}
