--[[
  Records a cid's pending move before any file is touched, replacing whatever was recorded.
  Input:
    KEYS[1] the cid's pending move (journal hash)
    ARGV    field, value, field, value, … of the move
  Output:
    1
]]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
