import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { duration, durationText, flag, parseDuration, wholeNumber } from './env-fields.ts';

const read = <T>(schema: z.ZodType<T, string | undefined>, raw: string | undefined) => {
  const result = schema.safeParse(raw);
  return result.success ? result.data : null;
};

describe('field helpers', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['Yes', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['NO', false],
    [undefined, 'fallback'],
    ['maybe', null],
    ['on', null],
    ['2', null],
  ])('flag reads %j as %j', (raw, expected) => {
    expect(read(flag(true), raw)).toBe(expected === 'fallback' ? true : expected);
  });

  it.each([
    ['0', null],
    ['1', 1],
    ['10', 10],
    ['11', null],
    ['01', 1],
    ['-1', null],
    ['1.0', null],
    [undefined, 5],
  ])('wholeNumber(1..10) reads %j as %j', (raw, expected) => {
    expect(read(wholeNumber({ min: 1, max: 10, fallback: 5 }), raw)).toBe(expected);
  });

  it.each([
    ['off', 0],
    ['0', 0],
    ['999', null],
    ['999ms', null],
    ['1000', 1000],
    ['1s', 1000],
    ['15m', 900_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
    ['1w', null],
    ['soon', null],
    [undefined, 0],
  ])('duration(at least 1s) reads %j as %j', (raw, expected) => {
    expect(read(duration({ minMs: 1000, fallbackMs: 0 }), raw)).toBe(expected);
  });

  it('parseDuration refuses what is not a duration or does not fit a safe integer', () => {
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('1.5h')).toBeNull();
    expect(parseDuration(`${Number.MAX_SAFE_INTEGER}d`)).toBeNull();
  });

  it.each([
    [6 * 3_600_000, '6h'],
    [86_400_000, '1d'],
    [90_000, '90s'],
    [1_800_000, '30m'],
    [250, '250ms'],
    [0, '0ms'],
  ])('durationText(%j) is %j', (ms, text) => {
    expect(durationText(ms)).toBe(text);
  });

  it('parseDuration reads back what durationText writes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 10 ** 12 }), (ms) => {
        expect(parseDuration(durationText(ms))).toBe(ms);
      }),
    );
  });
});
