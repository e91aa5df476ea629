-- quota.lua: the accounting helpers every quota script starts with.
--
-- Time is the server's (TIME, allowed in scripts since Valkey 7 and Redis 7,
-- which replicate a script's effects rather than the script): the same
-- clock that expires the records. Each accounting key's time to live is
-- raised to the life of the newest entry written into it, so it never
-- outlives its last entry and an idle scope leaves nothing behind.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function keep(k, ttl)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
-- prune drops the stored records that expired by now from the set s and
-- their sizes from the total n; it returns the total of the live ones.
local function prune(s, n, now)
  local dead = redis.call('ZRANGEBYSCORE', s, '-inf', now)
  if #dead > 0 then
    local sum = 0
    for i = 1, #dead do sum = sum + tonumber(string.match(dead[i], '^%d+')) end
    redis.call('ZREMRANGEBYSCORE', s, '-inf', now)
    redis.call('DECRBY', n, sum)
  end
  if redis.call('EXISTS', s) == 0 then
    redis.call('DEL', n)
    return 0
  end
  return tonumber(redis.call('GET', n) or '0')
end
