--[[
  Records a cid's pending move only when none is recorded (reconcile hands repairs to the
  relocator this way without disturbing a move under way).
  Input:
    KEYS[1] the cid's pending move (journal hash)
    ARGV    field, value, field, value, … of the move
  Output:
    1 when recorded, 0 when a move was pending already
]]
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
