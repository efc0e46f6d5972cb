import { readFileSync } from 'node:fs';
import { flag } from '@relocation/runtime';
import {
  apiKeysFileEntries,
  apiKeysListEntries,
  parseApiKeyEntries,
  type ApiKey,
  type ApiKeyEntry,
} from './api-keys.ts';
import {
  parseNetworkList,
  parseTrustProxy,
  type NetworkBlock,
  type TrustProxy,
} from './networks.ts';

/** Who may call what: the API keys and the legacy endpoints' restrictions. */
export interface AccessSettings {
  /**
   * API_KEYS and API_KEYS_FILE together. Empty: the API is open as before keys existed (the admin
   * routes still need ADMIN_USER / ADMIN_PASSWORD).
   */
  readonly apiKeys: readonly ApiKey[];
  /** LEGACY_ALLOW: the networks the legacy endpoints answer; `null` = any address. */
  readonly legacyAllow: readonly NetworkBlock[] | null;
  /** LEGACY_REQUIRE_KEY: the legacy endpoints need the player role. */
  readonly legacyRequireKey: boolean;
}

/** The raw (trimmed, non-empty) values {@link readAccessSettings} reads. */
export interface AccessVariables {
  readonly API_KEYS?: string;
  readonly API_KEYS_FILE?: string;
  readonly LEGACY_ALLOW?: string;
  readonly LEGACY_REQUIRE_KEY?: string;
  readonly TRUST_PROXY?: string;
}

/** Reads the file API_KEYS_FILE names (UTF-8); the default reads the file system. */
export type ReadKeysFile = (path: string) => string;

const readUtf8: ReadKeysFile = (path) => readFileSync(path, 'utf8');

/** The settings with nothing configured: open API, any address, Fastify's own client address. */
export const OPEN_ACCESS: AccessSettings = Object.freeze({
  apiKeys: Object.freeze([]),
  legacyAllow: null,
  legacyRequireKey: false,
});

/**
 * Reads API_KEYS, API_KEYS_FILE (read with `readFile`), LEGACY_ALLOW, LEGACY_REQUIRE_KEY and
 * TRUST_PROXY. Returns the settings and one issue line per problem, each starting with the
 * variable it blames: every bad key entry (by entry or line number and name), a name or hash used
 * twice (within or across the two sources), a key file that cannot be read or holds no entry,
 * every bad LEGACY_ALLOW or TRUST_PROXY entry, and LEGACY_REQUIRE_KEY without a player key. The
 * settings are only meaningful when there is no problem.
 */
export function readAccessSettings(
  values: AccessVariables,
  readFile: ReadKeysFile = readUtf8,
): { access: AccessSettings; trustProxy: TrustProxy; problems: string[] } {
  const problems: string[] = [];
  const entries: ApiKeyEntry[] = [];
  if (values.API_KEYS !== undefined) {
    const listed = apiKeysListEntries(values.API_KEYS);
    if (listed.length === 0) problems.push('API_KEYS: holds no entry (name:role:sha256hex,…)');
    entries.push(...listed);
  }
  if (values.API_KEYS_FILE !== undefined) {
    const path = values.API_KEYS_FILE;
    let text: string | null = null;
    try {
      text = readFile(path);
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      problems.push(`API_KEYS_FILE: cannot read "${path}" (${reason})`);
    }
    if (text !== null) {
      const lines = apiKeysFileEntries(text);
      // An empty file would silently open the API: refuse it.
      if (lines.length === 0) {
        problems.push(`API_KEYS_FILE: "${path}" holds no entry (one name:role:sha256hex a line)`);
      }
      entries.push(...lines);
    }
  }
  const keys = parseApiKeyEntries(entries);
  problems.push(...keys.problems);

  let legacyAllow: readonly NetworkBlock[] | null = null;
  if (values.LEGACY_ALLOW !== undefined) {
    const networks = parseNetworkList(values.LEGACY_ALLOW, 'LEGACY_ALLOW');
    problems.push(...networks.problems);
    if (networks.blocks.length === 0 && networks.problems.length === 0) {
      problems.push('LEGACY_ALLOW: holds no address or network');
    }
    legacyAllow = Object.freeze([...networks.blocks]);
  }

  // The flag's own value is checked by the schema; here only whether it can be satisfied.
  const requireKey = flag(false).safeParse(values.LEGACY_REQUIRE_KEY);
  const legacyRequireKey = requireKey.success && requireKey.data;
  if (legacyRequireKey && !keys.keys.some((key) => key.role === 'player')) {
    problems.push(
      'LEGACY_REQUIRE_KEY: needs at least one API key with the player role (API_KEYS or API_KEYS_FILE)',
    );
  }

  let trustProxy: TrustProxy = false;
  if (values.TRUST_PROXY !== undefined) {
    const parsed = parseTrustProxy(values.TRUST_PROXY);
    problems.push(...parsed.problems);
    trustProxy = parsed.value;
  }

  return {
    access: Object.freeze({
      apiKeys: Object.freeze([...keys.keys]),
      legacyAllow,
      legacyRequireKey,
    }),
    trustProxy,
    problems,
  };
}
