--[[
  Releases a deployment's claim on its prefix at shutdown, so that another deployment (a
  recreated database) may use the prefix at once; a claim of another deployment is left alone.
  Input:
    KEYS[1] the prefix's owner hash
    ARGV[1] this deployment's identity
  Output:
    1 when released, 0 when the claim was not this deployment's
]]
if redis.call('HGET', KEYS[1], 'deployment') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
