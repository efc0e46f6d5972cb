import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, retryAfterSeconds, toAppError } from '../errors.ts';
import type { PostOutcome } from './metrics.ts';
import { isViewReport } from './access-logs.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route takes view posts: its errors count in `gateway_posts_total`. */
    countsPosts?: boolean;
  }
}

function postOutcome(error: AppError): PostOutcome {
  if (error.code === 'CONTENT_NOT_FOUND') return 'not_found';
  if (error.code === 'RATE_LIMITED') return 'limited';
  if (error.statusCode >= 400 && error.statusCode < 500) return 'invalid';
  return 'error';
}

/**
 * Answers a request with `error` in the gateway's one error shape
 * (`{ statusCode, code, error, message }`), with a `Retry-After` header for the codes that have
 * one, counting it in the metrics and logging 5xx with their cause. Returns the reply so hooks
 * can `return sendError(...)`.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: AppError,
): FastifyReply {
  const { metrics } = request.server;
  metrics.errors.inc({ code: error.code });
  if (isViewReport(request)) metrics.posts.inc({ outcome: postOutcome(error) });
  if (error.statusCode >= 500) {
    request.log.error({ err: error.cause ?? error, code: error.code }, error.message);
  } else if (isViewReport(request)) {
    // A flood of refused view reports (unknown cids, 429s) is counted, not one line each.
    request.log.debug({ code: error.code, statusCode: error.statusCode }, error.message);
  } else {
    request.log.info({ code: error.code, statusCode: error.statusCode }, error.message);
  }
  const retryAfter = retryAfterSeconds(error.code);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(error.statusCode).type('application/json; charset=utf-8').send(error.toBody());
}

/** A zod issue as the type provider passes it on (`params` holds the rest of the issue). */
interface RawIssue {
  code: string;
  path: PropertyKey[];
  message: string;
  errors?: RawIssue[][];
}

/** One validation failure as fastify-type-provider-zod reports it. */
interface ValidationEntry {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * Flattens a union's failure to the branch the input was meant for: branches that fail on the
 * type of the value itself (an object where an array was expected) are dropped; when exactly one
 * is left, its issues are reported, else the union's own message.
 */
function flatten(issue: RawIssue, prefix: PropertyKey[]): RawIssue[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors !== undefined) {
    const meant = issue.errors.filter(
      (branch) => !branch.some((i) => i.path.length === 0 && i.code === 'invalid_type'),
    );
    const [only] = meant;
    if (meant.length === 1 && only !== undefined) return only.flatMap((i) => flatten(i, path));
  }
  return [{ code: issue.code, path, message: issue.message }];
}

/**
 * Turns a failed schema validation into `INVALID_INPUT` (or `BATCH_TOO_LARGE`) with a message
 * naming each field, e.g. `body/count: must be a whole number between 0 and 9007199254740991`.
 */
function validationError(error: FastifyError): AppError | null {
  if (!hasZodFastifySchemaValidationErrors(error)) return null;
  const context = error.validationContext ?? 'body';
  const problems: string[] = [];
  let batchTooLarge = false;
  const entries = error.validation as unknown as ValidationEntry[];
  for (const entry of entries) {
    const base = entry.instancePath.split('/').filter((segment) => segment !== '');
    const raw: RawIssue = { code: entry.keyword, path: [], message: entry.message ?? 'is invalid' };
    if (Array.isArray(entry.params.errors)) raw.errors = entry.params.errors as RawIssue[][];
    for (const issue of flatten(raw, base)) {
      // A batch array that is too long fails at the body itself.
      if (issue.code === 'too_big' && issue.path.length === 0 && context === 'body') {
        batchTooLarge = true;
      }
      const where = issue.path.map(String).join('/');
      const line = `${context}${where === '' ? '' : `/${where}`}: ${issue.message}`;
      if (!problems.includes(line)) problems.push(line);
    }
  }
  const code = batchTooLarge ? 'BATCH_TOO_LARGE' : 'INVALID_INPUT';
  return new AppError(code, problems.join('; '), { cause: error });
}

function errorHandler(app: FastifyInstance, _options: unknown, done: () => void): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const appError = validationError(error) ?? toAppError(error);
    return sendError(request, reply, appError);
  });

  app.setNotFoundHandler((request, reply) => {
    const error = new AppError(
      'NOT_FOUND',
      `no route for ${request.method} ${request.url.split('?')[0]}`,
    );
    return sendError(request, reply, error);
  });
  done();
}

/** The gateway's one error handler (and not-found handler); never answers with a stack trace. */
export const errorHandlerPlugin = fp(errorHandler, {
  name: 'gateway-error-handler',
  dependencies: ['gateway-metrics'],
});
