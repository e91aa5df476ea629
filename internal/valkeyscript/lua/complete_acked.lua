-- complete_acked.lua: complete.lua for a replica-acknowledged completion,
-- sent with WAIT on one connection. A key that already holds the same
-- claim's final record answers 2: a Complete retried after ErrReplicaAck
-- then succeeds once the replicas acknowledge. To make WAIT cover the
-- earlier write, the stored value is written again (KEEPTTL): the
-- replication stream is ordered, so a replica that acknowledges this write
-- also has the earlier one.
if owns(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  redis.call('SPUBLISH', ARGV[4], 'done')
  return 1
end
if same_final(ARGV[2]) then
  redis.call('SET', KEYS[1], redis.call('GET', KEYS[1]), 'KEEPTTL')
  return 2
end
return 0
