import { z } from 'zod';

// Field schemas for environment variables. `loadEnv` has already trimmed each value and turned
// an empty one into `undefined`, so a field sees a non-empty string or `undefined` (unset, which
// takes the default). Messages do not name the variable: `loadEnv` puts the name in front.

/** Bounds and default of {@link wholeNumber}. */
export interface WholeNumberOptions {
  readonly min: number;
  /** Inclusive; `Number.MAX_SAFE_INTEGER` when omitted. */
  readonly max?: number;
  readonly fallback: number;
}

/** A whole number written in decimal digits only (no sign, point or exponent) within bounds. */
export function wholeNumber({ min, max = Number.MAX_SAFE_INTEGER, fallback }: WholeNumberOptions) {
  const message =
    max === Number.MAX_SAFE_INTEGER
      ? `must be a whole number of at least ${min}`
      : `must be a whole number from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return value;
    });
}

const TRUE = ['true', '1', 'yes'];
const FALSE = ['false', '0', 'no'];

/** A boolean: `true`/`1`/`yes` or `false`/`0`/`no`, in any letter case. */
export function flag(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = raw.toLowerCase();
      if (TRUE.includes(value)) return true;
      if (FALSE.includes(value)) return false;
      ctx.addIssue({ code: 'custom', message: 'must be true or false (or 1/0, yes/no)' });
      return z.NEVER;
    });
}

/** Any non-empty text, such as a host name or a directory. */
export function text(fallback: string) {
  return z
    .string()
    .optional()
    .transform((raw) => raw ?? fallback);
}

/** One of a fixed list of words, matched exactly. */
export function oneOf<const T extends readonly [string, ...string[]]>(
  values: T,
  fallback: T[number],
) {
  return z
    .enum(values, { error: `must be one of ${values.join(', ')}` })
    .optional()
    .transform((value) => value ?? fallback);
}

/** Milliseconds in an hour, for bounds of settings given in milliseconds. */
export const HOUR_MS = 3_600_000;

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: HOUR_MS,
  d: 24 * HOUR_MS,
};

/**
 * Parses `0`/`off`, a number of milliseconds, or a duration with a unit (`ms`, `s`, `m`, `h`,
 * `d`: `30s`, `15m`, `1h`, `1d`) into milliseconds; null when it is none of these.
 */
export function parseDuration(raw: string): number | null {
  if (raw === 'off' || raw === '0') return 0;
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(raw);
  if (!match) return null;
  const ms = Number(match[1]) * (DURATION_UNITS[match[2] ?? 'ms'] ?? 1);
  return Number.isSafeInteger(ms) ? ms : null;
}

/**
 * A duration in milliseconds as a person (and {@link parseDuration}) reads it: in the largest
 * whole unit among d, h, m and s, else in ms (`6h`, `90s`, `250ms`).
 */
export function durationText(ms: number): string {
  for (const [unit, size] of Object.entries(DURATION_UNITS).sort(([, a], [, b]) => b - a)) {
    if (size > 1 && ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Shortest and default of {@link duration}, in milliseconds. */
export interface DurationOptions {
  /** Least accepted duration other than `off` (0). */
  readonly minMs: number;
  readonly fallbackMs: number;
}

/** `off`/`0`, or a duration of at least `minMs` read by {@link parseDuration}; in milliseconds. */
export function duration({ minMs, fallbackMs }: DurationOptions) {
  const least = minMs % 1000 === 0 ? `${minMs / 1000}s` : `${minMs}ms`;
  const message = `must be off, or a duration of at least ${least} such as 30s, 15m, 1h, 1d`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallbackMs;
      const ms = parseDuration(raw);
      if (ms === null || (ms > 0 && ms < minMs)) {
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
      return ms;
    });
}

/** A network address: a host name or IP address and a TCP port. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

// `host:port` with a host name or IPv4 address, or `[ipv6]:port`.
const HOST_PORT =
  /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/** Parses `host:port` or `[ipv6]:port` with a port from 1 to 65535; null when it is neither. */
export function parseHostPort(raw: string): HostPort | null {
  const match = HOST_PORT.exec(raw);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) return null;
  return Object.freeze({ host, port });
}

/**
 * A comma-separated list of `host:port` addresses (see {@link parseHostPort}), frozen; `null`
 * when unset. Blanks around the commas are ignored; the same address twice counts once.
 */
export function hostPorts(example: string) {
  const message = `must be a comma-separated list of host:port such as ${example}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return null;
      const seen = new Map<string, HostPort>();
      for (const part of raw.split(',')) {
        const address = parseHostPort(part.trim());
        if (address === null) {
          ctx.addIssue({ code: 'custom', message });
          return z.NEVER;
        }
        seen.set(`${address.host}:${address.port}`, address);
      }
      return Object.freeze([...seen.values()]);
    });
}

/**
 * A comma-separated list of `from=to` address pairs (each side read by {@link parseHostPort}),
 * as a frozen map from `host:port` of `from` to the address `to`; `null` when unset. A `from`
 * given twice is refused.
 */
export function hostPortMap(example: string) {
  const message = `must be a comma-separated list of host:port=host:port pairs such as ${example}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return null;
      const map: Record<string, HostPort> = {};
      for (const part of raw.split(',')) {
        const [fromText, toText, extra] = part.split('=').map((side) => side.trim());
        const from = parseHostPort(fromText ?? '');
        const to = parseHostPort(toText ?? '');
        const key = from === null ? '' : `${from.host}:${from.port}`;
        if (from === null || to === null || extra !== undefined || key in map) {
          ctx.addIssue({ code: 'custom', message });
          return z.NEVER;
        }
        map[key] = to;
      }
      return Object.freeze(map);
    });
}
