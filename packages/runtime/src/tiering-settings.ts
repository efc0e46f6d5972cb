import {
  DEFAULT_FLAP_BUDGET,
  validateLevels,
  type ChooseTierOptions,
  type FlapBudget,
  type RateThresholds,
  type ViewRatePolicy,
} from '@relocation/tiering';
import { z } from 'zod';
import { ConfigError } from './config-error.ts';
import { durationText, HOUR_MS, oneOf, parseDuration, wholeNumber } from './env-fields.ts';

// Field schemas of the placement policy's shared settings (`TIERING_*`), read by `baseEnvSchema`
// and turned into the one `ChooseTierOptions` both apps decide with by `tieringOptions`.

/** Longest minimum residence, in milliseconds (TIERING_MIN_RESIDENCE_MS and per level): a year. */
export const MAX_RESIDENCE_MS = 365 * 24 * HOUR_MS;

/** Shortest flap budget window, in milliseconds. */
export const MIN_FLAP_WINDOW_MS = 1000;

/** Longest flap budget window, in milliseconds: a year. */
export const MAX_FLAP_WINDOW_MS = 365 * 24 * HOUR_MS;

/**
 * The hysteresis band as configured: whole `views`, or a `percent` (0–100) of the boundary being
 * crossed.
 */
export type HysteresisSetting =
  | { readonly unit: 'views'; readonly value: number }
  | { readonly unit: 'percent'; readonly value: number };

const HYSTERESIS_MESSAGE =
  'must be a whole number of views (e.g. 50) or a percent of the boundary from 0% to 100% (e.g. 2%, 2.5%)';

/** `TIERING_HYSTERESIS`: whole views (`50`) or a percent of the boundary (`2%`, `2.5%`). */
export function hysteresis() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): HysteresisSetting => {
      if (raw === undefined) return { unit: 'views', value: 0 };
      const views = /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
      if (Number.isSafeInteger(views)) return { unit: 'views', value: views };
      const percent = /^\d+(\.\d+)?%$/.test(raw) ? Number(raw.slice(0, -1)) : Number.NaN;
      if (percent >= 0 && percent <= 100) return { unit: 'percent', value: percent };
      ctx.addIssue({ code: 'custom', message: HYSTERESIS_MESSAGE });
      return z.NEVER;
    });
}

/** `TIERING_MIN_RESIDENCE_MS`: whole milliseconds from 0 to a year, default 0. */
export function minResidenceMs() {
  return wholeNumber({ min: 0, max: MAX_RESIDENCE_MS, fallback: 0 });
}

/**
 * The level-name rule of `validateLevels` (1–64 characters of `[A-Za-z0-9_-]`), asked of the
 * validator itself so that a setting can never accept a name the level table refuses.
 */
function isLevelName(name: string): boolean {
  const checked = validateLevels([{ name, minCount: 0, maxCount: null, path: '/' }]);
  return checked.ok || !checked.errors.some((error) => error.rule === 'invalid-name');
}

/**
 * The problems of one `level=duration` entry of TIERING_MIN_RESIDENCE_BY_LEVEL, or its parsed
 * value.
 */
function readResidenceEntry(entry: string): { name: string; ms: number } | string {
  const at = entry.indexOf('=');
  if (at < 0) return `entry ${JSON.stringify(entry)} must be level=duration (e.g. gold=1h)`;
  const name = entry.slice(0, at).trim();
  const text = entry.slice(at + 1).trim();
  if (!isLevelName(name)) {
    return `level ${JSON.stringify(name)} must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`;
  }
  const ms = parseDuration(text);
  if (ms === null || ms > MAX_RESIDENCE_MS) {
    return `${name}=${text}: the duration must be off, or such as 30s, 15m, 1h, 1d (at most 365d)`;
  }
  return { name, ms };
}

