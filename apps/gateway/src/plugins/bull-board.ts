import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance } from 'fastify';
import { redisUnavailable } from '../errors.ts';
import { adminAuthPlugin } from './admin-auth.ts';
import { securityHeadersPlugin } from './security-headers.ts';
import { sendError } from './error-handler.ts';

/**
 * The Google Fonts style sheet Bull Board's page template links (`@bull-board/ui`'s
 * `dist/index.ejs`, with no option to leave it out): removed from the page, so the page asks no
 * other origin for anything and works the same offline (the board's CSS falls back to the
 * browser's sans-serif and monospace fonts).
 */
const GOOGLE_FONTS_LINK = /<link\b[^>]*\bhref="https:\/\/fonts\.googleapis\.com\/[^"]*"[^>]*>\s*/gi;

/** Bull Board's page without the {@link GOOGLE_FONTS_LINK}; anything else is left as it is. */
export function withoutExternalFonts(html: string): string {
  return html.replace(GOOGLE_FONTS_LINK, '');
}

/** Where Bull Board is served; also its base path (they must be equal). */
export const BULL_BOARD_PATH = '/admin/queues';

/**
 * Bull Board for the relocation queue at `/admin/queues`, for operators only: its routes declare
 * no access level, so the access plugin lets only an operator API key or the admin login (HTTP
 * basic) through to the page, its static assets and its API (503 `ADMIN_DISABLED` when neither
 * is configured).
 * The board's page, assets and API carry the pages' security headers and content security policy;
 * the page loads nothing from another origin (its Google Fonts link is removed).
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

  // The board's page (rendered by @fastify/view, so a string here): no Google Fonts.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof payload === 'string' && typeof type === 'string' && type.startsWith('text/html')) {
      done(null, withoutExternalFonts(payload));
    } else {
      done(null, payload);
    }
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
