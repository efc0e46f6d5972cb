--[[
  Fills a cid's cache entry from MySQL unless an entry is already there: a reader that loaded an
  old row must never overwrite the level a relocator wrote after its commit.
  Input:
    KEYS[1] the cid's cache hash
    ARGV[1] level
    ARGV[2] filename
    ARGV[3] the level the cid is pinned to ('' when not pinned)
  Output:
    1 when it filled the entry, 0 when one was there.
]]
if redis.call('HEXISTS', KEYS[1], 'level') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'level', ARGV[1], 'file', ARGV[2])
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], 'pin')
else
  redis.call('HSET', KEYS[1], 'pin', ARGV[3])
end
return 1
