-- quota_complete.lua: complete.lua plus accounting (KEYS as for
-- quota_claim.lua): the record (ARGV[5] its member) leaves the in-flight
-- set and, when ARGV[6] is "1", its size joins the stored bytes until it
-- expires. A key that already holds the same claim's final record (its
-- accounting was done when it was written) answers 1, or with ARGV[7] "1"
-- (replica acknowledgements) writes it again for WAIT to cover and answers
-- 2, as complete_acked.lua does.
if not owns(ARGV[1]) then
  if not same_final(ARGV[2]) then return 0 end
  if ARGV[7] ~= '1' then return 1 end
  redis.call('SET', KEYS[1], redis.call('GET', KEYS[1]), 'KEEPTTL')
  return 2
end
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('SPUBLISH', ARGV[4], 'done')
redis.call('ZREM', KEYS[2], ARGV[5])
if ARGV[6] == '1' then
  local now = now_ms()
  prune(KEYS[3], KEYS[4], now)
  redis.call('ZADD', KEYS[3], now + ttl, #ARGV[2] .. ':' .. ARGV[5])
  redis.call('INCRBY', KEYS[4], #ARGV[2])
  keep(KEYS[3], ttl)
  keep(KEYS[4], ttl)
end
return 1
