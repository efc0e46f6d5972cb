import { ReplyError as IoredisReplyError } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisConditionOf, redisFaultOf, type RedisCondition } from './redis-faults.ts';

// ioredis types its re-export of redis-errors' ReplyError as `any`.
const ReplyError = IoredisReplyError as new (message: string) => Error;

/** An error reply as ioredis rejects a command with it (the reply without its leading `-`). */
function reply(message: string): Error {
  return new ReplyError(message);
}

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
const READONLY = "READONLY You can't write against a read only replica.";
const SCRIPT = ' script: 5ab432e88830d573e2fa33392ffbd4ad25a9b100, on @user_script:589.';

/** `EXECABORT` as ioredis rejects a MULTI whose queued commands Redis refused. */
function execAbort(...previous: Error[]): Error {
  return Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
    previousErrors: previous,
  });
}

describe('redisFaultOf', () => {
  it('builds real ioredis ReplyErrors', () => {
    expect(reply(OOM)).toBeInstanceOf(Error);
    expect(reply(OOM).name).toBe('ReplyError');
  });

  it.each([
    ['a refused write', reply(OOM), 'REDIS_FULL'],
    ['a write refused inside a Lua script', reply(OOM + SCRIPT), 'REDIS_FULL'],
    ['a write on a replica', reply(READONLY), 'REDIS_READONLY'],
    ['a replica write inside a Lua script', reply(READONLY + SCRIPT), 'REDIS_READONLY'],
    ['a bare error code', reply('OOM'), 'REDIS_FULL'],
    ['a MULTI refused for memory', execAbort(reply(OOM), reply(OOM)), 'REDIS_FULL'],
    ['a MULTI refused on a replica', execAbort(reply(READONLY)), 'REDIS_READONLY'],
    [
      'a MULTI with another error first',
      execAbort(reply('WRONGTYPE Operation against a key'), reply(OOM)),
      'REDIS_FULL',
    ],
    ['a wrapped reply', new Error('enqueue failed', { cause: reply(OOM) }), 'REDIS_FULL'],
    [
      'a reply wrapped twice',
      new Error('post failed', { cause: new Error('enqueue failed', { cause: reply(READONLY) }) }),
      'REDIS_READONLY',
    ],
    ['a plain Error carrying the reply as its message', new Error(OOM), 'REDIS_FULL'],
  ] as const)('recognises %s', (_, error, fault) => {
    expect(redisFaultOf(error)).toBe(fault);
  });

  it.each([
    ['another error reply', reply('WRONGTYPE Operation against a key holding the wrong kind')],
    ['NOREPLICAS', reply('NOREPLICAS Not enough good replicas to write.')],
    ['a MISCONF reply', reply('MISCONF Redis is configured to save RDB snapshots')],
    ['the code in the middle', reply(`ERR Error running script: @user_script:1: ${OOM}`)],
    ['a longer word', reply('READONLYX nothing')],
    ['a lower-case word', reply('oom command not allowed')],
    ['a leading space', reply(` ${OOM}`)],
    ['an empty message', reply('')],
    ['an EXECABORT without refusals', execAbort()],
    ['a connection failure', new Error('Connection is closed.')],
    ['a string', OOM],
    ['an object with the message', { message: OOM }],
    ['null', null],
    ['undefined', undefined],
  ])('answers null for %s', (_, error) => {
    expect(redisFaultOf(error)).toBeNull();
  });

  it('stops at a circular cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.assign(a, { cause: b });
    expect(redisFaultOf(a)).toBeNull();
  });
});

/** INFO text as Redis 7 answers `INFO memory replication` (the fields that matter). */
function info(fields: Record<string, string | number>): string {
  const lines = Object.entries(fields).map(([key, value]) => `${key}:${value}`);
  return ['# Memory', ...lines, '', '# Replication', ''].join('\r\n');
}

const PRIMARY = { role: 'master', connected_slaves: 0 };

describe('redisConditionOf', () => {
  it.each<[string, Record<string, string | number>, RedisCondition]>([
    [
      'no limit',
      { used_memory: 5_000_000, maxmemory: 0, maxmemory_policy: 'noeviction', ...PRIMARY },
      { kind: 'ok' },
    ],
    [
      'one byte below the limit',
      { used_memory: 999_999, maxmemory: 1_000_000, maxmemory_policy: 'noeviction', ...PRIMARY },
      { kind: 'ok' },
    ],
    [
      'at the limit',
      { used_memory: 1_000_000, maxmemory: 1_000_000, maxmemory_policy: 'noeviction', ...PRIMARY },
      { kind: 'full', usedMemoryBytes: 1_000_000, maxmemoryBytes: 1_000_000 },
    ],
    [
      'above the limit',
      { used_memory: 1_462_104, maxmemory: 1, maxmemory_policy: 'noeviction', ...PRIMARY },
      { kind: 'full', usedMemoryBytes: 1_462_104, maxmemoryBytes: 1 },
    ],
    [
      'above the limit only with buffers Redis does not count',
      {
        used_memory: 1_100_000,
        mem_not_counted_for_evict: 200_000,
        maxmemory: 1_000_000,
        maxmemory_policy: 'noeviction',
        ...PRIMARY,
      },
      { kind: 'ok' },
    ],
    [
      'at the limit after uncounted buffers',
      {
        used_memory: 1_200_000,
        mem_not_counted_for_evict: 200_000,
        maxmemory: 1_000_000,
        maxmemory_policy: 'noeviction',
        ...PRIMARY,
      },
      { kind: 'full', usedMemoryBytes: 1_000_000, maxmemoryBytes: 1_000_000 },
    ],
    [
      'at the limit under an evicting policy',
      { used_memory: 1_000_000, maxmemory: 1_000_000, maxmemory_policy: 'allkeys-lru', ...PRIMARY },
      { kind: 'ok' },
    ],
    [
      'a replica',
      { used_memory: 1_000, maxmemory: 0, maxmemory_policy: 'noeviction', role: 'slave' },
      { kind: 'readonly', role: 'slave' },
    ],
    [
      'a full replica (read-only wins)',
      { used_memory: 2_000, maxmemory: 1_000, maxmemory_policy: 'noeviction', role: 'slave' },
      { kind: 'readonly', role: 'slave' },
    ],
    ['an answer without the fields', {}, { kind: 'ok' }],
  ])('reads %s', (_, fields, condition) => {
    expect(redisConditionOf(info(fields))).toEqual(condition);
  });
});
