import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * The roles an API key can have. `player` posts view reports, `catalog` registers contents,
 * `viewer` reads (status, history, stuck list, levels, metrics) and `operator` may do everything,
 * admin commands included.
 */
export const ROLES = ['player', 'catalog', 'viewer', 'operator'] as const;

/** One role of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/**
 * A configured API key: a unique name (recorded as who acted), its role and the hex SHA-256 of
 * the key (lower case); the key itself is never configured.
 */
export interface ApiKey {
  readonly name: string;
  readonly role: Role;
  readonly sha256: string;
}

/** What {@link parseApiKeyEntries} read: the valid keys, and one line per bad entry. */
export interface ParsedApiKeys {
  readonly keys: readonly ApiKey[];
  readonly problems: readonly string[];
}

/** One entry to parse: its text, and how an issue line names it (`API_KEYS: entry 2`). */
export interface ApiKeyEntry {
  readonly text: string;
  readonly where: string;
}

// A name is logged and recorded in the audit trail: no separators, no white space.
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const SHA256_PATTERN = /^[0-9a-fA-F]{64}$/;

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** The hex SHA-256 of `key` (UTF-8), as `printf %s "$KEY" | sha256sum` prints it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/**
 * Splits the value of `API_KEYS` into entries (comma-separated; empty entries are skipped), each
 * named `API_KEYS: entry <n>` in issue lines.
 */
export function apiKeysListEntries(value: string, variable = 'API_KEYS'): ApiKeyEntry[] {
  return value
    .split(',')
    .map((text, i) => ({ text: text.trim(), where: `${variable}: entry ${i + 1}` }))
    .filter((entry) => entry.text !== '');
}

/**
 * Splits the text of an `API_KEYS_FILE` into entries: one a line, `#` starts a comment, blank
 * lines are skipped; each is named `API_KEYS_FILE: line <n>` in issue lines.
 */
export function apiKeysFileEntries(text: string, variable = 'API_KEYS_FILE'): ApiKeyEntry[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({
      text: line.replace(/#.*$/, '').trim(),
      where: `${variable}: line ${i + 1}`,
    }))
    .filter((entry) => entry.text !== '');
}

/**
 * Reads `name:role:sha256hex` entries. Returns the valid keys and one issue line per bad entry,
 * naming it: a malformed entry, an unknown role, a hash that is not 64 hex digits, or a name or
 * hash another entry uses already. A line never echoes the hash field, in case a key was written
 * there by mistake.
 */
export function parseApiKeyEntries(entries: readonly ApiKeyEntry[]): ParsedApiKeys {
  const keys: ApiKey[] = [];
  const problems: string[] = [];
  const names = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const { text, where } of entries) {
    const fields = text.split(':').map((field) => field.trim());
    const [name = '', role = '', sha256 = ''] = fields;
    if (fields.length !== 3) {
      problems.push(`${where}: must be name:role:sha256hex (three fields separated by ":")`);
      continue;
    }
    const label = NAME_PATTERN.test(name) ? `${where} ("${name}")` : where;
    const entryProblems: string[] = [];
    if (!NAME_PATTERN.test(name)) {
      entryProblems.push(
        'the name must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)',
      );
    }
    if (!(ROLES as readonly string[]).includes(role)) {
      entryProblems.push(`the role must be one of ${ROLES.join(', ')} (got "${role}")`);
    }
    if (!SHA256_PATTERN.test(sha256)) {
      entryProblems.push(
        'the hash must be 64 hex digits: the SHA-256 of the key (printf %s "$KEY" | sha256sum), never the key itself',
      );
    }
    const hash = sha256.toLowerCase();
    const sameName = names.get(name);
    if (sameName !== undefined) {
      entryProblems.push(`the name "${name}" is used by ${sameName} already; names must be unique`);
    }
    const sameHash = hashes.get(hash);
    if (entryProblems.length === 0 && sameHash !== undefined) {
      entryProblems.push(`the same key hash as ${sameHash}; give each key its own value`);
    }
    if (entryProblems.length > 0) {
      problems.push(`${label}: ${entryProblems.join('; ')}`);
      continue;
    }
    names.set(name, where);
    hashes.set(hash, `${where} ("${name}")`);
    keys.push(Object.freeze({ name, role: role as Role, sha256: hash }));
  }
  return { keys, problems };
}

/**
 * The configured keys, looked up by the key a caller presents: the key is hashed and compared
 * with every entry's hash in constant time, so the time taken says nothing about which entry (if
 * any) it matched.
 */
export class ApiKeyRing {
  readonly #entries: readonly { key: ApiKey; digest: Buffer }[];

  constructor(keys: readonly ApiKey[]) {
    this.#entries = keys.map((key) => ({ key, digest: Buffer.from(key.sha256, 'hex') }));
  }

  /** How many keys are configured; 0 leaves the API open as before keys existed. */
  get size(): number {
    return this.#entries.length;
  }

  /** The entry whose hash is the SHA-256 of `presented`, or `null`. */
  find(presented: string): ApiKey | null {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: ApiKey | null = null;
    // Every entry is compared, whether or not an earlier one matched.
    for (const entry of this.#entries) {
      if (timingSafeEqual(digest, entry.digest) && found === null) found = entry.key;
    }
    return found;
  }
}
