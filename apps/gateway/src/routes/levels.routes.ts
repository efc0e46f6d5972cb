import { listLevels } from '@relocation/db';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { fromDatabase } from '../errors.ts';
import { adminAuthPlugin } from '../plugins/admin-auth.ts';
import { errorResponse, levelsBody, levelsResponse } from '../schemas.ts';

/**
 * `GET /v1/levels` (the tier table, public) and `PUT /v1/levels` (replace it atomically; admin
 * credentials required, registered in an encapsulated child so the auth hook guards it alone).
 */
export const levelsRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/v1/levels',
    {
      schema: {
        summary: 'Read the tier table',
        tags: ['levels'],
        response: { 200: levelsResponse, 503: errorResponse },
      },
    },
    async () => {
      const levels = await fromDatabase(() => listLevels(app.gateway.db));
      return { levels, version: app.gateway.levels.current?.version ?? null };
    },
  );

  const adminRoutes: FastifyPluginAsyncZod = async (admin) => {
    await admin.register(adminAuthPlugin, { admin: app.gateway.config.admin });
    admin.put(
      '/v1/levels',
      {
        schema: {
          summary: 'Replace the tier table (admin)',
          description:
            'Atomically replaces the whole table. It must partition the counts: start at 0, no gap, no overlap, only the last level unbounded, unique names and absolute paths (400 INVALID_LEVELS names each level and rule). A level that contents still sit on cannot be removed (409 LEVEL_IN_USE). Every gateway uses the new table from its next post.',
          tags: ['levels'],
          security: [{ adminBasicAuth: [] }],
          body: levelsBody,
          response: {
            200: levelsResponse,
            400: errorResponse,
            401: errorResponse,
            409: errorResponse,
            503: errorResponse,
          },
        },
      },
      async (request) => {
        const snapshot = await app.gateway.levels.replace(request.body.levels);
        request.log.info(
          { levels: snapshot.levels.map((l) => l.name), version: snapshot.version },
          'level table replaced',
        );
        return { levels: [...snapshot.levels], version: snapshot.version };
      },
    );
  };
  await app.register(adminRoutes);
};
