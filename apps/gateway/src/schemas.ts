import { MAX_FILENAME_BYTES, filenameProblem } from '@relocation/contract';
import { HISTORY_REASONS } from '@relocation/db';
import { MAX_SAFE_COUNT } from '@relocation/queue';
import { DEFAULT_HIGH_WATERMARK, DEFAULT_LOW_WATERMARK } from '@relocation/tiering';
import { z } from 'zod';
import { withFastPath } from './plugins/zod-compilers.ts';

const WHOLE_NUMBER = `must be a whole number between 0 and ${MAX_SAFE_COUNT}`;

/** Renders a rejected value for an error message: JSON-quoted (so control characters show as escapes) and shortened. */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}

function wholeNumberError(issue: { input?: unknown }): string {
  return issue.input === undefined
    ? 'is required'
    : `${WHOLE_NUMBER} (got ${showValue(issue.input)})`;
}

/**
 * A non-negative safe integer given as a JSON integer or as a string of ASCII digits (form
 * bodies and path parameters arrive as strings). `"1.5"`, `"-1"`, `"1e3"`, `""`, `" 7"` and
 * anything above `Number.MAX_SAFE_INTEGER` are refused; the output is a number.
 */
export function wholeNumber(description: string) {
  const error = wholeNumberError;
  return z
    .union(
      [
        z.int({ error }).min(0, { error }).max(MAX_SAFE_COUNT, { error }),
        z.string({ error }).regex(/^\d+$/, { error }),
      ],
      { error },
    )
    .transform((value, ctx) => {
      const n = Number(value);
      if (!Number.isSafeInteger(n)) {
        ctx.addIssue({ code: 'custom', message: wholeNumberError({ input: value }), input: value });
        return z.NEVER;
      }
      return n;
    })
    .meta({ description });
}

const DIGITS = /^\d+$/;

/**
 * What {@link wholeNumber} makes of `value` when it accepts it, else `undefined` (the fast path
 * of the view routes: zod then gives the error).
 */
