--[[
  Records the latest count of a known cid and reads what the gateway needs to answer, in one
  round trip (the hot path of every post).
  Input:
    KEYS[1] the cid's cache hash
    KEYS[2] the published levels' version
    KEYS[3] the cid's BullMQ deduplication key (id of its waiting, delayed or active job)
    ARGV[1] count
    ARGV[2] now (epoch ms)
    ARGV[3] the view rate's half-life in ms (TIERING_POLICY=rate), or 0: no rate kept
  Output:
    { level | false, filename | false, levelsVersion, jobId | false, pin | false,
      rate | false, rateCount | false, rateAt | false }; pin is the level an operator pinned
    the cid to; the last three are the cid's rate state after this post (only with a
    half-life). A cid that is not cached yet is not written (level false), so unknown cids
    leave nothing behind.

  The rate state (fields rate, rateCount, rateAt) follows observeViews of @relocation/tiering
  operation for operation (a test holds them to agree): the first post anchors it, the first
  post at least an eighth of the half-life later sets the rate to the average since, and every
  later post blends the rate since the previous one in with weight 1 - 2^(-elapsed/half-life).
  Counts and times are written as given (never formatted here); the rate with %.17g, so it
  reads back as the same double.
]]
local level = redis.call('HGET', KEYS[1], 'level')
local version = redis.call('GET', KEYS[2]) or '0'
if not level then
  return { false, false, version, false, false, false, false, false }
end
redis.call('HSET', KEYS[1], 'count', ARGV[1], 'countAt', ARGV[2])
local filename = redis.call('HGET', KEYS[1], 'file')
local jobId = redis.call('GET', KEYS[3])
local pin = redis.call('HGET', KEYS[1], 'pin')

local halfLife = tonumber(ARGV[3])
if not halfLife or halfLife <= 0 then
  return { level, filename, version, jobId, pin, false, false, false }
end
local state = redis.call('HMGET', KEYS[1], 'rate', 'rateCount', 'rateAt')
local rateText, countText, atText = state[1], state[2], state[3]
if not countText or not atText then
  -- The first post seen: it anchors the state.
  redis.call('HSET', KEYS[1], 'rateCount', ARGV[1], 'rateAt', ARGV[2])
  redis.call('HDEL', KEYS[1], 'rate')
  return { level, filename, version, jobId, pin, false, ARGV[1], ARGV[2] }
end
local count = tonumber(ARGV[1])
local at = tonumber(ARGV[2])
local seenCount = tonumber(countText)
local seenAt = tonumber(atText)
local views = math.max(0, count - seenCount)
local elapsed = math.max(0, at - seenAt)
-- A lower total adds nothing and keeps the higher one; time never goes back.
local latestText = countText
if count > seenCount then latestText = ARGV[1] end
local nowText = atText
if at > seenAt then nowText = ARGV[2] end
local rate
if not rateText then
  if elapsed < halfLife / 8 then
    return { level, filename, version, jobId, pin, false, countText, atText }
  end
  rate = (views * 3600000) / elapsed
else
  local keep = 2 ^ (-elapsed / halfLife)
  local added
  if elapsed > 0 then
    added = ((1 - keep) * views * 3600000) / elapsed
  else
    added = (math.log(2) * views * 3600000) / halfLife
  end
  rate = tonumber(rateText) * keep + added
end
local written = string.format('%.17g', rate)
redis.call('HSET', KEYS[1], 'rate', written, 'rateCount', latestText, 'rateAt', nowText)
return { level, filename, version, jobId, pin, written, latestText, nowText }
