-- release.lua: deletes the owner's record (prefix ARGV[1]) and publishes
-- on channel ARGV[2]. Answers 1, or 0 when the lease was lost.
if not owns(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SPUBLISH', ARGV[2], 'done')
return 1
