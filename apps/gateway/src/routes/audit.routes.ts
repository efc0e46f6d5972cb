import { listAudit } from '@relocation/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { fromDatabase } from '../errors.ts';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import { auditQuery, auditResponse, errorResponse } from '../schemas.ts';

/**
 * `GET /v1/audit`: the audit log of admin actions, newest first (admin credentials required; an
 * encapsulated plugin, so the auth hook guards this route alone). `npm run audit` prints the same
 * entries from a shell.
 */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  await app.register(adminAuthPlugin, { admin: app.gateway.config.admin });

  app.get(
    '/v1/audit',
    {
      schema: {
        summary: 'Read the audit log of admin actions (admin)',
        description:
          'Every admin action that was carried out (a level table replaced, a content level set, a relocation requeued, a pending move cleared, …): who, when, what, on what, the state before and after. Newest first; page with `limit` and `before` (the last id of the previous page); filter with `action` and `actor`. Refused actions are not recorded.',
        tags: ['admin'],
        security: [{ adminBasicAuth: [] }],
        querystring: auditQuery,
        response: {
          200: auditResponse,
          400: errorResponse,
          401: errorResponse,
          503: errorResponse,
        },
      },
    },
    async (request) => {
      const { limit, before, action, actor } = request.query;
      const entries = await fromDatabase(() =>
        listAudit(app.gateway.db, { limit: limit ?? 100, beforeId: before, action, actor }),
      );
      return {
        items: entries.map((e) => ({ ...e, at: e.at.toISOString() })),
      };
    },
  );
};
