--[[
  Records the latest count of a known cid and reads what the gateway needs to answer, in one
  round trip (the hot path of every post).
  Input:
    KEYS[1] the cid's cache hash
    KEYS[2] the published levels' version
    KEYS[3] the cid's BullMQ deduplication key (id of its waiting, delayed or active job)
    ARGV[1] count
    ARGV[2] now (epoch ms)
  Output:
    { level | false, filename | false, levelsVersion, jobId | false, pin | false }; pin is the
    level an operator pinned the cid to. A cid that is not cached yet is not written (level
    false), so unknown cids leave nothing behind.
]]
local level = redis.call('HGET', KEYS[1], 'level')
local version = redis.call('GET', KEYS[2]) or '0'
if not level then
  return { false, false, version, false, false }
end
redis.call('HSET', KEYS[1], 'count', ARGV[1], 'countAt', ARGV[2])
local filename = redis.call('HGET', KEYS[1], 'file')
local jobId = redis.call('GET', KEYS[3])
local pin = redis.call('HGET', KEYS[1], 'pin')
return { level, filename, version, jobId, pin }
