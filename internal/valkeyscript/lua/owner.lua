-- owner.lua: the owner checks every record script starts with.
--
-- owns(p): KEYS[1] holds a processing record whose owner prefix is p. Only
-- a processing record of that owner starts with it (the record encoding's
-- version, state and token), so the check reads #p bytes and never decodes
-- the record.
local function owns(p)
  return redis.call('GETRANGE', KEYS[1], 0, #p - 1) == p
end

-- same_final(v): KEYS[1] holds a final record (completed 2 or tombstone 3)
-- of the same claim as the encoded final record v: the same version, token
-- length, token, fingerprint, status, expiry and fence, the first 53 + n
-- bytes of the encoding but the state byte (53 is the record encoding's
-- fixed length). A completion whose answer was lost is then retried as
-- success, and a tombstone retry of a completed record that landed too.
local function same_final(v)
  local n = 53 + string.byte(v, 3)
  local cur = redis.call('GETRANGE', KEYS[1], 0, n - 1)
  local st = string.byte(cur, 2)
  return #cur == n and (st == 2 or st == 3) and
    string.sub(cur, 1, 1) == string.sub(v, 1, 1) and string.sub(cur, 3) == string.sub(v, 3, n)
end