/**
 * `TIERING_MIN_RESIDENCE_BY_LEVEL`: comma-separated `level=duration` entries (`gold=1h,silver=10m`),
 * durations as {@link parseDuration} reads them (at most a year); default none. Returns a frozen
 * record without a prototype (a level named `constructor` finds no inherited value). Each bad
 * entry is one issue; a level named twice is refused. Names are not checked against the level
 * table (it lives in MySQL): an entry for a level the table does not have is never used.
 */
export function minResidenceByLevel() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): Readonly<Record<string, number>> => {
      const byLevel: Record<string, number> = Object.create(null) as Record<string, number>;
      if (raw === undefined) return Object.freeze(byLevel);
      let bad = false;
      for (const entry of raw.split(',').map((part) => part.trim())) {
        const read = readResidenceEntry(entry);
        let message = typeof read === 'string' ? read : null;
        if (typeof read !== 'string' && Object.hasOwn(byLevel, read.name)) {
          message = `level ${read.name} is given twice`;
        }
        if (message !== null) {
          ctx.addIssue({ code: 'custom', message: `${message}; expected e.g. gold=1h,silver=10m` });
          bad = true;
        } else if (typeof read !== 'string') {
          byLevel[read.name] = read.ms;
        }
      }
      return bad ? z.NEVER : Object.freeze(byLevel);
    });
}

const FLAP_BUDGET_MESSAGE =
  'must be off, or moves per window such as 4/1h (moves: a whole number of at least 1; window: a duration from 1s to 365d such as 30m, 1h, 1d)';

/**
 * `TIERING_FLAP_BUDGET`: `moves/window` (`4/1h`: at most 4 tier changes of a content in any hour)
 * or `off` (`null`, no budget); default `DEFAULT_FLAP_BUDGET` of `@relocation/tiering`.
 */
export function flapBudget() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): FlapBudget | null => {
      if (raw === undefined) return DEFAULT_FLAP_BUDGET;
      if (raw === 'off') return null;
      const match = /^(\d+)\s*\/\s*(\S+)$/.exec(raw);
      const moves = Number(match?.[1]);
      const windowMs = match?.[2] === undefined ? null : parseDuration(match[2]);
      if (
        !Number.isSafeInteger(moves) ||
        moves < 1 ||
        windowMs === null ||
        windowMs < MIN_FLAP_WINDOW_MS ||
        windowMs > MAX_FLAP_WINDOW_MS
      ) {
        ctx.addIssue({ code: 'custom', message: FLAP_BUDGET_MESSAGE });
        return z.NEVER;
      }
      return Object.freeze({ moves, windowMs });
    });
}

/** What decides a content's tier: its total `count` (the seed's rule, the default) or its view `rate`. */
export const TIERING_POLICIES = ['count', 'rate'] as const;

/** One of {@link TIERING_POLICIES}. */
export type TieringPolicy = (typeof TIERING_POLICIES)[number];

/** `TIERING_POLICY`: `count` (default) or `rate`. */
export function tieringPolicy() {
  return oneOf(TIERING_POLICIES, 'count');
}

/** Default of `TIERING_RATE_HALF_LIFE`: six hours. */
export const DEFAULT_RATE_HALF_LIFE_MS = 6 * HOUR_MS;

/** Shortest `TIERING_RATE_HALF_LIFE`: a minute. */
export const MIN_RATE_HALF_LIFE_MS = 60_000;

/** Longest `TIERING_RATE_HALF_LIFE`: a year. */
export const MAX_RATE_HALF_LIFE_MS = 365 * 24 * HOUR_MS;

const HALF_LIFE_MESSAGE =
  'must be a duration from 1m to 365d such as 30m, 6h, 1d (the time in which the view rate of a content nobody watches halves)';

/** `TIERING_RATE_HALF_LIFE`: a duration from a minute to a year; default six hours. */
export function rateHalfLife() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      if (raw === undefined) return DEFAULT_RATE_HALF_LIFE_MS;
      const ms = parseDuration(raw);
      if (ms === null || ms < MIN_RATE_HALF_LIFE_MS || ms > MAX_RATE_HALF_LIFE_MS) {
        ctx.addIssue({ code: 'custom', message: HALF_LIFE_MESSAGE });
        return z.NEVER;
      }
      return ms;
    });
}

