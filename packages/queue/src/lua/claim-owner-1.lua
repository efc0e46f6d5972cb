--[[
  Claims (or renews) a queue prefix for one deployment: two deployments (databases) may not
  share a prefix, because they would share one queue.
  Input:
    KEYS[1] the prefix's owner hash (`<prefix>:relocation-owner`): deployment, database,
            aliveUntil (epoch ms), since (epoch ms)
    ARGV[1] this deployment's identity
    ARGV[2] a label of this deployment's database (host:port/name, no credentials)
    ARGV[3] now (epoch ms)
    ARGV[4] how long the claim lives without renewal (ms)
  Output:
    { 'mine' }                                   this deployment owned the prefix: renewed
    { 'claimed' }                                nobody owned it: claimed
    { 'taken', deployment, database, aliveUntil } an earlier deployment's claim had expired:
                                                 taken over (its Redis state is now stale)
    { 'conflict', deployment, database, aliveUntil } another deployment is alive on the prefix:
                                                 nothing written
]]
local owner = redis.call('HMGET', KEYS[1], 'deployment', 'database', 'aliveUntil')
local now = tonumber(ARGV[3])
local aliveUntil = tostring(now + tonumber(ARGV[4]))
if owner[1] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'database', ARGV[2], 'aliveUntil', aliveUntil)
  return { 'mine' }
end
if owner[1] and tonumber(owner[3] or '0') > now then
  return { 'conflict', owner[1], owner[2] or '', owner[3] or '0' }
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'deployment', ARGV[1], 'database', ARGV[2], 'aliveUntil', aliveUntil,
  'since', ARGV[3])
if owner[1] then
  return { 'taken', owner[1], owner[2] or '', owner[3] or '0' }
end
return { 'claimed' }
