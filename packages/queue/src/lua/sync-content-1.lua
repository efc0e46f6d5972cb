--[[
  Corrects a cid's cached tier and file name to what MySQL says, unless the entry changed since
  it was read (a relocator settling a move meanwhile knows better): compare-and-set.
  Input:
    KEYS[1] the cid's cache hash
    ARGV[1] the level read from the cache before MySQL was read ('' when none)
    ARGV[2] the file name read from the cache before MySQL was read ('' when none)
    ARGV[3] the level MySQL holds
    ARGV[4] the file name MySQL holds
  Output:
    1 when corrected, 0 when the entry changed meanwhile (or is gone) and was left alone
]]
local entry = redis.call('HMGET', KEYS[1], 'level', 'file')
if not entry[1] then
  return 0
end
if entry[1] ~= ARGV[1] or (entry[2] or '') ~= ARGV[2] then
  return 0
end
redis.call('HSET', KEYS[1], 'level', ARGV[3], 'file', ARGV[4])
return 1
