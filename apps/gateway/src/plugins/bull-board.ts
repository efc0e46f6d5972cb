import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { redisUnavailable } from '../errors.ts';
import { adminAuthPlugin } from './admin-auth.ts';
import { securityHeadersPlugin } from './security-headers.ts';
import { sendError } from './error-handler.ts';

/** Where Bull Board is served; also its base path (they must be equal). */
export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board for the relocation queue at `/admin/queues`, for operators only: its routes declare
 * no access level, so the access plugin lets only an operator API key or the admin login (HTTP
 * basic) through to the page, its static assets and its API (503 `ADMIN_DISABLED` when neither
 * is configured).
 * The board's page, assets and API carry the pages' security headers and content security policy.
 */
export async function bullBoardPlugin(app: FastifyInstance): Promise<void> {
  const { config, queue, redis } = app.gateway;
  // Before the board's routes, which the headers' hooks must cover.
  await app.register(securityHeadersPlugin);
  await app.register(adminAuthPlugin, { admin: config.admin });

  // BullMQ waits for a connection that was never ready; answer 503 instead of hanging.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url.startsWith(`${BULL_BOARD_PATH}/api/`) && redis.status !== 'ready') {
      return sendError(
        request,
        reply,
        redisUnavailable(new Error(`Redis connection is ${redis.status}`)),
      );
    }
    return undefined;
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  createBullBoard({
    queues: [new BullMQAdapter(queue)],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Relocations' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: BULL_BOARD_PATH });
}