function wholeNumberOf(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value >= 0 && value <= MAX_SAFE_COUNT ? value : undefined;
  }
  if (typeof value !== 'string' || !DIGITS.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** `{cid, count}` as {@link viewItem} parses a valid report (other keys dropped), else `undefined`. */
function viewReportOf(input: unknown): { cid: number; count: number } | undefined {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
  const { cid, count } = input as { cid?: unknown; count?: unknown };
  const c = wholeNumberOf(cid);
  const n = wholeNumberOf(count);
  return c === undefined || n === undefined ? undefined : { cid: c, count: n };
}

/** A body that must be an object (`required` when absent). */
function bodyObject<T extends z.core.$ZodLooseShape>(shape: T, what: string) {
  return z.object(shape, {
    error: (issue) =>
      issue.input === undefined || issue.input === null
        ? `is required: send ${what} as JSON or as a form (application/x-www-form-urlencoded)`
        : `must be an object with ${what}`,
  });
}

/** Content id. */
export const cidField = wholeNumber('Content id (integer >= 0; a string of digits is accepted)');

/** Total view count. */
export const countField = wholeNumber(
  'Total views of the content so far (integer >= 0; a string of digits is accepted)',
);

/** `POST /post_sentence` body. */
export const legacyPostBody = bodyObject(
  { cid: cidField, count: countField },
  'cid and count',
).meta({
  // Named (`x-examples`, the request's OpenAPI `examples`): zod leaves `examples` out of the
  // input schema of a transforming schema.
  'x-examples': {
    walkThrough: {
      summary:
        'The README\'s walk-through: curl localhost:3000/post_sentence -d "cid=7&count=1964"',
      value: { cid: 7, count: 1964 },
    },
  },
});

withFastPath(legacyPostBody, { parse: viewReportOf });

/** `POST /update_sentence` body. */
export const legacyStatusBody = bodyObject({ cid: cidField }, 'cid');

/** `POST /post_sentence` answer: the 2018 seed's object, values as strings, keys in this order. */
export const legacyPostResponse = z
  .object({
    cid: z.string(),
    count: z.string(),
    target: z.string().meta({ description: 'Tier the count calls for' }),
    db_level: z.string().meta({ description: 'Tier the content is on now' }),
    filename: z.string(),
    worker_id: z.null().meta({ description: 'Always null (kept for old clients)' }),
    status: z.enum(['update', 'done']).meta({
      description: '`update`: a relocation is queued; `done`: the content is on its target',
    }),
  })
  .meta({
    id: 'LegacyPostResult',
    // The seed's answer to `cid=7&count=1964` (the README's walk-through).
    examples: [
      {
        cid: '7',
        count: '1964',
        target: 'silver',
        db_level: 'bronze',
        filename: 'g.mp4',
        worker_id: null,
        status: 'update',
      },
    ],
  });

withFastPath(legacyPostResponse, {
  serialize: (data) => {
    const r = data as Partial<Record<keyof z.output<typeof legacyPostResponse>, unknown>>;
    const { cid, count, target, db_level, filename, worker_id, status } = r;
    if (
      typeof cid !== 'string' ||
      typeof count !== 'string' ||
      typeof target !== 'string' ||
      typeof db_level !== 'string' ||
      typeof filename !== 'string' ||
      worker_id !== null ||
      (status !== 'update' && status !== 'done')
    ) {
      return undefined;
    }
    // The schema's keys, in its order, and nothing else: what zod's output is.
    return JSON.stringify({ cid, count, target, db_level, filename, worker_id, status });
  },
});

/** Every error response. */
export const errorResponse = z
  .object({
    statusCode: z.int(),
    code: z.string().meta({ description: 'Stable error code, e.g. INVALID_INPUT' }),
    error: z.string().meta({ description: 'HTTP reason phrase' }),
    message: z.string().meta({ description: 'What went wrong, naming the field' }),
  })
  .meta({
    id: 'Error',
    examples: [
      {
        statusCode: 404,
        code: 'CONTENT_NOT_FOUND',
        error: 'Not Found',
        message: 'no content has cid 99',
      },
    ],
  });

/** One `{cid, count}` view report. */
export const viewItem = z.object({ cid: cidField, count: countField });

/** What a view post did for one content. */
export const viewResult = z
  .object({
    cid: z.int(),
    count: z.int(),
    status: z.enum(['update', 'done']),
    level: z.string().meta({ description: 'Tier the content is on now' }),
    target: z.string().meta({ description: 'Tier the count calls for' }),
    filename: z.string(),
    jobId: z.string().nullable().meta({
      description: 'Relocation job that will act on this count, when one is queued or running',
    }),
  })
  .meta({ id: 'ViewResult' });

/**
 * `JSON.stringify(viewResult.parse(data))` for a valid {@link viewResult}, else `undefined` (the
 * fast path of `POST /v1/views`'s answer).
 */
export function viewResultJson(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const r = data as Partial<Record<keyof z.output<typeof viewResult>, unknown>>;
  const { cid, count, status, level, target, filename, jobId } = r;
  if (
    !Number.isSafeInteger(cid) ||
    !Number.isSafeInteger(count) ||
    (status !== 'update' && status !== 'done') ||
    typeof level !== 'string' ||
    typeof target !== 'string' ||
    typeof filename !== 'string' ||
    (jobId !== null && typeof jobId !== 'string')
  ) {
    return undefined;
  }
  // The schema's keys, in its order, and nothing else: what zod's output is.
  return JSON.stringify({ cid, count, status, level, target, filename, jobId });
}

/** A failed item of a batch. */
export const viewItemError = z
  .object({
    cid: z.int(),
    count: z.int(),
    status: z.literal('error'),
    error: errorResponse,
  })
  .meta({ id: 'ViewItemError' });

/** Named examples of `POST /v1/views` bodies (OpenAPI `examples` of the request). */
const VIEWS_EXAMPLES = {
  one: { summary: 'One report', value: { cid: 7, count: 1964 } },
  batch: {
    summary: 'A batch (cid 99 does not exist)',
    value: [
      { cid: 7, count: 1964 },
      { cid: 99, count: 5 },
    ],
  },
};

/**
 * `POST /v1/views` body: one `{cid, count}` object, or an array of 1 to `max` of them (a batch).
 */
export function viewsBody(max: number) {
  const body = z.union(
    [
      z
        .array(viewItem)
        .min(1, { error: 'a batch must hold at least one item' })
        .max(max, {
          error: (issue) =>
            `a batch may hold at most ${max} items (VIEWS_BATCH_MAX); got ${Array.isArray(issue.input) ? issue.input.length : 'more'}`,
        }),
      viewItem,
    ],
    {
      error: (issue) =>
        issue.input === undefined || issue.input === null
          ? 'is required: send {"cid": 7, "count": 1964} or an array of such objects'
          : 'must be an object {"cid", "count"} or an array of such objects',
    },
  );
  // A single report takes the fast path; a batch (or anything invalid) is zod's.
  return withFastPath(body.meta({ 'x-examples': VIEWS_EXAMPLES }), { parse: viewReportOf });
}

/** `POST /v1/views` answer for a batch, one entry per item in order. */
export const viewsBatchResponse = z.object({
  items: z.array(z.union([viewResult, viewItemError])),
});

/** A plain base file name, safe to join to a tier directory. */
export const filenameField = z
  .string({ error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string') })
  .superRefine((name, ctx) => {
    const problem = filenameProblem(name);
    if (problem !== null)
      ctx.addIssue({ code: 'custom', message: `${showValue(name)} ${problem}` });
  })
  .meta({
    description: `Plain base file name of visible characters: no "/", "\\" or "..", not starting with ".", no control or format (bidi, zero-width) characters, no leading or trailing space, at most ${MAX_FILENAME_BYTES} bytes of UTF-8`,
  });

/** `POST /v1/contents` body. */
export const newContentBody = bodyObject(
  { cid: cidField, filename: filenameField },
  'cid and filename',
);

/** `:cid` path parameter. */
export const cidParams = z.object({ cid: cidField });

/** A content as `POST /v1/contents` and `GET /v1/contents/:cid` show it. */
export const contentResponse = z
  .object({
    cid: z.int(),
    level: z.string().meta({ description: 'Tier the content is on (MySQL)' }),
    filename: z.string(),
    viewCount: z.int().meta({
      description: 'Latest count posted for the content, else the count MySQL holds',
    }),
    generateTime: z.iso.datetime(),
    updateTime: z.iso.datetime().meta({ description: 'Time of the last level change' }),
  })
  .meta({ id: 'Content' });

/** Where a content's relocation stands. */
export const relocationResponse = z
  .object({
    state: z
      .enum(['idle', 'queued', 'active', 'waiting', 'waiting-for-space', 'held', 'failed'])
      .meta({
        description:
          '`waiting`: the move is delayed by a storage fault (a full, read-only, missing or failing tier disk) and tries again at `hold.retryAt`; it never fails for it. `waiting-for-space`: its target tier would go above its high watermark (`hold.code` `TIER_AT_HIGH_WATERMARK`); it tries again at `hold.retryAt` and moves once demotions or other moves free space. `held`: the placement policy holds it back until `hold.retryAt` (`hold.code` `HELD_BY_RESIDENCE`: the minimum residence on its level; `HELD_BY_FLAP_BUDGET`: it changed tier as often as the flap budget allows in its window)',
      }),
    jobId: z.string().nullable(),
    target: z.string().nullable(),
    error: z
      .string()
      .nullable()
      .meta({ description: 'Failure reason of the last job, if it failed' }),
    hold: z
      .object({
        code: z.string().meta({
          description: 'TIER_FULL, TIER_READ_ONLY, TIER_DENIED, TIER_IO_ERROR or TIER_UNAVAILABLE',
        }),
        message: z.string(),
        level: z.string().nullable().meta({ description: 'The tier at fault, when known' }),
        since: z.string().meta({ description: 'When the move first waited (ISO time)' }),
        retryAt: z.string().meta({ description: 'When it tries again (ISO time)' }),
      })
      .nullable()
      .meta({ description: 'Why the move waits (state `waiting`), else null' }),
  })
  .meta({ id: 'RelocationState' });

/** A content's pin, as `GET /v1/contents/:cid` and the pin routes show it. */
export const pinSchema = z
  .object({
    level: z.string().meta({ description: 'The level the content is kept on' }),
    until: z.iso
      .datetime()
      .nullable()
      .meta({ description: 'When the pin releases itself; null = when an operator releases it' }),
    reason: z.string(),
    pinnedBy: z
      .string()
      .meta({ description: '`admin:<user>` over HTTP, `cli:<login>` from the shell' }),
    pinnedAt: z.iso.datetime(),
  })
  .meta({ id: 'ContentPin' });

/** `GET /v1/contents/:cid` answer. */
export const contentStateResponse = contentResponse
  .extend({
    relocation: relocationResponse,
    target: z
      .string()
      .meta({ description: 'The tier its latest count calls for (its pin level when pinned)' }),
    pin: pinSchema.nullable().meta({
      description: "The operator's pin: the content stays on its level whatever its counts say",
    }),
    settled: z.boolean().meta({
      description:
        'Nothing is pending and MySQL holds its final level (what `/update_sentence` answers with the cid)',
    }),
    reason: z.string().nullable().meta({
      description:
        'Why it is not settled, and what to do when nothing will settle it by itself (stuck); null when settled',
    }),
    viewRate: z.number().min(0).nullable().meta({
      description:
        'With `TIERING_POLICY=rate`: its view rate in views per hour as of now (decayed since its last post), which places it; null with the count policy or while the rate is still being measured',
    }),
    heldBy: z
      .object({
        rule: z.enum(['hysteresis', 'residence', 'flap-budget']),
        message: z.string(),
        until: z.iso.datetime().nullable().meta({
          description:
            'When the held move may happen; null for hysteresis (it waits for the count)',
        }),
      })
      .nullable()
      .meta({
        description:
          'The placement-policy rule keeping the content off the tier its count (or, with `TIERING_POLICY=rate`, its view rate) calls for: `hysteresis` (the count is past the boundary but within the band, or the rate between the two thresholds of a boundary; nothing is queued), `residence` (minimum time on its level) or `flap-budget` (it changed tier as often as the budget allows in its window); null when none does',
      }),
  })
  .meta({ id: 'ContentState' });

/** A `limit` query parameter: 1-1000, default 100 (applied by the route). */
function pageLimit(what: string) {
  return z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number between 1 and 1000' })
    .transform(Number)
    .pipe(
      z.int().min(1, { error: 'must be at least 1' }).max(1000, { error: 'must be at most 1000' }),
    )
    .optional()
    .meta({ description: `Most ${what} to return (1-1000, default 100)` });
}

/** `GET /v1/contents` query. */
export const contentsQuery = z.object({
  state: z.enum(['stuck'], { error: 'must be "stuck"' }).meta({
    description:
      "`stuck`: contents whose latest count calls for another tier while nothing is queued, running or delayed for them (found by the relocators' cache sweep, every CACHE_SYNC_EVERY)",
  }),
  limit: pageLimit('contents'),
  offset: z
    .string()
    .regex(/^\d+$/, { error: 'must be a whole number' })
    .transform(Number)
    .optional()
    .meta({ description: 'How many to skip (paging)' }),
});

/** `GET /v1/contents?state=stuck` answer. */
export const stuckContentsResponse = z.object({
  total: z.int(),
  items: z.array(
    z.object({
      cid: z.int(),
      filename: z.string(),
      level: z.string(),
      target: z.string(),
      viewCount: z.int(),
      stuckSince: z.iso.datetime(),
    }),
  ),
});

/** `PUT /v1/contents/:cid/level` body. */
export const setLevelBody = bodyObject(
  {
    level: z
      .string({
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
      })
      .min(1, { error: 'must not be empty' })
      .max(64, { error: 'must be at most 64 characters' })
      .meta({ description: "The level whose directory now holds the content's file" }),
  },
  'level',
);

/** `PUT /v1/contents/:cid/pin` body. */
export const pinBody = bodyObject(
  {
    level: z
      .string({
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
      })
      .min(1, { error: 'must not be empty' })
      .max(64, { error: 'must be at most 64 characters' })
      .meta({ description: 'The level to keep the content on' }),
    until: z.iso
      .datetime({ offset: true, error: 'must be an ISO 8601 date-time (or null)' })
      .nullable()
      .optional()
      .meta({
        description:
          'When the pin releases itself (ISO 8601, in the future); null or absent = until released',
      }),
    reason: z
      .string({
        error: (issue) => (issue.input === undefined ? 'is required' : 'must be a string'),
      })
      .trim()
      .min(1, { error: 'must not be empty' })
      .max(500, { error: 'must be at most 500 characters' })
      .meta({ description: 'Why, for the audit trail' }),
  },
  'level, until and reason',
);

/** `PUT /v1/contents/:cid/pin` answer. */
export const pinResponse = z
  .object({
    cid: z.int(),
    pin: pinSchema,
    previous: pinSchema.nullable().meta({ description: 'The pin this one replaced, if any' }),
    level: z.string().meta({ description: 'The level MySQL holds now' }),
    jobId: z.string().nullable().meta({
      description: 'The job queued to move the content to the pin level; null when already there',
    }),
  })
  .meta({ id: 'PinResult' });

/** `DELETE /v1/contents/:cid/pin` query. */
export const unpinQuery = z.object({
  reason: z
    .string()
    .max(500, { error: 'must be at most 500 characters' })
    .optional()
    .meta({ description: 'Why, for the audit trail' }),
});

/** `DELETE /v1/contents/:cid/pin` answer. */
export const unpinResponse = z
  .object({
    cid: z.int(),
    released: z.boolean().meta({ description: 'False when the content was not pinned' }),
    pin: pinSchema.nullable().meta({ description: 'The pin that was released' }),
    level: z.string().nullable().meta({ description: 'The level MySQL holds' }),
    target: z.string().nullable().meta({ description: 'The level its latest count calls for' }),
    jobId: z.string().nullable().meta({
      description: 'The job queued so that its count decides again; null when it is on target',
    }),
  })
  .meta({ id: 'UnpinResult' });

/** `PUT /v1/contents/:cid/level` answer. */
export const setLevelResponse = z
  .object({
    cid: z.int(),
    level: z.string().meta({ description: 'The level MySQL holds now' }),
    previousLevel: z.string().meta({ description: 'The level MySQL held before' }),
    filename: z.string(),
    path: z.string().meta({ description: 'Where the file is (checked: a regular file)' }),
    changed: z.boolean().meta({
      description: 'False when the content was already on the level (nothing written)',
    }),
    historyId: z.int().nullable().meta({
      description: 'The update_history row written (job id `admin:<user>`), when changed',
    }),
    otherCopies: z.array(z.string()).meta({
      description: 'Regular files of the same name on other tiers (reconcile reports them)',
    }),
    target: z.string().nullable().meta({
      description:
        'The level the latest count calls for; when it is not `level`, the next post or a requeue moves the content there',
    }),
  })
  .meta({ id: 'SetLevelResult' });

/** `POST /v1/contents/:cid/requeue` answer. */
export const requeueResponse = z
  .object({
    cid: z.int(),
    status: z.enum(['queued', 'on-target']).meta({
      description: '`queued`: a relocation job is queued (202); `on-target`: nothing to do (200)',
    }),
    level: z.string().meta({ description: 'The level MySQL holds' }),
    target: z.string().meta({ description: 'The level the latest count calls for' }),
    count: z.int().meta({ description: "The latest count (posted, else MySQL's)" }),
    jobId: z.string().nullable().meta({ description: 'The queued (or already waiting) job' }),
    reason: z.enum(['move', 'pending-move']).nullable().meta({
      description:
        '`move`: the count calls for another tier; `pending-move`: a recorded move is to be finished',
    }),
  })
  .meta({ id: 'RequeueResult' });

/** `DELETE /v1/contents/:cid/pending-move` answer. */
export const clearPendingResponse = z
  .object({
    cid: z.int(),
    cleared: z.literal(true),
    move: z
      .object({
        from: z.string(),
        to: z.string(),
        filename: z.string(),
        jobId: z.string(),
        startedAt: z.iso.datetime(),
      })
      .meta({ description: 'The pending move that was cleared' }),
    level: z.string().meta({ description: 'The tier that holds the file' }),
    path: z.string(),
    mysqlLevel: z.string().nullable().meta({ description: 'The level MySQL holds' }),
    next: z.string().nullable().meta({
      description: "The set-level command to run when the file is not on MySQL's level",
    }),
  })
  .meta({ id: 'ClearPendingResult' });

/** `GET /v1/contents/:cid/history` query. */
export const historyQuery = z.object({
  limit: pageLimit('rows'),
  before: z
    .string()
    .regex(/^\d+$/, { error: 'must be a history id (whole number)' })
    .transform(Number)
    .optional()
    .meta({ description: 'Only rows with an id below this (for paging)' }),
});

/** The reasons a history row may give, as the OpenAPI description lists them. */
const HISTORY_REASON_LIST = Object.values(HISTORY_REASONS)
  .map((reason) => `\`${reason}\``)
  .join(', ');

/** One level change. */
export const historyItem = z
  .object({
    id: z.int(),
    oldLevel: z.string(),
    newLevel: z.string(),
    oldUpdatedAt: z.iso.datetime(),
    newUpdatedAt: z.iso.datetime(),
    viewCount: z.int(),
    jobId: z.string().nullable(),
    bytes: z.int().nullable(),
    durationMs: z.int().nullable(),
    reason: z
      .string()
      .nullable()
      .meta({
        description: `What triggered the change: ${HISTORY_REASON_LIST} (a post's count, an operator's pin, a tier above its high watermark, a level an operator recorded by hand, a view rate decayed below its level's demote threshold with \`TIERING_POLICY=rate\`); null for rows written before reasons were recorded`,
      }),
    decision: z.record(z.string(), z.unknown()).nullable().meta({
      description:
        "The decision's inputs: `count` (the count that decided), `boundary` (the edge of the level left that the count crossed: `level`, `edge` min|max, `count`, the hysteresis `band` in views and the `threshold` count that moves; null when a pin decided), `policy` (hysteresis, hysteresisPercent, the minimum residence of the level left, the flap budget with the moves `used` in its window), or `capacity` for a capacity demotion; null for rows written by hand or before decisions were recorded",
    }),
    levelsVersion: z.int().nullable().meta({
      description: 'Version of the level table the decision was made with; null when unknown',
    }),
    requestId: z.string().nullable().meta({
      description:
        "Request id of the post whose count the move acted on (the gateway's `x-request-id`); null for moves no post asked for",
    }),
  })
  .meta({ id: 'HistoryItem' });

/** `GET /v1/contents/:cid/history` answer, newest first. */
export const historyResponse = z.object({ cid: z.int(), items: z.array(historyItem) });

/** A storage tier. */
export const levelSchema = z
  .object({
    name: z.string().meta({ description: 'Tier name (content_level)' }),
    minCount: z.number().meta({ description: 'Lowest total views of the tier (inclusive)' }),
    maxCount: z.number().nullable().meta({
      description: 'Highest total views (inclusive); null = unbounded (top tier only)',
    }),
    path: z.string().meta({ description: "Absolute directory holding the tier's files" }),
    // Any number (or null) passes here: the tiering rule `invalid-capacity` checks the values
    // and its 400 INVALID_LEVELS says what a capacity and its watermarks must be.
    capacityBytes: z
      .number({ error: 'must be a number of bytes or null' })
      .nullable()
      .optional()
      .meta({
        description: `Capacity of the tier in bytes (a positive whole number); absent or null = no capacity limit (only a full disk stops moves). With it, no move goes into the tier past its high watermark, and the coldest contents are demoted once the tier is above it. Listed only for a level with a capacity, with both watermarks filled in`,
      }),
    highWatermark: z
      .number({ error: 'must be a whole percent or null' })
      .nullable()
      .optional()
      .meta({
        description: `Percent of \`capacityBytes\` above which the tier takes no more files (a whole number from 1 to 100; default ${DEFAULT_HIGH_WATERMARK}). Only with \`capacityBytes\``,
      }),
    lowWatermark: z
      .number({ error: 'must be a whole percent or null' })
      .nullable()
      .optional()
      .meta({
        description: `Percent of \`capacityBytes\` down to which a tier above its high watermark is emptied by demotions (a whole number from 0 to one below the high watermark; default ${DEFAULT_LOW_WATERMARK}, or 10 points under a lower high watermark). Only with \`capacityBytes\``,
      }),
  })
  .meta({ id: 'Level' });

/** A tier directory's state as the relocators last checked it. */
export const tierStatusSchema = z
  .object({
    ok: z.boolean().meta({
      description: 'The directory exists and holds the marker of its level and database',
    }),
    code: z.string().nullable().meta({ description: 'TIER_UNAVAILABLE, … when not ok' }),
    message: z.string().nullable(),
    checkedAt: z.string().meta({ description: 'When a relocator last checked it (ISO time)' }),
    lastFault: z
      .object({ code: z.string(), message: z.string(), at: z.string() })
      .nullable()
      .meta({ description: 'The last storage fault a move met on this tier' }),
  })
  .meta({ id: 'TierStatus' });

/** A tier's usage as `GET /v1/levels` shows it, from MySQL's counters (no directory walk). */
export const tierUsageSchema = z
  .object({
    files: z.int().meta({ description: 'Contents on the level' }),
    bytes: z.int().meta({
      description:
        'Sum of the known sizes of their files (a content registered while the gateway could not see its file counts 0 until reconcile or the capacity sweep sizes it)',
    }),
    reservedBytes: z.int().meta({
      description: 'Bytes that moves under way into the level have reserved (not yet committed)',
    }),
    capacityBytes: z.int().nullable().meta({ description: 'The capacity; null = no limit' }),
    highWatermarkBytes: z.int().nullable().meta({
      description:
        'Bytes the tier may hold (`capacityBytes × highWatermark / 100`, rounded down): no move goes in past it; null without a capacity',
    }),
    lowWatermarkBytes: z.int().nullable().meta({
      description:
        'Bytes a tier above its high watermark is demoted down to (`capacityBytes × lowWatermark / 100`, rounded down); null without a capacity',
    }),
    percent: z.number().nullable().meta({
      description:
        '`bytes` as a percent of `capacityBytes`, one decimal (reservations not included); null without a capacity',
    }),
    aboveHighWatermark: z.boolean().meta({
      description:
        '`bytes` is above `highWatermarkBytes`: moves into the tier wait (`waiting-for-space`) and the capacity sweep demotes its coldest contents; always false without a capacity',
    }),
  })
  .meta({ id: 'TierUsage' });

/** `GET` / `PUT /v1/levels` answer. */
export const levelsResponse = z.object({
  levels: z.array(levelSchema),
  version: z.int().nullable().meta({
    description: 'Version of the level table published to the gateways (null when unknown)',
  }),
  tiers: z.record(z.string(), tierStatusSchema).optional().meta({
    description:
      'Each tier directory as the relocators last saw it, by level (absent until a relocator has checked it)',
  }),
  usage: z.record(z.string(), tierUsageSchema).optional().meta({
    description:
      'Files, bytes and capacity of every level, by level name (`GET /v1/levels` only), read from the counters MySQL keeps on every write of `contents`',
  }),
});

/** `PUT /v1/levels` query. */
export const levelsQuery = z.object({
  create: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true')
    .meta({
      description:
        'Create missing tier directories and write their markers (a new, empty tier); without it a level whose directory is missing or unmarked is refused',
    }),
});

/** `PUT /v1/levels` body: the whole new table (rules are checked by the tiering package). */
export const levelsBody = z.object(
  { levels: z.array(levelSchema) },
  {
    error: (issue) =>
      issue.input === undefined || issue.input === null
        ? 'is required: send {"levels": [...]}'
        : 'must be an object',
  },
);

/** `GET /healthz` answer. */
export const healthResponse = z.object({ status: z.literal('ok') });

/** `GET /readyz` answer when ready. */
export const readyResponse = z.object({
  status: z.literal('ready'),
  checks: z.object({ redis: z.literal('ok'), database: z.literal('ok') }),
});

/** `GET /v1/audit` query. */
export const auditQuery = z.object({
  limit: pageLimit('entries'),
  before: z
    .string()
    .regex(/^\d+$/, { error: 'must be an audit entry id (whole number)' })
    .transform(Number)
    .optional()
    .meta({ description: 'Only entries with an id below this (paging: the last id of a page)' }),
  action: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(64, { error: 'must be at most 64 characters' })
    .optional()
    .meta({ description: 'Only this action, e.g. `levels.replace` or `content.requeue`' }),
  actor: z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' })
    .optional()
    .meta({ description: 'Only this actor, e.g. `admin:operator` or `cli:alice`' }),
});

/** One audit entry: who did what, to what, and the state before and after. */
export const auditItem = z
  .object({
    id: z.int(),
    at: z.iso.datetime().meta({ description: 'When it was recorded (MySQL clock, UTC)' }),
    actor: z.string().meta({
      description: '`admin:<user>` over HTTP, `cli:<login>` from `npm run content`',
    }),
    action: z.string().meta({
      description:
        '`levels.replace`, `content.set-level`, `content.requeue`, `content.clear-pending`, `audit.prune`, …',
    }),
    target: z.string().nullable().meta({ description: '`levels`, `cid:<cid>`, …' }),
    before: z.unknown().meta({ description: 'The state before the action (JSON), or null' }),
    after: z.unknown().meta({
      description: 'The state after the action, or its outcome (e.g. the queued job), or null',
    }),
    detail: z.string().nullable(),
  })
  .meta({ id: 'AuditEntry' });

/** `GET /v1/audit` answer, newest first. */
export const auditResponse = z.object({ items: z.array(auditItem) });

/**
 * The placement policy in force (`planPolicy` of `@relocation/queue`), as `GET /v1/stats` shows
 * it; the same fields as `tiering` of `GET /v1/plan`.
 */
export const placementPolicySchema = z
  .object({
    hysteresis: z
      .int()
      .meta({ description: 'The band in views (TIERING_HYSTERESIS=50); 0 otherwise' }),
    hysteresisPercent: z.number().nullable().meta({
      description:
        'The band as a percent of the boundary crossed (TIERING_HYSTERESIS=2.5%); else null',
    }),
    minResidenceMs: z.int().meta({ description: 'TIERING_MIN_RESIDENCE_MS' }),
    minResidenceByLevel: z.record(z.string(), z.int()).meta({
      description: 'TIERING_MIN_RESIDENCE_BY_LEVEL: milliseconds per level name',
    }),
    flapBudget: z
      .object({ moves: z.int(), windowMs: z.int() })
      .nullable()
      .meta({ description: 'TIERING_FLAP_BUDGET; null when off' }),
    policy: z.enum(['count', 'rate']).meta({
      description: 'TIERING_POLICY: contents are placed by their total count or their view rate',
    }),
    viewRate: z
      .object({
        halfLifeMs: z.int().meta({ description: 'TIERING_RATE_HALF_LIFE' }),
        thresholds: z
          .record(z.string(), z.object({ promote: z.number(), demote: z.number() }))
          .meta({ description: 'TIERING_RATE_THRESHOLDS: views per hour per level name' }),
      })
      .nullable()
      .meta({ description: 'With TIERING_POLICY=rate: its settings; else null' }),
  })
  .meta({
    id: 'PlacementPolicy',
    description: 'The placement policy in force (the TIERING_* settings every part decides with)',
  });

const contentLink = z.string().meta({
  description: 'Where its status is read: `/v1/contents/<cid>`',
  example: '/v1/contents/7',
});

const movesByDirection = {
  promote: z.int().meta({ description: 'Moves to a level of higher minCount' }),
  demote: z.int().meta({ description: 'Moves to a level of lower minCount' }),
  other: z.int().meta({
    description: 'Moves between levels of which one is no longer in the table',
  }),
};

/** `GET /v1/stats` answer: the overview, from the counters the service keeps. */
export const statsResponse = z
  .object({
    at: z.iso.datetime().meta({ description: 'When it was read' }),
    version: z.int().nullable().meta({ description: 'Version of the level table in force' }),
    tiers: z
      .array(
        tierUsageSchema.extend({
          name: z.string(),
          minCount: z.number(),
          maxCount: z.number().nullable(),
        }),
      )
      .meta({
        description:
          'Every level of the table in force, lowest first, with its contents (`files`) and bytes from the `tier_usage` counters (no directory walk)',
      }),
    moves: z
      .object({
        since: z.iso.datetime().meta({ description: 'Start of the first minute' }),
        minutes: z.array(z.object({ at: z.iso.datetime(), ...movesByDirection })).meta({
          description:
            'Level changes (`update_history`) per minute of the last hour, oldest first; the last is the current minute',
        }),
        totals: z.object(movesByDirection),
      })
      .meta({ description: 'Moves per minute and direction over the last hour' }),
    queue: z
      .object({
        paused: z.boolean().meta({
          description:
            'No relocator starts a new move (`POST /v1/relocations/pause`; Bull Board shows it too)',
        }),
        waiting: z.int(),
        active: z.int(),
        delayed: z.int(),
        failed: z.int(),
        completed: z.int().meta({ description: 'Completed jobs still kept (an hour)' }),
        replicas: z.int().meta({ description: 'Relocator replicas connected to the queue' }),
      })
      .meta({ description: 'Relocation jobs by state (BullMQ)' }),
    failed: z
      .object({
        total: z.int().meta({ description: 'Failed jobs BullMQ keeps (a week)' }),
        items: z.array(
          z.object({
            cid: z.int(),
            jobId: z.string(),
            target: z.string().nullable(),
            error: z.string(),
            failedAt: z.iso.datetime().nullable(),
            status: contentLink,
          }),
        ),
      })
      .meta({ description: 'Contents whose relocation failed: the newest 20 jobs, one per cid' }),
    stuck: z
      .object({
        total: z.int().meta({ description: 'Contents the last cache sweep published as stuck' }),
        items: z.array(
          z.object({
            cid: z.int(),
            level: z.string(),
            target: z.string(),
            viewCount: z.int(),
            stuckSince: z.iso.datetime(),
            status: contentLink,
          }),
        ),
      })
      .meta({
        description:
          'Contents whose count calls for another tier with nothing queued (as `GET /v1/contents?state=stuck`), the oldest 20, each checked again',
      }),
    policy: placementPolicySchema,
  })
  .meta({ id: 'Stats' });
