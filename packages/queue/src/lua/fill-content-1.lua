--[[
  Fills a cid's cache entry from MySQL unless an entry is already there: a reader that loaded an
  old row must never overwrite the level a relocator wrote after its commit.
  Input:
    KEYS[1] the cid's cache hash
    ARGV[1] level
    ARGV[2] filename
  Output:
    1 when it filled the entry, 0 when one was there.
]]
if redis.call('HEXISTS', KEYS[1], 'level') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'level', ARGV[1], 'file', ARGV[2])
return 1