const RATE_NUMBER = /^\d+(\.\d+)?$/;

/**
 * The problems of one `level=promote/demote` entry of TIERING_RATE_THRESHOLDS, or its parsed
 * value. `level=n` is `level=n/n` (no band).
 */
function readThresholdEntry(entry: string): { name: string; thresholds: RateThresholds } | string {
  const at = entry.indexOf('=');
  if (at < 0)
    return `entry ${JSON.stringify(entry)} must be level=promote/demote (e.g. gold=100/50)`;
  const name = entry.slice(0, at).trim();
  const text = entry.slice(at + 1).trim();
  if (!isLevelName(name)) {
    return `level ${JSON.stringify(name)} must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'`;
  }
  const parts = text.split('/').map((part) => part.trim());
  const [promoteText, demoteText = promoteText] = parts;
  if (
    parts.length > 2 ||
    promoteText === undefined ||
    !RATE_NUMBER.test(promoteText) ||
    !RATE_NUMBER.test(demoteText ?? '')
  ) {
    return `${name}=${text}: the thresholds must be views per hour, promote/demote such as 100/50 (or one number for both)`;
  }
  const promote = Number(promoteText);
  const demote = Number(demoteText);
  if (!Number.isFinite(promote) || promote <= 0) {
    return `${name}=${text}: the promote threshold must be more than 0 views per hour`;
  }
  if (demote > promote) {
    return `${name}=${text}: the demote threshold (${demote}) must not be above the promote threshold (${promote})`;
  }
  return { name, thresholds: Object.freeze({ promote, demote }) };
}

/**
 * `TIERING_RATE_THRESHOLDS`: comma-separated `level=promote/demote` entries in views per hour
 * (`silver=20/10,gold=100/50`): a content is promoted into the level at or above `promote` and
 * demoted out of it below `demote` (`0 <= demote <= promote`, `promote > 0`; `level=n` is
 * `n/n`). The bottom level needs none; a level without an entry takes no part in the rate
 * policy. Default none (required with `TIERING_POLICY=rate`, see {@link tieringOptions}).
 * Returns a frozen record without a prototype; each bad entry is one issue, a level named twice
 * is refused.
 */
export function rateThresholds() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): Readonly<Record<string, RateThresholds>> => {
      const byLevel = Object.create(null) as Record<string, RateThresholds>;
      if (raw === undefined) return Object.freeze(byLevel);
      let bad = false;
      for (const entry of raw.split(',').map((part) => part.trim())) {
        const read = readThresholdEntry(entry);
        let message = typeof read === 'string' ? read : null;
        if (typeof read !== 'string' && Object.hasOwn(byLevel, read.name)) {
          message = `level ${read.name} is given twice`;
        }
        if (message !== null) {
          ctx.addIssue({
            code: 'custom',
            message: `${message}; expected e.g. silver=20/10,gold=100/50`,
          });
          bad = true;
        } else if (typeof read !== 'string') {
          byLevel[read.name] = read.thresholds;
        }
      }
      return bad ? z.NEVER : Object.freeze(byLevel);
    });
}

/** The parsed `TIERING_*` variables, as `baseEnvSchema` returns them. */
export interface TieringEnv {
  readonly TIERING_HYSTERESIS: HysteresisSetting;
  readonly TIERING_MIN_RESIDENCE_MS: number;
  readonly TIERING_MIN_RESIDENCE_BY_LEVEL: Readonly<Record<string, number>>;
  readonly TIERING_FLAP_BUDGET: FlapBudget | null;
  readonly TIERING_POLICY: TieringPolicy;
  readonly TIERING_RATE_HALF_LIFE: number;
  readonly TIERING_RATE_THRESHOLDS: Readonly<Record<string, RateThresholds>>;
}

