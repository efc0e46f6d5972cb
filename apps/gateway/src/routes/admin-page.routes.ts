import type { FastifyInstance } from 'fastify';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import { BULL_BOARD_PATH } from '../plugins/bull-board.ts';
import { securityHeadersPlugin } from '../plugins/security-headers.ts';
import { ADMIN_PAGE_CSS, renderAdminPage } from '../services/admin-page.ts';
import { readOverviewStats } from '../services/stats.ts';
import { contentStatusPath } from './stats.routes.ts';

/** Where the overview page is served. */
export const ADMIN_PAGE_PATH = '/admin';

/** Its style sheet (the page's content security policy loads styles from the gateway). */
export const ADMIN_PAGE_CSS_PATH = '/admin/overview.css';

/** Options of {@link adminPageRoutes}. */
export interface AdminPageOptions {
  /** Where the OpenAPI UI is served (`DOCS_PATH`). */
  docsPath: string;
}

/**
 * The overview page at `/admin`, for operators (as Bull Board: an operator API key or the admin
 * login, HTTP basic): what `GET /v1/stats` answers, drawn server-side (inline SVG charts, no
 * script), with links to Bull Board, `/docs` and `/metrics`. Its own context carries the pages'
 * security headers and content security policy; its style sheet is a route of the gateway.
 */
export async function adminPageRoutes(
  app: FastifyInstance,
  options: AdminPageOptions,
): Promise<void> {
  await app.register(securityHeadersPlugin);
  await app.register(adminAuthPlugin, { admin: app.gateway.config.admin });
  const links = {
    bullBoard: BULL_BOARD_PATH,
    docs: options.docsPath,
    metrics: '/metrics',
    stats: '/v1/stats',
    stylesheet: ADMIN_PAGE_CSS_PATH,
    content: contentStatusPath,
  };

  app.get(ADMIN_PAGE_PATH, { schema: { hide: true } }, async (_request, reply) => {
    const stats = await readOverviewStats(app.gateway);
    return reply
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(renderAdminPage(stats, links));
  });

  app.get(ADMIN_PAGE_CSS_PATH, { schema: { hide: true } }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(ADMIN_PAGE_CSS),
  );
}
