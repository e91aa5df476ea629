-- quota_release.lua: release.lua plus removing the record (ARGV[3]) from
-- the scope's in-flight set (KEYS[2]).
if not owns(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SPUBLISH', ARGV[2], 'done')
redis.call('ZREM', KEYS[2], ARGV[3])
return 1