/**
 * The view-rate policy of `TIERING_POLICY=rate` (`null` with `count`). Throws a `ConfigError`
 * when the rate policy is chosen without thresholds.
 */
export function viewRatePolicy(env: TieringEnv): ViewRatePolicy | null {
  if (env.TIERING_POLICY !== 'rate') return null;
  if (Object.keys(env.TIERING_RATE_THRESHOLDS).length === 0) {
    throw new ConfigError([
      'TIERING_RATE_THRESHOLDS: required with TIERING_POLICY=rate: the views per hour that promote into and demote out of each level above the bottom one, e.g. silver=20/10,gold=100/50',
    ]);
  }
  return Object.freeze({
    halfLifeMs: env.TIERING_RATE_HALF_LIFE,
    thresholds: env.TIERING_RATE_THRESHOLDS,
  });
}

/**
 * The one placement policy every part decides with (the gateway, the relocator, the plan, the
 * CLIs), from the shared `TIERING_*` settings: `hysteresis` (views) or `hysteresisPercent`,
 * `minResidenceMs`, `minResidenceByLevel`, `flapBudget` (`null` when `off`) and `viewRate`
 * (`null` with `TIERING_POLICY=count`). Frozen. Throws a `ConfigError` for
 * `TIERING_POLICY=rate` without `TIERING_RATE_THRESHOLDS`.
 */
export function tieringOptions(env: TieringEnv): ChooseTierOptions {
  const band = env.TIERING_HYSTERESIS;
  return Object.freeze({
    ...(band.unit === 'views' ? { hysteresis: band.value } : { hysteresisPercent: band.value }),
    minResidenceMs: env.TIERING_MIN_RESIDENCE_MS,
    minResidenceByLevel: env.TIERING_MIN_RESIDENCE_BY_LEVEL,
    flapBudget: env.TIERING_FLAP_BUDGET,
    viewRate: viewRatePolicy(env),
  });
}

/**
 * The placement policy `options` (as {@link tieringOptions} builds it) in the words of its
 * settings, for the CLIs that print what they decided with (`npm run plan`, `npm run replay`):
 * `count policy, hysteresis 2%, residence off, flap budget 4/1h` or
 * `rate policy (half-life 6h, silver=20/10,gold=100/50 views/h), residence 1h (gold 2h), flap
 * budget off`. `sweepEveryMs` adds the rate sweep's period to a rate policy (`null`: no sweep).
 */
export function policyText(options: ChooseTierOptions, sweepEveryMs?: number | null): string {
  const residenceMs = options.minResidenceMs ?? 0;
  const byLevel = Object.entries(options.minResidenceByLevel ?? {})
    .map(([level, ms]) => `${level} ${durationOrOff(ms)}`)
    .join(', ');
  const residence = `residence ${durationOrOff(residenceMs)}${byLevel ? ` (${byLevel})` : ''}`;
  const budget = options.flapBudget
    ? `flap budget ${options.flapBudget.moves}/${durationText(options.flapBudget.windowMs)}`
    : 'flap budget off';
  if (options.viewRate) {
    const thresholds = Object.entries(options.viewRate.thresholds)
      .map(([level, t]) => `${level}=${t.promote}/${t.demote}`)
      .join(',');
    const sweep =
      sweepEveryMs === undefined
        ? ''
        : sweepEveryMs === null
          ? ', no sweep'
          : `, sweep every ${durationText(sweepEveryMs)}`;
    return `rate policy (half-life ${durationText(options.viewRate.halfLifeMs)}, ${thresholds} views/h${sweep}), ${residence}, ${budget}`;
  }
  const hysteresis =
    (options.hysteresisPercent ?? 0) > 0
      ? `${options.hysteresisPercent}%`
      : `${options.hysteresis ?? 0} views`;
  return `count policy, hysteresis ${hysteresis}, ${residence}, ${budget}`;
}

function durationOrOff(ms: number): string {
  return ms > 0 ? durationText(ms) : 'off';
}
