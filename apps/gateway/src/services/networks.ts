import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** An address block: `10.0.0.0/8`, or one address (`192.168.1.5` is `192.168.1.5/32`). */
export interface NetworkBlock {
  readonly family: 'ipv4' | 'ipv6';
  readonly address: string;
  /** Prefix length in bits: 0-32 for IPv4, 0-128 for IPv6. */
  readonly prefix: number;
}

/** What {@link parseNetworkList} read: the blocks, and one line per bad entry. */
export interface ParsedNetworks {
  readonly blocks: readonly NetworkBlock[];
  readonly problems: readonly string[];
}

/** Reads one `address` or `address/prefix`, or returns `null` when it is neither. */
export function parseNetworkBlock(text: string): NetworkBlock | null {
  const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  if (!match?.[1]) return null;
  const address = match[1];
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
  // A zone (`fe80::1%eth0`) names an interface of this host, never a client network.
  if (family === null || address.includes('%')) return null;
  const bits = family === 'ipv4' ? 32 : 128;
  const prefix = match[2] === undefined ? bits : Number(match[2]);
  if (prefix > bits) return null;
  return Object.freeze({ family, address, prefix });
}

/**
 * Reads a comma-separated list of addresses and CIDR blocks, IPv4 or IPv6
 * (`10.0.0.0/8,192.168.1.5,fd00::/8`). Empty entries are skipped; each bad entry gets one issue
 * line (`<variable>: "10.0.0.0/33" is not …`).
 */
export function parseNetworkList(value: string, variable: string): ParsedNetworks {
  const blocks: NetworkBlock[] = [];
  const problems: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const block = parseNetworkBlock(entry);
    if (block === null) {
      problems.push(
        `${variable}: "${entry}" is not an IPv4 or IPv6 address or CIDR block (e.g. 10.0.0.0/8, 192.168.1.5, fd00::/8)`,
      );
    } else {
      blocks.push(block);
    }
  }
  return { blocks, problems };
}

// An IPv4 client of a dual-stack socket shows as `::ffff:10.1.2.3`.
const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * A test of client addresses against `blocks` (Node's `net.BlockList`). An IPv4-mapped IPv6
 * address (`::ffff:10.1.2.3`) is tested as the IPv4 address it carries; anything that is not an
 * address matches nothing.
 */
export function networkMatcher(blocks: readonly NetworkBlock[]): (address: string) => boolean {
  const list = new BlockList();
  for (const block of blocks) list.addSubnet(block.address, block.prefix, block.family);
  return (address) => {
    const mapped = IPV4_MAPPED.exec(address)?.[1];
    const ip = mapped ?? address;
    if (isIPv4(ip)) return list.check(ip, 'ipv4');
    if (isIPv6(ip)) return list.check(ip, 'ipv6');
    return false;
  };
}

/**
 * Which proxies Fastify believes about the client address (`X-Forwarded-For`): `false` (none:
 * the client is the peer), `true` (any), a number of hops, or addresses, CIDR blocks and the names
 * `loopback`, `linklocal`, `uniquelocal` (Fastify's `trustProxy`, read by proxy-addr).
 */
export type TrustProxy = boolean | number | readonly string[];

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/** Reads a TRUST_PROXY value: `true`, `false`, a hop count, or a list (see {@link TrustProxy}). */
export function parseTrustProxy(
  value: string,
  variable = 'TRUST_PROXY',
): { value: TrustProxy; problems: string[] } {
  const word = value.toLowerCase();
  if (word === 'true') return { value: true, problems: [] };
  if (word === 'false') return { value: false, problems: [] };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops <= 100) return { value: hops, problems: [] };
    return { value: false, problems: [`${variable}: a hop count must be at most 100`] };
  }
  const entries: string[] = [];
  const problems: string[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    if (PROXY_NAMES.includes(entry) || parseNetworkBlock(entry) !== null) {
      entries.push(entry);
    } else {
      problems.push(
        `${variable}: "${entry}" is not true, false, a hop count, an address, a CIDR block or one of ${PROXY_NAMES.join(', ')}`,
      );
    }
  }
  return { value: Object.freeze(entries), problems };
}

/**
 * {@link TrustProxy} as Fastify's `trustProxy` option takes it: a hop count becomes the test
 * Fastify itself builds for one ("trust the first `n` hops"), which its types do not accept.
 */
export function fastifyTrustProxy(
  value: TrustProxy,
): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return (_address, hop) => hop < value;
  return [...value];
}
