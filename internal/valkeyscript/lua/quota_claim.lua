-- quota_claim.lua: KEYS are the record, the scope's in-flight set, its
-- stored set and its byte total. Answers the existing record (a string), 0
-- when it stored ARGV[1] (time to live ARGV[2] ms) as the new processing
-- record, or {1, 0} / {2, retry-after ms} when the in-flight (ARGV[4]) or
-- stored-bytes (ARGV[5]) limit refuses the claim. ARGV[3] is the record's
-- member name.
local v = redis.call('GET', KEYS[1])
if v then return v end
local now = now_ms()
local ttl = tonumber(ARGV[2])
local maxf = tonumber(ARGV[4])
if maxf > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
  if redis.call('ZCARD', KEYS[2]) >= maxf then return {1, 0} end
end
local maxb = tonumber(ARGV[5])
if maxb > 0 and prune(KEYS[3], KEYS[4], now) >= maxb then
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  local wait = 0
  if first[2] then wait = tonumber(first[2]) - now end
  return {2, wait}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
if maxf > 0 then
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
  keep(KEYS[2], ttl)
end
return 0
