import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * The content security policy of the gateway's HTML pages (Bull Board, `/docs`): every script,
 * style sheet, font, image and request comes from the gateway itself. Inline styles are allowed
 * because both pages set `style` attributes from their scripts (React); inline scripts are not.
 * Nothing may come from another origin, so Bull Board's Google Fonts style sheet is blocked and
 * the page uses the browser's sans-serif font, online and offline alike.
 */
export const PAGE_CSP_DIRECTIVES = Object.freeze({
  'default-src': ["'self'"],
  'base-uri': ["'self'"],
  'connect-src': ["'self'"],
  'font-src': ["'self'", 'data:'],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
  'img-src': ["'self'", 'data:'],
  'object-src': ["'none'"],
  'script-src': ["'self'"],
  'script-src-attr': ["'none'"],
  'style-src': ["'self'", "'unsafe-inline'"],
} satisfies Record<string, readonly string[]>);

/** Options of {@link securityHeadersPlugin}. */
export interface SecurityHeadersOptions {
  /**
   * Full route URLs of the context that keep their headers unchanged, e.g. the OpenAPI document
   * that tools download (`/docs/json`).
   */
  except?: readonly string[];
}

async function securityHeaders(
  app: FastifyInstance,
  options: SecurityHeadersOptions,
): Promise<void> {
  const except = new Set(options.except ?? []);
  // Runs before helmet's own onRoute hook, which turns `helmet: false` into "skip this route".
  app.addHook('onRoute', (route) => {
    if (except.has(route.url)) route.helmet = false;
  });
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: Object.fromEntries(
        Object.entries(PAGE_CSP_DIRECTIVES).map(([name, sources]) => [name, [...sources]]),
      ),
    },
    xFrameOptions: { action: 'deny' },
    // Whether the gateway is reached over HTTPS is up to whatever terminates TLS in front of it;
    // pinning the host to HTTPS for a year is that layer's decision, not an admin page's.
    strictTransportSecurity: false,
  });
}

/**
 * Security headers (`@fastify/helmet`) for the routes of the context it is registered in, and
 * only those: register it inside the encapsulated plugin of an HTML page (Bull Board, `/docs`),
 * before the page's routes, so the JSON API keeps its headers unchanged. Sends the
 * {@link PAGE_CSP_DIRECTIVES} policy, `X-Frame-Options: DENY`, `X-Content-Type-Options:
 * nosniff`, `Referrer-Policy: no-referrer`, the cross-origin isolation headers, and no HSTS.
 */
export const securityHeadersPlugin = fp(securityHeaders, { name: 'gateway-security-headers' });
