import { ConfigError } from '@relocation/runtime';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config.ts';
import { readAccessSettings } from './access-settings.ts';
import { ApiKeyRing, hashApiKey } from './api-keys.ts';
import { networkMatcher, parseNetworkList, parseTrustProxy } from './networks.ts';

const H1 = hashApiKey('key-one');
const H2 = hashApiKey('key-two');
const H3 = hashApiKey('key-three');

function issuesOf(env: Record<string, string>, files: Record<string, string> = {}): string[] {
  try {
    loadConfig(env, { readKeysFile: (path) => readFrom(files, path) });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function readFrom(files: Record<string, string>, path: string): string {
  const text = files[path];
  if (text === undefined) {
    throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
  }
  return text;
}

describe('API_KEYS and API_KEYS_FILE', () => {
  it('reads name:role:sha256hex entries from both, storing the hash in lower case', () => {
    const { access, problems } = readAccessSettings(
      { API_KEYS: ` edge:player:${H1.toUpperCase()} , cms:catalog:${H2},`, API_KEYS_FILE: 'k' },
      () => `# operators\n\nalice:operator:${H3}   # added 2024-05\n`,
    );
    expect(problems).toEqual([]);
    expect(access.apiKeys).toEqual([
      { name: 'edge', role: 'player', sha256: H1 },
      { name: 'cms', role: 'catalog', sha256: H2 },
      { name: 'alice', role: 'operator', sha256: H3 },
    ]);
  });

  it('reports every bad entry on its own line, naming it, without echoing the hash field', () => {
    const rawKey = 'f'.repeat(40);
    const issues = issuesOf({
      PORT: 'abc',
      API_KEYS: [
        `edge:player:${H1}`,
        `cms:admin:${H2}`,
        `grafana:viewer:${rawKey}`,
        'just-a-key',
        `bad name:viewer:${H3}`,
        `edge:viewer:${H3}`,
      ].join(','),
    });
    expect(issues).toEqual([
      expect.stringMatching(/^PORT: /),
      'API_KEYS: entry 2 ("cms"): the role must be one of player, catalog, viewer, operator (got "admin")',
      'API_KEYS: entry 3 ("grafana"): the hash must be 64 hex digits: the SHA-256 of the key (printf %s "$KEY" | sha256sum), never the key itself',
      'API_KEYS: entry 4: must be name:role:sha256hex (three fields separated by ":")',
      'API_KEYS: entry 5: the name must be 1-64 letters, digits or . _ @ - (starting with a letter or digit)',
      'API_KEYS: entry 6 ("edge"): the name "edge" is used by API_KEYS: entry 1 already; names must be unique',
    ]);
    expect(issues.join('\n')).not.toContain(rawKey);
    expect(issues.join('\n')).not.toContain('just-a-key');
  });

  it('refuses a name or a key used twice across API_KEYS and API_KEYS_FILE', () => {
    const issues = issuesOf(
      { API_KEYS: `edge:player:${H1}`, API_KEYS_FILE: '/etc/keys' },
      { '/etc/keys': `# keys\nedge:viewer:${H2}\nedge2:player:${H1}\n` },
    );
    expect(issues).toEqual([
      'API_KEYS_FILE: line 2 ("edge"): the name "edge" is used by API_KEYS: entry 1 already; names must be unique',
      'API_KEYS_FILE: line 3 ("edge2"): the same key hash as API_KEYS: entry 1 ("edge"); give each key its own value',
    ]);
  });

  it('refuses a key file that cannot be read or holds no entry (it would open the API)', () => {
    expect(issuesOf({ API_KEYS_FILE: '/missing' })).toEqual([
      'API_KEYS_FILE: cannot read "/missing" (ENOENT)',
    ]);
    expect(issuesOf({ API_KEYS_FILE: '/empty' }, { '/empty': '# nobody yet\n\n' })).toEqual([
      'API_KEYS_FILE: "/empty" holds no entry (one name:role:sha256hex a line)',
    ]);
    expect(issuesOf({ API_KEYS: ',,' })).toEqual([
      'API_KEYS: holds no entry (name:role:sha256hex,…)',
    ]);
  });

  it('finds the entry of a presented key, and none for any other', () => {
    const ring = new ApiKeyRing([
      { name: 'edge', role: 'player', sha256: H1 },
      { name: 'alice', role: 'operator', sha256: H3 },
    ]);
    expect(ring.find('key-three')?.name).toBe('alice');
    expect(ring.find('key-one')?.name).toBe('edge');
    expect(ring.find('key-two')).toBeNull();
    expect(ring.find(H1)).toBeNull();
    expect(new ApiKeyRing([]).find('key-one')).toBeNull();
  });
});

describe('LEGACY_ALLOW, LEGACY_REQUIRE_KEY and TRUST_PROXY', () => {
  it('reports each bad network entry on its own line', () => {
    expect(
      issuesOf({ LEGACY_ALLOW: '10.0.0.0/8, 10.0.0.0/33,192.168.1.5,example.com,fe80::1%eth0' }),
    ).toEqual([
      'LEGACY_ALLOW: "10.0.0.0/33" is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)',
      'LEGACY_ALLOW: "example.com" is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)',
      'LEGACY_ALLOW: "fe80::1%eth0" is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)',
    ]);
  });

  it('refuses LEGACY_REQUIRE_KEY without a player key to satisfy it', () => {
    expect(issuesOf({ LEGACY_REQUIRE_KEY: 'true', API_KEYS: `ops:operator:${H1}` })).toEqual([
      'LEGACY_REQUIRE_KEY: needs at least one API key with the player role (API_KEYS or API_KEYS_FILE)',
    ]);
    expect(issuesOf({ LEGACY_REQUIRE_KEY: 'maybe' })).toEqual([
      'LEGACY_REQUIRE_KEY: must be true or false (or 1/0, yes/no) (got "maybe")',
    ]);
  });

  it.each<[string, unknown]>([
    ['true', true],
    ['FALSE', false],
    ['0', 0],
    ['2', 2],
    ['loopback, 10.0.0.0/8,fd00::1', ['loopback', '10.0.0.0/8', 'fd00::1']],
  ])('reads TRUST_PROXY=%s', (value, expected) => {
    expect(parseTrustProxy(value)).toEqual({ value: expected, problems: [] });
  });

  it('refuses a TRUST_PROXY that is none of its forms', () => {
    expect(issuesOf({ TRUST_PROXY: 'yes-please,10.0.0.1' })).toEqual([
      'TRUST_PROXY: "yes-please" is not true, false, a hop count, an address, a CIDR block or one of loopback, linklocal, uniquelocal',
    ]);
  });

  it.each<[string, boolean]>([
    ['10.0.0.0', true],
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['9.255.255.255', false],
    ['192.168.1.5', true],
    ['192.168.1.6', false],
    ['192.168.1.4', false],
    ['::ffff:10.1.2.3', true],
    ['::ffff:192.168.1.6', false],
    ['fd00::1', true],
    ['fdff:ffff::1', true],
    ['fe00::1', false],
    ['2001:db8::1', false],
    ['not-an-address', false],
  ])('LEGACY_ALLOW=10.0.0.0/8,192.168.1.5,fd00::/8 matches %s: %s', (address, expected) => {
    const { blocks } = parseNetworkList('10.0.0.0/8,192.168.1.5,fd00::/8', 'LEGACY_ALLOW');
    expect(networkMatcher(blocks)(address)).toBe(expected);
  });
});
