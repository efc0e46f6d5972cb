import type { FastifyRequest } from 'fastify';
import type { Principal } from '../plugins/access.ts';

/** The actor of a request whose credentials name nobody (never the case behind the admin auth). */
export const UNKNOWN_ACTOR = 'admin:?';

/**
 * The user name of an HTTP basic `Authorization` header (the part before the first `:` of the
 * decoded credentials), or `null` when the header is missing or not basic auth. The password is
 * never read past the separator.
 */
export function basicAuthUser(header: string | undefined): string | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return decoded.slice(0, colon);
}

/**
 * Who made a request, as the audit log and the history rows record them: `admin:<user>` for the
 * admin basic-auth login, `key:<name>` for an API key (`request.principal`, checked by the access
 * plugin before any admin handler runs).
 * Every place that records who acted calls this, so a change of login (API keys) is made here.
 */
export function actorOf(request: FastifyRequest): string {
  // The access plugin's checked caller: `key:<name>` for an API key, `admin:<user>` for the login
  // (absent on a request that did not pass the plugin's hook).
  const principal = request.principal as Principal | null | undefined;
  if (principal?.via === 'key') return `key:${principal.name}`;
  if (principal?.via === 'basic') return `admin:${principal.name}`;
  const user = basicAuthUser(request.headers.authorization);
  return user === null ? UNKNOWN_ACTOR : `admin:${user}`;
}
