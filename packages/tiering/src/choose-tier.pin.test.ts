import { describe, expect, it } from 'vitest';
import { applyPin, chooseTier } from './choose-tier.ts';
import type { TierDecision } from './choose-tier.ts';
import type { Level } from './level.ts';

const BRONZE: Level = { name: 'bronze', minCount: 0, maxCount: 999, path: '/t/bronze' };
const SILVER: Level = { name: 'silver', minCount: 1000, maxCount: 1999, path: '/t/silver' };
const GOLD: Level = { name: 'gold', minCount: 2000, maxCount: null, path: '/t/gold' };
const LEVELS: readonly Level[] = [BRONZE, SILVER, GOLD];

describe('chooseTier with a pin: the pin overrides the count', () => {
  it.each([
    // count, current, pin, expected
    [0, 'gold', 'gold', { kind: 'stay', level: 'gold', reason: 'pinned' }],
    [999, 'gold', 'gold', { kind: 'stay', level: 'gold', reason: 'pinned' }],
    [1000, 'bronze', 'bronze', { kind: 'stay', level: 'bronze', reason: 'pinned' }],
    [1_000_000, 'bronze', 'bronze', { kind: 'stay', level: 'bronze', reason: 'pinned' }],
    [0, 'bronze', 'gold', { kind: 'move', from: 'bronze', to: 'gold', reason: 'pinned' }],
    [1999, 'silver', 'gold', { kind: 'move', from: 'silver', to: 'gold', reason: 'pinned' }],
    [2000, 'gold', 'silver', { kind: 'move', from: 'gold', to: 'silver', reason: 'pinned' }],
    [5, 'nowhere', 'silver', { kind: 'move', from: 'nowhere', to: 'silver', reason: 'pinned' }],
  ] as const)('count %i on %s pinned to %s → %o', (count, current, pin, expected) => {
    expect(chooseTier({ count, levels: LEVELS, current, pin })).toEqual(expected);
  });

  it('ignores the hysteresis and the minimum residence', () => {
    const decision = chooseTier({
      count: 1000,
      levels: LEVELS,
      current: 'bronze',
      pin: 'gold',
      options: { hysteresis: 500, minResidenceMs: 60_000 },
      now: 1000,
      lastMovedAt: 999,
    });
    expect(decision).toEqual({ kind: 'move', from: 'bronze', to: 'gold', reason: 'pinned' });
  });

  it.each([null, undefined, 'platinum'])(
    'decides by the count when the pin is %s (none, or a level no longer in the table)',
    (pin) => {
      for (const [count, current] of [
        [999, 'bronze'],
        [1000, 'bronze'],
        [1999, 'gold'],
        [2000, 'silver'],
      ] as const) {
        expect(chooseTier({ count, levels: LEVELS, current, pin })).toEqual(
          chooseTier({ count, levels: LEVELS, current }),
        );
      }
    },
  );
});

describe('applyPin', () => {
  const stay: TierDecision = { kind: 'stay', level: 'bronze', reason: 'on-target' };
  const wait: TierDecision = {
    kind: 'wait',
    from: 'bronze',
    to: 'silver',
    allowedAt: 10,
    rule: 'residence',
  };

  it('returns the decision unchanged without a pin', () => {
    expect(applyPin(stay, null, 'bronze', LEVELS)).toBe(stay);
    expect(applyPin(wait, null, 'bronze', LEVELS)).toBe(wait);
  });

  it('turns a wait or a stay into a move to the pinned level, and a move into a stay on it', () => {
    expect(applyPin(wait, 'gold', 'bronze', LEVELS)).toEqual({
      kind: 'move',
      from: 'bronze',
      to: 'gold',
      reason: 'pinned',
    });
    expect(applyPin(stay, 'silver', 'bronze', LEVELS)).toMatchObject({
      kind: 'move',
      to: 'silver',
    });
    const move: TierDecision = { kind: 'move', from: 'gold', to: 'bronze', reason: 'demote' };
    expect(applyPin(move, 'gold', 'gold', LEVELS)).toEqual({
      kind: 'stay',
      level: 'gold',
      reason: 'pinned',
    });
  });
});
