package middleware

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
)

// Owner-checked scripts. ARGV[1] is the owner prefix of the token
// (ownerPrefix): only a processing record of that owner starts with it, so
// the check reads that many bytes (GETRANGE) and never decodes the record.
// Each script touches one key, so they run unchanged on a Valkey Cluster.
var (
	// completeScript replaces the owner's record with ARGV[2] and sets its
	// time to live to ARGV[3] milliseconds in the same command.
	completeScript = valkey.NewLuaScript(`
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1`)

	// releaseScript deletes the owner's record.
	releaseScript = valkey.NewLuaScript(`
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end
redis.call('DEL', KEYS[1])
return 1`)

	// extendScript writes the new expiry (ARGV[3], 8 bytes) at offset
	// ARGV[4] of the owner's record and sets its time to live to ARGV[2]
	// milliseconds.
	extendScript = valkey.NewLuaScript(`
local p = ARGV[1]
if redis.call('GETRANGE', KEYS[1], 0, #p - 1) ~= p then return 0 end
redis.call('SETRANGE', KEYS[1], ARGV[4], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`)
)

// ValkeyOption configures [NewValkeyStore].
type ValkeyOption func(*valkeyOptions)

type valkeyOptions struct {
	now func() time.Time
}

// WithValkeyClock sets the clock used to compute a record's new ExpiresAt
// when [ValkeyStore.Extend] renews a lease. Expiry itself is always decided
// by the server. The default is time.Now. It panics if now is nil.
func WithValkeyClock(now func() time.Time) ValkeyOption {
	if now == nil {
		panic("middleware: WithValkeyClock(nil)")
	}
	return func(o *valkeyOptions) { o.now = now }
}

// ValkeyStore is a [Store] on Valkey (or Redis 7+), standalone or cluster.
//
// Each record is one string value in the compact binary record encoding,
// with its time to live set by PX in the same command that writes it:
//
//   - Claim is one native command, SET key value NX PX ttl GET, which
//     stores the processing record or returns the existing one: a first
//     request and a replay both cost one round trip and no script.
//   - Complete, Release and Extend are small Lua scripts (EVALSHA, loaded
//     on demand) that first compare the owner-token prefix of the stored
//     value, so a request whose lease expired can never overwrite or delete
//     the record of the request that claimed the key after it.
//
// Every operation touches exactly one key, so a ValkeyStore works unchanged
// on Valkey Cluster. Commands go through the client's automatic pipelining;
// the store holds no connection of its own. Bound every call with a context
// deadline (the middleware does): a hung server then yields an error
// wrapping context.DeadlineExceeded instead of a hung request.
//
// Errors are wrapped with an "idempotency: valkey" prefix; ErrLeaseLost is
// returned as is.
type ValkeyStore struct {
	client valkey.Client
	now    func() time.Time
}

var (
	_ Store  = (*ValkeyStore)(nil)
	_ Pinger = (*ValkeyStore)(nil)
)

// NewValkeyStore returns a store using client, which the caller keeps
// owning (and closes). It panics if client is nil.
func NewValkeyStore(client valkey.Client, opts ...ValkeyOption) *ValkeyStore {
	if client == nil {
		panic("middleware: NewValkeyStore(nil client)")
	}
	o := valkeyOptions{now: time.Now}
	for _, opt := range opts {
		opt(&o)
	}
	return &ValkeyStore{client: client, now: o.now}
}

// Claim implements [Store.Claim] with SET NX PX GET.
func (s *ValkeyStore) Claim(ctx context.Context, key string, rec *Record, ttl time.Duration) (*Record, error) {
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	val, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	// val is a fresh slice that nothing else touches, so aliasing it is safe.
	cmd := s.client.B().Set().Key(key).Value(valkey.BinaryString(val)).Nx().Get().PxMilliseconds(ttl.Milliseconds()).Build()
	existing, err := s.client.Do(ctx, cmd).AsBytes()
	if valkey.IsValkeyNil(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
	}
	got, err := decodeRecord(existing)
	if err != nil {
		return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
	}
	return got, nil
}

// Complete implements [Store.Complete] with an owner-checked SET PX.
func (s *ValkeyStore) Complete(ctx context.Context, key, token string, rec *Record, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	prefix, ok := ownerPrefix(token)
	if !ok {
		return ErrLeaseLost
	}
	val, err := encodeRecord(rec)
	if err != nil {
		return err
	}
	args := []string{prefix, valkey.BinaryString(val), strconv.FormatInt(ttl.Milliseconds(), 10)}
	return s.owned(ctx, "complete", completeScript, key, args)
}

// Release implements [Store.Release] with an owner-checked DEL.
func (s *ValkeyStore) Release(ctx context.Context, key, token string) error {
	prefix, ok := ownerPrefix(token)
	if !ok {
		return ErrLeaseLost
	}
	return s.owned(ctx, "release", releaseScript, key, []string{prefix})
}

// Extend implements [Store.Extend] with an owner-checked PEXPIRE. The
// record's ExpiresAt moves to now plus ttl (see [WithValkeyClock]).
func (s *ValkeyStore) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	prefix, ok := ownerPrefix(token)
	if !ok {
		return ErrLeaseLost
	}
	exp := expiresAtBytes(s.now().Add(ttl))
	args := []string{
		prefix,
		strconv.FormatInt(ttl.Milliseconds(), 10),
		string(exp[:]),
		strconv.Itoa(expiresAtOffset + len(token)),
	}
	return s.owned(ctx, "extend", extendScript, key, args)
}

// Ping implements [Pinger] with PING.
func (s *ValkeyStore) Ping(ctx context.Context) error {
	if err := s.client.Do(ctx, s.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("idempotency: valkey ping: %w", err)
	}
	return nil
}

// owned runs an owner-checked script that answers 1 (done) or 0 (not the
// owner's processing record).
func (s *ValkeyStore) owned(ctx context.Context, op string, script *valkey.Lua, key string, args []string) error {
	n, err := script.Exec(ctx, s.client, []string{key}, args).AsInt64()
	if err != nil {
		return fmt.Errorf("idempotency: valkey %s: %w", op, err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}
