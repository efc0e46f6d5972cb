import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export { sameSecret } from '../services/api-keys.ts';

function operatorOnly(app: FastifyInstance, _options: unknown, done: () => void): void {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, access: 'operator' };
  });
  done();
}

/**
 * Makes every route added after it in the context it is registered in need the operator role (an
 * operator API key or the admin login), as `config: { access: 'operator' }` on each route would;
 * the access plugin does the checking. Routes that declare no access need the operator role
 * anyway, so prefer declaring `config.access` on each route.
 */
export const adminAuthPlugin = fp(operatorOnly, { name: 'gateway-admin-auth' });
