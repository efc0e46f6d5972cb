import type { FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { rateLimitClientOf, rateLimitGroupOf, type LimitedRouteOptions } from './rate-limits.ts';

const LIMITS = { postsPerMinute: 6000, writesPerMinute: 600 };

describe('rateLimitGroupOf', () => {
  it.each<[string, LimitedRouteOptions, string | null]>([
    [
      'a legacy post',
      { method: 'POST', url: '/post_sentence', config: { countsPosts: true } },
      'posts',
    ],
    [
      'a v1 view report',
      { method: 'POST', url: '/v1/views', config: { countsPosts: true } },
      'posts',
    ],
    ['registration', { method: 'POST', url: '/v1/contents' }, 'writes:POST:/v1/contents'],
    ['the level table', { method: 'PUT', url: '/v1/levels' }, 'writes:PUT:/v1/levels'],
    [
      'clearing a pending move',
      { method: 'DELETE', url: '/v1/contents/:cid/pending-move' },
      'writes:DELETE:/v1/contents/:cid/pending-move',
    ],
    ['a lower-case method', { method: 'patch', url: '/x' }, 'writes:PATCH:/x'],
    ['a read', { method: 'GET', url: '/v1/contents/:cid' }, null],
    ['a HEAD route', { method: ['GET', 'HEAD'], url: '/v1/levels' }, null],
    [
      'a status read sent as POST',
      { method: 'POST', url: '/update_sentence', config: { rateLimit: false } },
      null,
    ],
  ])('%s', (_name, route, group) => {
    expect(rateLimitGroupOf(route, LIMITS)?.name ?? null).toBe(group);
  });

  it('gives each group its own limit, and none when that limit is 0 (off)', () => {
    const post = { method: 'POST', url: '/v1/views', config: { countsPosts: true } };
    const write = { method: 'PUT', url: '/v1/levels' };
    expect(rateLimitGroupOf(post, LIMITS)?.perMinute).toBe(6000);
    expect(rateLimitGroupOf(write, LIMITS)?.perMinute).toBe(600);
    expect(rateLimitGroupOf(post, { postsPerMinute: 0, writesPerMinute: 600 })).toBeNull();
    expect(rateLimitGroupOf(write, { postsPerMinute: 6000, writesPerMinute: 0 })).toBeNull();
    expect(rateLimitGroupOf(write, { postsPerMinute: 0, writesPerMinute: 1 })?.perMinute).toBe(1);
  });
});

function request(ip: string, principal?: unknown): FastifyRequest {
  return { ip, principal } as unknown as FastifyRequest;
}

describe('rateLimitClientOf', () => {
  it('counts for the API key when the request has a principal', () => {
    expect(rateLimitClientOf(request('10.0.0.1', { name: 'edge-eu', role: 'player' }))).toEqual({
      key: 'edge-eu',
    });
  });

  it('counts for the admin user when the request logged in', () => {
    expect(
      rateLimitClientOf(request('10.0.0.1', { name: 'ops', role: 'operator', via: 'basic' })),
    ).toEqual({ key: 'ops' });
  });

  it.each<[string, unknown]>([
    ['no principal', undefined],
    ['a null principal', null],
    ['the anonymous principal', { name: 'anonymous', role: null, via: 'anonymous' }],
    ['a principal without a name', { role: 'player' }],
    ['an empty name', { name: '' }],
    ['a name that is not text', { name: 7 }],
  ])('falls back to the client address with %s', (_name, principal) => {
    expect(rateLimitClientOf(request('10.0.0.1', principal))).toEqual({ address: '10.0.0.1' });
  });

  it('counts an IPv6 client for its /64, and an IPv4-mapped address as IPv4', () => {
    expect(rateLimitClientOf(request('2001:db8:1:2:3:4:5:6'))).toEqual({
      address: '2001:db8:1:2::',
    });
    expect(rateLimitClientOf(request('2001:db8:1:2:ffff::1'))).toEqual({
      address: '2001:db8:1:2::',
    });
    expect(rateLimitClientOf(request('::ffff:10.0.0.1'))).toEqual({ address: '10.0.0.1' });
  });
});
