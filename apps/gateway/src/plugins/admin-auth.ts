import { createHash, timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AdminCredentials } from '../config.ts';
import { AppError, toAppError } from '../errors.ts';
import { sendError } from './error-handler.ts';

/** Options of {@link adminAuthPlugin}. */
export interface AdminAuthOptions {
  /** The configured credentials; `null` turns every route of the context off (503). */
  admin: AdminCredentials | null;
}

/** Compares two secrets in constant time (hashing first makes the lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

async function adminAuth(app: FastifyInstance, options: AdminAuthOptions): Promise<void> {
  const { admin } = options;
  if (admin === null) {
    // No built-in default password: without configured credentials nothing is accepted.
    app.addHook('onRequest', async (request, reply) =>
      sendError(
        request,
        reply,
        new AppError(
          'ADMIN_DISABLED',
          'admin routes are disabled: set ADMIN_USER and ADMIN_PASSWORD to enable them',
        ),
      ),
    );
    return;
  }

  await app.register(basicAuth, {
    authenticate: { realm: 'relocation admin' },
    validate: async (user, password) => {
      // Both comparisons always run, so the time taken does not tell which one failed.
      const userOk = sameSecret(user, admin.user);
      const passwordOk = sameSecret(password, admin.password);
      if (!(userOk && passwordOk)) {
        throw new AppError('UNAUTHORIZED', 'invalid admin credentials');
      }
      return Promise.resolve();
    },
  });

  // basic-auth sets WWW-Authenticate and reports the failure; answering here (rather than
  // through an error handler) keeps one error shape even under Bull Board, which installs an
  // error handler of its own.
  app.addHook('onRequest', async (request, reply) => {
    const failure = await new Promise<Error | undefined>((resolve) => {
      app.basicAuth(request, reply, (error?: Error) => resolve(error));
    });
    if (failure !== undefined) return sendError(request, reply, toAppError(failure));
    return undefined;
  });
}

/**
 * HTTP basic auth for every route of the context it is registered in (pages, static assets and
 * APIs alike), with ADMIN_USER / ADMIN_PASSWORD compared in constant time. Register it inside an
 * encapsulated plugin so it guards only that plugin's routes.
 */
export const adminAuthPlugin = fp(adminAuth, { name: 'gateway-admin-auth' });
