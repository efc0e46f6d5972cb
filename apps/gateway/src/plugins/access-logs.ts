import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

/**
 * Whether a request is a view report (a route declared with `config.countsPosts`:
 * `POST /post_sentence`, `POST /v1/views`), whose access lines are logged at `debug`.
 */
export function isViewReport(request: FastifyRequest): boolean {
  return request.routeOptions.config.countsPosts === true;
}

/**
 * Fastify's access log (`incoming request`, `request completed`) with the view reports at
 * `debug`: players post them at production rates, so at `info` they would be two lines per view
 * report; `gateway_posts_total{outcome}` counts them instead. Every other route keeps its access
 * lines at `info`, and a request that errored is still logged at `error` whatever its route.
 * Passed to Fastify as its `logController`, which is the one place these lines are written.
 */
export class AccessLogController extends LogController {
  override incomingRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (!isViewReport(request)) {
      super.incomingRequest(request, reply, metadata);
      return;
    }
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(
    error: Error | null | undefined,
    request: FastifyRequest,
    reply: FastifyReply,
    metadata?: Record<string, unknown>,
  ): void {
    if (error || !isViewReport(request)) {
      super.requestCompleted(error, request, reply, metadata);
      return;
    }
    if (this.isLogDisabled(request)) return;
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
