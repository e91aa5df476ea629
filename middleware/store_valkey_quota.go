package middleware

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
)

var _ QuotaStore = (*ValkeyStore)(nil)

// Suffixes of a scope's accounting keys, after the scope's name (which ends
// with its hash tag, so they share the hash slot of the scope's records).
const (
	// quotaInFlightSuffix: a sorted set of the scope's processing records,
	// member the record's name within the scope, score its expiry in ms.
	quotaInFlightSuffix = ":inflight"
	// quotaStoredSuffix: a sorted set of the scope's stored records, member
	// "size:name", score its expiry in ms.
	quotaStoredSuffix = ":stored"
	// quotaBytesSuffix: a string holding the sum of the sizes in the
	// stored set, kept up to date as members are added and expire.
	quotaBytesSuffix = ":stored-bytes"
)

// quotaLua holds the helpers every quota script starts with. Time is the
// server's (TIME, allowed in scripts since Valkey 7 and Redis 7, which
// replicate a script's effects rather than the script): the same clock that
// expires the records. Each accounting key's time to live is raised to the
// life of the newest entry written into it, so it never outlives its last
// entry and an idle scope leaves nothing behind.
const quotaLua = `
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
`

// Quota scripts. KEYS are the record, then the scope's in-flight set, and
// for claim and complete its stored set and byte total; all in one hash
// slot. Each does the record's operation and the accounting in one atomic
// step.
var (
	// quotaClaimLua answers the existing record (a string), 0 when it
	// stored ARGV[1] (ttl ARGV[2] ms) as the new processing record, or
	// {1, 0} / {2, retry-after ms} when the in-flight (ARGV[4]) or stored
	// bytes (ARGV[5]) limit refuses the claim. ARGV[3] is the record's
	// member name.
	quotaClaimLua = quotaLua + `
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
return 0`
	quotaClaimScript = valkey.NewLuaScript(quotaClaimLua)
	quotaClaimSHA1   = scriptSHA1(quotaClaimLua)

	// quotaCompleteLua is completeScript plus accounting: the record
	// (ARGV[5] its member) leaves the in-flight set and, when ARGV[6] is
	// "1", its size joins the stored bytes until it expires. A key that
	// already holds the same claim's final record (sameFinalLua; its
	// accounting was done when it was written) answers 1, or with ARGV[7]
	// "1" (replica acknowledgements) writes it again for WAIT to cover and
	// answers 2, as completeAckedLua does.
	quotaCompleteLua = quotaLua + `
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then
` + sameFinalLua + `
  if not same then return 0 end
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
return 1`
	quotaCompleteScript = valkey.NewLuaScript(quotaCompleteLua)
	quotaCompleteSHA1   = scriptSHA1(quotaCompleteLua)

	// quotaReleaseScript is releaseScript plus removing the record
	// (ARGV[3]) from the in-flight set.
	quotaReleaseScript = valkey.NewLuaScript(`
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SPUBLISH', ARGV[2], 'done')
redis.call('ZREM', KEYS[2], ARGV[3])
return 1`)

	// quotaExtendScript is extendScript plus moving the record's (ARGV[5])
	// expiry in the in-flight set, when it is tracked there.
	quotaExtendScript = valkey.NewLuaScript(quotaLua + `
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end
local ttl = tonumber(ARGV[2])
redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
if redis.call('ZADD', KEYS[2], 'XX', 'CH', now_ms() + ttl, ARGV[5]) == 1 then keep(KEYS[2], ttl) end
return 1`)
)

