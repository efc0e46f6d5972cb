import { describe, expect, it } from 'vitest';
import { figure, spreadOf, type FigureInput } from './results.ts';
import { renderTable } from './table.ts';

const base: FigureInput = {
  name: 'x',
  value: 100,
  unit: 'ms',
  baseline: 'bare',
  baselineValue: 100,
  better: 'lower',
};

const lessThan = (limit: number) => ({
  text: `< ${limit} ms`,
  check: (v: number) => v < limit,
  limit,
});

describe('spreadOf', () => {
  it('is the min and max of the finite values, null when there are none', () => {
    expect(spreadOf([3, 1, Number.NaN, 2])).toEqual({ min: 1, max: 3 });
    expect(spreadOf([])).toBeNull();
    expect(spreadOf([Number.NaN])).toBeNull();
  });
});

describe('figure verdict', () => {
  it('has no verdict, spread or ratio spread without target, goal and samples', () => {
    const r = figure(base);
    expect(r).toMatchObject({ met: null, verdict: null, spread: null, ratioSpread: null });
  });

  it('keeps the spread of the rounds even without a target', () => {
    const r = figure({ ...base, samples: { value: [90, 110, 100] } });
    expect(r.spread).toEqual({ min: 90, max: 110 });
    expect(r.ratioSpread).toBeNull();
    expect(r.verdict).toBeNull();
  });

  it('is met or missed from the median alone without samples', () => {
    expect(figure({ ...base, goal: lessThan(200) }).verdict).toBe('met');
    expect(figure({ ...base, goal: lessThan(50) }).verdict).toBe('missed');
    expect(figure({ ...base, target: 0.5 }).verdict).toBe('missed');
    expect(figure({ ...base, target: 1.5 }).verdict).toBe('met');
  });

  it('is met when the value spread is narrower than the distance to the limit', () => {
    // median 100, limit 200: distance 100 > width 40.
    const r = figure({ ...base, goal: lessThan(200), samples: { value: [80, 100, 120] } });
    expect(r).toMatchObject({ met: true, verdict: 'met', spread: { min: 80, max: 120 } });
  });

  it('is inconclusive, not met, when the value spread is wider than the distance', () => {
    // median 100, limit 120: distance 20 < width 60.
    const r = figure({ ...base, goal: lessThan(120), samples: { value: [70, 100, 130] } });
    expect(r.met).toBe(true);
    expect(r.verdict).toBe('inconclusive');
  });

  it('is inconclusive, not missed, when a narrow miss has a wide spread', () => {
    const r = figure({ ...base, goal: lessThan(95), samples: { value: [70, 100, 130] } });
    expect(r.met).toBe(false);
    expect(r.verdict).toBe('inconclusive');
  });

  it('is decided when the width equals the distance (only wider is inconclusive)', () => {
    const r = figure({ ...base, goal: lessThan(120), samples: { value: [90, 100, 110] } });
    expect(r.verdict).toBe('met');
  });

  it('ignores the spread for a goal without a limit', () => {
    const r = figure({
      ...base,
      goal: { text: 'fast', check: (v) => v < 101 },
      samples: { value: [1, 100, 1000] },
    });
    expect(r.verdict).toBe('met');
  });

  it('weighs a ratio target against the spread of the per-round ratios', () => {
    const input: FigureInput = {
      ...base,
      value: 80,
      baselineValue: 100,
      better: 'higher',
      target: 0.7,
    };
    // Ratios 0.78, 0.8, 0.82: distance 0.1 > width 0.04.
    const clear = figure({
      ...input,
      samples: { value: [78, 80, 82], baseline: [100, 100, 100] },
    });
    expect(clear.verdict).toBe('met');
    expect(clear.ratioSpread).toEqual({ min: 0.78, max: 0.82 });
    // Ratios 0.6, 0.8, 1.0 (paired by round): width 0.4 > distance 0.1.
    const noisy = figure({
      ...input,
      samples: { value: [60, 80, 100], baseline: [100, 100, 100] },
    });
    expect(noisy.met).toBe(true);
    expect(noisy.verdict).toBe('inconclusive');
  });

  it('uses the ratio spread, not the value spread, for a ratio target', () => {
    // Values move a lot but with their baselines: every round's ratio is 0.8.
    const r = figure({
      ...base,
      value: 80,
      baselineValue: 100,
      better: 'higher',
      target: 0.75,
      samples: { value: [40, 80, 160], baseline: [50, 100, 200] },
    });
    expect(r.spread).toEqual({ min: 40, max: 160 });
    expect(r.ratioSpread).toEqual({ min: 0.8, max: 0.8 });
    expect(r.verdict).toBe('met');
  });

  it('has no ratio spread when the baseline rounds are missing or of another count', () => {
    const r = figure({
      ...base,
      target: 0.5,
      samples: { value: [90, 100, 110], baseline: [100, 100] },
    });
    expect(r.ratioSpread).toBeNull();
    expect(r.verdict).toBe('missed');
  });

  it('is missed when one check clearly misses, whatever the other says', () => {
    const r = figure({
      ...base,
      value: 100,
      baselineValue: 50,
      target: 1.5,
      goal: lessThan(110),
      // ratios 2 each round: clearly above 1.5 (lower is better); value spread wide vs limit.
      samples: { value: [80, 100, 120], baseline: [40, 50, 60] },
    });
    expect(r.verdict).toBe('missed');
  });

  it('is inconclusive when one check is met and the other inconclusive', () => {
    const r = figure({
      ...base,
      target: 2,
      goal: lessThan(110),
      samples: { value: [80, 100, 120], baseline: [80, 100, 120] },
    });
    expect(r.verdict).toBe('inconclusive');
  });
});

describe('renderTable', () => {
  it('prints the spread beside the value and ratio, and the verdict in the met column', () => {
    const table = renderTable([
      figure({
        ...base,
        value: 645,
        goal: lessThan(650),
        samples: { value: [598, 645, 702], baseline: [90, 100, 110] },
      }),
      figure({ ...base, goal: lessThan(50) }),
    ]);
    expect(table).toContain('645 ms (598–702)');
    expect(table).toContain('6.45× (6.38–6.64)');
    expect(table).toContain('| inconclusive |');
    expect(table).toMatch(/\| NO +\|$/);
  });
});
