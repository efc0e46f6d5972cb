import { describe, expect, it } from 'vitest';
import { logTransportFor } from './log-format.ts';

describe('logTransportFor', () => {
  it('pretty-prints for a terminal', () => {
    expect(logTransportFor({ isTTY: true })).toMatchObject({ target: 'pino-pretty' });
  });

  it.each([
    ['a pipe or a file (isTTY unset)', {}],
    ['a stream that says it is no terminal', { isTTY: false }],
  ])('keeps JSON lines for %s', (_name, output) => {
    expect(logTransportFor(output)).toBeUndefined();
  });
});