// ClaimQuota implements [QuotaStore.ClaimQuota] with one script on the
// record and the scope's accounting keys (KeyPrefix{scope}:inflight, a
// sorted set of processing records by expiry; :stored and :stored-bytes,
// the stored records by expiry with their sizes and the sizes' running
// total). Expired entries are dropped by the scripts with the server's
// clock, so the cost is O(log n) per entry over its life. A claim that finds
// a record returns it without looking at the quota.
func (s *ValkeyStore) ClaimQuota(ctx context.Context, scope, key string, rec *Record, ttl time.Duration, q Quota) (*Record, error) {
	member, err := quotaMember(scope, key)
	if err != nil {
		return nil, err
	}
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	val, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	keys := []string{key, scope + quotaInFlightSuffix, scope + quotaStoredSuffix, scope + quotaBytesSuffix}
	args := []string{valkey.BinaryString(val), strconv.FormatInt(ttl.Milliseconds(), 10), member,
		strconv.Itoa(q.MaxInFlight), strconv.FormatInt(q.MaxStoredBytes, 10)}
	var res valkey.ValkeyResult
	var acked int64
	var werr error
	if s.acks > 0 {
		res, acked, werr = s.evalAcked(ctx, quotaClaimLua, quotaClaimSHA1, keys, args)
	} else {
		res = quotaClaimScript.Exec(ctx, s.client, keys, args)
	}
	msg, err := res.ToMessage()
	if err != nil {
		return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
	}
	switch {
	case msg.IsString():
		existing, _ := msg.ToString()
		got, err := decodeRecordString(existing)
		if err != nil {
			return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
		}
		return got, nil
	case msg.IsArray():
		return nil, quotaRefusal(msg, q)
	}
	if s.acks > 0 {
		if err := s.ackError("claim", acked, werr); err != nil {
			if prefix, ok := ownerPrefix(rec.Token); ok && ctx.Err() == nil { // best effort, as releaseUnacked
				quotaReleaseScript.Exec(ctx, s.client, keys[:2], []string{prefix, notifyChannel(key), member})
			}
			return nil, err
		}
	}
	return nil, nil
}

// quotaRefusal turns the claim script's {limit, retry-after ms} into a
// *QuotaError.
func quotaRefusal(msg valkey.ValkeyMessage, q Quota) error {
	vals, err := msg.AsIntSlice()
	if err != nil || len(vals) != 2 {
		return fmt.Errorf("idempotency: valkey claim: unexpected quota reply %v: %w", msg, err)
	}
	if vals[0] == 1 {
		return &QuotaError{Limit: QuotaLimitInFlight, Max: int64(q.MaxInFlight)}
	}
	return &QuotaError{Limit: QuotaLimitStoredBytes, Max: q.MaxStoredBytes,
		RetryAfter: time.Duration(max(vals[1], 0)) * time.Millisecond}
}

// CompleteQuota implements [QuotaStore.CompleteQuota] with one
// owner-checked script that also moves the record from the scope's in-flight
// set to its stored bytes.
func (s *ValkeyStore) CompleteQuota(ctx context.Context, scope, key, token string, rec *Record, ttl time.Duration, q Quota) error {
	member, err := quotaMember(scope, key)
	if err != nil {
		return err
	}
	args, err := completeArgs(key, token, rec, ttl)
	if err != nil {
		return err
	}
	keys := []string{key, scope + quotaInFlightSuffix, scope + quotaStoredSuffix, scope + quotaBytesSuffix}
	args = append(args, member, flag(q.MaxStoredBytes > 0), flag(s.acks > 0))
	if s.acks == 0 {
		return rejection(s.ownedKeys(ctx, "complete", quotaCompleteScript, keys, args))
	}
	return rejection(s.completeAcked(ctx, quotaCompleteLua, quotaCompleteSHA1, keys, args))
}

// ReleaseQuota implements [QuotaStore.ReleaseQuota] with one owner-checked
// script that also removes the record from the scope's in-flight set.
func (s *ValkeyStore) ReleaseQuota(ctx context.Context, scope, key, token string) error {
	member, err := quotaMember(scope, key)
	if err != nil {
		return err
	}
	prefix, ok := ownerPrefix(token)
	if !ok {
		return ErrLeaseLost
	}
	return s.ownedKeys(ctx, "release", quotaReleaseScript, []string{key, scope + quotaInFlightSuffix},
		[]string{prefix, notifyChannel(key), member})
}

// ExtendQuota implements [QuotaStore.ExtendQuota] with one owner-checked
// script that also moves the record's expiry in the scope's in-flight set.
func (s *ValkeyStore) ExtendQuota(ctx context.Context, scope, key, token string, ttl time.Duration) error {
	member, err := quotaMember(scope, key)
	if err != nil {
		return err
	}
	args, err := s.extendArgs(token, ttl)
	if err != nil {
		return err
	}
	args = append(args, member)
	return s.ownedKeys(ctx, "extend", quotaExtendScript, []string{key, scope + quotaInFlightSuffix}, args)
}

// ownedKeys runs an owner-checked script on keys that answers 1 (done) or
// 0 (not the owner's processing record).
func (s *ValkeyStore) ownedKeys(ctx context.Context, op string, script *valkey.Lua, keys, args []string) error {
	n, err := script.Exec(ctx, s.client, keys, args).AsInt64()
	if err != nil {
		return fmt.Errorf("idempotency: valkey %s: %w", op, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
