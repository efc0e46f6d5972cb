--[[
  Sets (or clears) the level a cached cid is pinned to, unless the entry is gone or its pin
  changed since it was read as ARGV[1] (compare-and-set: a pin or unpin meanwhile knows better).
  A cid with no entry gets none: the next post fills it, pin included, from MySQL.
  Input:
    KEYS[1] the cid's cache hash
    ARGV[1] the pin expected in the entry ('' = none; '*' = whatever it is)
    ARGV[2] the pin to store ('' = none)
  Output:
    1 when written, 0 when left alone
]]
if redis.call('HEXISTS', KEYS[1], 'level') == 0 then
  return 0
end
if ARGV[1] ~= '*' and (redis.call('HGET', KEYS[1], 'pin') or '') ~= ARGV[1] then
  return 0
end
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], 'pin')
else
  redis.call('HSET', KEYS[1], 'pin', ARGV[2])
end
return 1
