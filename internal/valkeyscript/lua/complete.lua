-- complete.lua: replaces the owner's record (prefix ARGV[1]) with ARGV[2],
-- time to live ARGV[3] ms in the same command, and publishes on channel
-- ARGV[4]. Answers 1, also when the key already holds the same claim's
-- final record (left as it is); 0 when the lease was lost.
if not owns(ARGV[1]) then
  if same_final(ARGV[2]) then return 1 end
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SPUBLISH', ARGV[4], 'done')
return 1
