-- quota_extend.lua: extend.lua plus moving the record's (ARGV[5]) expiry in
-- the scope's in-flight set (KEYS[2]), when it is tracked there.
if not owns(ARGV[1]) then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('ZADD', KEYS[2], 'XX', 'CH', now_ms() + ttl, ARGV[5]) == 1 then keep(KEYS[2], ttl) end
return 1
