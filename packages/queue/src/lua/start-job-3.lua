--[[
  What a relocation job needs from Redis when it starts, in one round trip: records the job as
  the cid's last job and reads the cid's latest posted count, its hold, the published levels'
  version, its pending move and its view-rate state (kept by record-count-3.lua).
  Input:
    KEYS[1] the cid's cache hash
    KEYS[2] the published levels' version
    KEYS[3] the cid's pending move (journal hash)
    ARGV[1] the job id
    ARGV[2] the name of the hold field of the cache hash
  Output:
    { count | false, levelsVersion, pendingMove (flat HGETALL), hold (JSON) | false,
      { rate, rateCount, rateAt } (each false when absent) }
]]
redis.call('HSET', KEYS[1], 'lastJob', ARGV[1])
local count = redis.call('HGET', KEYS[1], 'count')
local hold = redis.call('HGET', KEYS[1], ARGV[2])
local version = redis.call('GET', KEYS[2]) or '0'
local rate = redis.call('HMGET', KEYS[1], 'rate', 'rateCount', 'rateAt')
return { count or false, version, redis.call('HGETALL', KEYS[3]), hold or false, rate }
