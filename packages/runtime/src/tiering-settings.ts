import {
  DEFAULT_FLAP_BUDGET,
  validateLevels,
  type ChooseTierOptions,
  type FlapBudget,
} from '@relocation/tiering';
import { z } from 'zod';
import { HOUR_MS, parseDuration, wholeNumber } from './env-fields.ts';

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

/** The parsed `TIERING_*` variables, as `baseEnvSchema` returns them. */
export interface TieringEnv {
  readonly TIERING_HYSTERESIS: HysteresisSetting;
  readonly TIERING_MIN_RESIDENCE_MS: number;
  readonly TIERING_MIN_RESIDENCE_BY_LEVEL: Readonly<Record<string, number>>;
  readonly TIERING_FLAP_BUDGET: FlapBudget | null;
}

/**
 * The one placement policy every part decides with (the gateway, the relocator, the plan, the
 * CLIs), from the shared `TIERING_*` settings: `hysteresis` (views) or `hysteresisPercent`,
 * `minResidenceMs`, `minResidenceByLevel` and `flapBudget` (`null` when `off`). Frozen.
 */
export function tieringOptions(env: TieringEnv): ChooseTierOptions {
  const band = env.TIERING_HYSTERESIS;
  return Object.freeze({
    ...(band.unit === 'views' ? { hysteresis: band.value } : { hysteresisPercent: band.value }),
    minResidenceMs: env.TIERING_MIN_RESIDENCE_MS,
    minResidenceByLevel: env.TIERING_MIN_RESIDENCE_BY_LEVEL,
    flapBudget: env.TIERING_FLAP_BUDGET,
  });
}
