-- extend.lua: writes the new expiry (ARGV[3], 8 bytes) at offset ARGV[4]
-- of the owner's record (prefix ARGV[1]) and sets its time to live to
-- ARGV[2] ms. Answers 1, or 0 when the lease was lost.
if not owns(ARGV[1]) then return 0 end
redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
