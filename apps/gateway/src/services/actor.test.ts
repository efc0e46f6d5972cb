import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { UNKNOWN_ACTOR, actorOf, basicAuthUser } from './actor.ts';

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
const request = (authorization?: string) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as FastifyRequest;

describe('actorOf', () => {
  it.each([
    ['operator:secret', 'admin:operator'],
    ['operator:pass:with:colons', 'admin:operator'],
    ['ops team:x', 'admin:ops team'],
    ['zoë:x', 'admin:zoë'],
  ])('names the basic-auth user of %j, never the password', (credentials, actor) => {
    expect(actorOf(request(basic(credentials)))).toBe(actor);
  });

  it.each([
    ['no header', undefined],
    ['a bearer token', 'Bearer abc.def'],
    ['no user', basic(':secret')],
    ['no separator', basic('operator')],
    ['not base64', 'Basic ???'],
  ])('answers %s with the unknown actor', (_case, header) => {
    expect(actorOf(request(header))).toBe(UNKNOWN_ACTOR);
  });

  it('accepts the scheme in any case', () => {
    expect(basicAuthUser(`basic ${Buffer.from('a:b').toString('base64')}`)).toBe('a');
  });
});
