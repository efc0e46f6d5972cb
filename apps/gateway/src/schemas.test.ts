import fc from 'fast-check';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  fastSerializerCompiler,
  fastValidatorCompiler,
  withFastPath,
} from './plugins/zod-compilers.ts';
import {
  legacyPostBody,
  legacyPostResponse,
  viewResult,
  viewResultJson,
  viewsBody,
} from './schemas.ts';

const PARAMS = { seed: 7, numRuns: 2000 };

const route = (schema: z.ZodType) => ({ schema, method: 'POST', url: '/x', httpPart: 'body' });

/** What zod's own validator answers: the value, or that it refused. */
function zodAnswer(schema: z.ZodType, input: unknown): unknown {
  const result = validatorCompiler(route(schema))(input) as { value?: unknown; error?: unknown };
  return result.error === undefined ? { value: result.value } : 'refused';
}

function fastAnswer(schema: z.ZodType, input: unknown): unknown {
  const result = fastValidatorCompiler(route(schema))(input) as {
    value?: unknown;
    error?: unknown;
  };
  return result.error === undefined ? { value: result.value } : 'refused';
}

/** Field values around every edge of a whole number, as JSON and as form strings. */
const field = fc.oneof(
  fc.integer({ min: -3, max: 3 }),
  fc.constantFrom(
    0,
    -0,
    1.5,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '',
    ' 7',
    '7 ',
    '1e3',
    '-1',
    '0',
    '007',
    '1.5',
    '9007199254740991',
    '9007199254740992',
    '٣',
    null,
    true,
    [7],
    { n: 7 },
  ),
  fc.nat(),
  fc.nat().map(String),
  fc.string(),
);

const body = fc.oneof(
  fc.record({ cid: field, count: field }),
  fc.record({ cid: field, count: field, extra: fc.anything() }),
  fc.record({ cid: field }, { requiredKeys: [] }),
  fc.array(fc.record({ cid: field, count: field }), { maxLength: 3 }),
  fc.anything(),
);

describe('the fast paths of the view routes', () => {
  it('parse every body exactly as zod does: same value, same refusals', () => {
    for (const schema of [legacyPostBody, viewsBody(1000)]) {
      fc.assert(
        fc.property(body, (input) => {
          expect(fastAnswer(schema, input)).toEqual(zodAnswer(schema, input));
        }),
        PARAMS,
      );
    }
  });

  it('answer the bytes zod answers for a single report, and leave the rest to zod', () => {
    const outcome = fc.record({
      cid: fc.oneof(fc.nat(), fc.constantFrom(-0, 1.5, Number.MAX_SAFE_INTEGER + 1)),
      count: fc.nat(),
      status: fc.constantFrom('update', 'done', 'error'),
      level: fc.string(),
      target: fc.oneof(fc.string(), fc.constant(7)),
      filename: fc.string(),
      jobId: fc.oneof(fc.string(), fc.constant(null), fc.constant(undefined)),
      extra: fc.option(fc.string(), { nil: undefined }),
    });
    const legacy = fc.record({
      cid: fc.oneof(fc.nat().map(String), fc.constant(7)),
      count: fc.nat().map(String),
      target: fc.string(),
      db_level: fc.string(),
      filename: fc.string(),
      worker_id: fc.constantFrom(null, 'w'),
      status: fc.constantFrom('update', 'done', 'stay'),
      extra: fc.option(fc.string(), { nil: undefined }),
    });
    // As `POST /v1/views` declares it, less the batch.
    const views = withFastPath(z.union([viewResult]), { serialize: viewResultJson });
    for (const [schema, data] of [
      [views, outcome],
      [legacyPostResponse, legacy],
    ] as const) {
      const fast = fastSerializerCompiler(route(schema));
      const zod = serializerCompiler(route(schema));
      fc.assert(
        fc.property(data, (value) => {
          let expected: string;
          try {
            expected = zod(value);
          } catch {
            expect(() => fast(value)).toThrow();
            return;
          }
          expect(fast(value)).toBe(expected);
        }),
        PARAMS,
      );
    }
  });
});
