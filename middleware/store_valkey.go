package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/idemkit/idemkit/internal/valkeyscript"
	"github.com/valkey-io/valkey-go"
)

// The store's scripts live in internal/valkeyscript, one .lua file each,
// sharing one owner check: it compares the owner prefix of the token
// (ownerPrefix), which only a processing record of that owner starts with,
// so it reads that many bytes (GETRANGE) and never decodes the record.
// Complete and release also wake the key's waiters: SPUBLISH on the key's
// notification channel, which lives in the key's hash slot (notifyChannel),
// in the same atomic script — no extra round trip, and no window in which
// the record changed but nobody was told.

// ValkeyOption configures [NewValkeyStore].
type ValkeyOption func(*valkeyOptions)

type valkeyOptions struct {
	now        func() time.Time
	acks       int64
	ackTimeout time.Duration
	log        *slog.Logger
}

// WithValkeyLogger sets the logger of the store's own warnings (a
// maxmemory-policy that may evict records, see [ValkeyStore.Ping]). The
// default is slog.Default().
func WithValkeyLogger(l *slog.Logger) ValkeyOption {
	return func(o *valkeyOptions) {
		if l != nil {
			o.log = l
		}
	}
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

// WithReplicaAcks makes the store wait until n replicas have acknowledged
// each claim and each completion (Valkey's WAIT n timeout), so that a
// failover to one of those replicas keeps the record. It returns an error
// wrapping [ErrReplicaAck] when fewer than n replicas acknowledge within
// timeout; the middleware treats that like a store failure. At claim time it
// answers 503 and the handler does not run; the store deletes the
// unacknowledged claim (best effort) so the client's retry can claim again.
// At completion the completed record is on the primary (replays work) but
// not confirmed on the replicas; the middleware delivers the response and
// retries the completion in the background, and a retried Complete of the
// same record succeeds once the replicas acknowledge it.
//
// The default, n = 0, sends no WAIT. Keep timeout well below the
// middleware's StoreTimeout, which bounds the whole call. A replay (the
// claim found a record) ignores the acknowledgement count. Release and
// Extend are not acknowledged: losing either on failover cannot cause a
// second execution (see docs/operations.md).
//
// WAIT must follow the write on the same connection, so an acknowledged
// write is sent with WAIT in one batch on a connection of the client's
// blocking pool instead of the shared auto-pipelined one; on a cluster the
// batch goes to the node that owns the key, following MOVED and ASK.
// WAIT bounds the loss window; it is not consensus: a failover may still
// promote a replica that had not acknowledged.
//
// The option is per store, and a store is cheap: create one store with
// acknowledgements for the routes that need them (payments) and one without
// over the same client. It panics if n is negative, or if n > 0 and timeout
// is under a millisecond (WAIT with timeout 0 would block forever).
func WithReplicaAcks(n int, timeout time.Duration) ValkeyOption {
	if n < 0 || (n > 0 && timeout < time.Millisecond) {
		panic(fmt.Sprintf("middleware: WithReplicaAcks(%d, %v): need n >= 0 and timeout >= 1ms", n, timeout))
	}
	return func(o *valkeyOptions) { o.acks, o.ackTimeout = int64(n), timeout }
}

// ErrReplicaAck is returned (wrapped, with the counts) by a [ValkeyStore]
// created with [WithReplicaAcks] when fewer replicas than required
// acknowledged a claim or a completion in time. The write itself is on the
// primary.
var ErrReplicaAck = errors.New("idempotency: too few replicas acknowledged the write")

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
	client     valkey.Client
	now        func() time.Time
	acks       int64         // replicas that must acknowledge; 0: no WAIT
	ackTimeout time.Duration // WAIT timeout when acks > 0
	notify     valkeyNotify  // waiters' subscriptions (store_valkey_notify.go)
	log        *slog.Logger
	eviction   evictionCheck // warnings about maxmemory-policy (store_valkey_eviction.go)
}

var (
	_ Store  = (*ValkeyStore)(nil)
	_ Pinger = (*ValkeyStore)(nil)
)

// NewValkeyStore returns a store using client, which the caller keeps
// owning (and closes). It checks in the background, once, that every node's
// maxmemory-policy is noeviction, and logs a warning when it is not (see
// [ValkeyStore.Ping]). It panics if client is nil.
func NewValkeyStore(client valkey.Client, opts ...ValkeyOption) *ValkeyStore {
	if client == nil {
		panic("middleware: NewValkeyStore(nil client)")
	}
	o := valkeyOptions{now: time.Now, log: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	s := &ValkeyStore{client: client, now: o.now, acks: o.acks, ackTimeout: o.ackTimeout, log: o.log}
	go s.warnEviction()
	return s
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
	build := func() valkey.Completed {
		return s.client.B().Set().Key(key).Value(valkey.BinaryString(val)).Nx().Get().PxMilliseconds(ttl.Milliseconds()).Build()
	}
	// ToString, not AsBytes: the reply's string is decoded in place, so a
	// replay copies the stored body once, not twice.
	var existing string
	if s.acks > 0 {
		res, acked, werr := s.writeAcked(ctx, build)
		existing, err = res.ToString()
		if valkey.IsValkeyNil(err) {
			if err := s.ackError("claim", acked, werr); err != nil {
				s.releaseUnacked(ctx, key, rec.Token)
				return nil, err
			}
			return nil, nil
		}
	} else {
		existing, err = s.client.Do(ctx, build()).ToString()
		if valkey.IsValkeyNil(err) {
			return nil, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
	}
	got, err := decodeRecordString(existing)
	if err != nil {
		return nil, fmt.Errorf("idempotency: valkey claim: %w", err)
	}
	return got, nil
}

// Complete implements [Store.Complete] with an owner-checked SET PX.
func (s *ValkeyStore) Complete(ctx context.Context, key, token string, rec *Record, ttl time.Duration) error {
	args, err := completeArgs(key, token, rec, ttl)
	if err != nil {
		return err
	}
	if s.acks > 0 {
		return rejection(s.completeAcked(ctx, valkeyscript.CompleteAcked, []string{key}, args))
	}
	return rejection(s.owned(ctx, "complete", valkeyscript.Complete, []string{key}, args))
}

// rejection wraps in ErrRecordRejected an error reply with which the server
// refused a completion: out of memory, or a value over its size limits.
// Every other failure (no connection, a timeout, a server that is loading,
// failing over or busy) is left as it is, for the middleware to retry.
func rejection(err error) error {
	if err == nil {
		return nil // before verr is declared: its address escapes, so it is allocated there
	}
	var verr *valkey.ValkeyError
	if !errors.As(err, &verr) {
		return err
	}
	msg := verr.Error()
	if strings.HasPrefix(msg, "OOM") || strings.Contains(msg, "exceeds maximum") || strings.Contains(msg, "too large") {
		return fmt.Errorf("%w: %w", ErrRecordRejected, err)
	}
	return err
}

// Release implements [Store.Release] with an owner-checked DEL.
func (s *ValkeyStore) Release(ctx context.Context, key, token string) error {
	prefix, ok := ownerPrefix(token)
	if !ok {
		return ErrLeaseLost
	}
	return s.owned(ctx, "release", valkeyscript.Release, []string{key}, []string{prefix, notifyChannel(key)})
}

// Extend implements [Store.Extend] with an owner-checked PEXPIRE. The
// record's ExpiresAt moves to now plus ttl (see [WithValkeyClock]).
func (s *ValkeyStore) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	args, err := s.extendArgs(token, ttl)
	if err != nil {
		return err
	}
	return s.owned(ctx, "extend", valkeyscript.Extend, []string{key}, args)
}

// completeArgs returns the ARGV of the complete scripts: the owner prefix,
// the encoded record, the TTL in milliseconds and the notification channel.
func completeArgs(key, token string, rec *Record, ttl time.Duration) ([]string, error) {
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	prefix, ok := ownerPrefix(token)
	if !ok {
		return nil, ErrLeaseLost
	}
	val, err := encodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRecordRejected, err)
	}
	// val is a fresh slice that nothing else touches, so aliasing it is safe.
	return []string{prefix, valkey.BinaryString(val), strconv.FormatInt(ttl.Milliseconds(), 10), notifyChannel(key)}, nil
}

// extendArgs returns the ARGV of the extend scripts: the owner prefix, the
// TTL in milliseconds, the new ExpiresAt bytes and their offset.
func (s *ValkeyStore) extendArgs(token string, ttl time.Duration) ([]string, error) {
	if err := checkTTL(ttl); err != nil {
		return nil, err
	}
	prefix, ok := ownerPrefix(token)
	if !ok {
		return nil, ErrLeaseLost
	}
	exp := expiresAtBytes(s.now().Add(ttl))
	return []string{
		prefix,
		strconv.FormatInt(ttl.Milliseconds(), 10),
		string(exp[:]),
		strconv.Itoa(expiresAtOffset + len(token)),
	}, nil
}

// Ping implements [Pinger] with PING, and checks that every node's
// maxmemory-policy is noeviction: with any other policy Valkey may evict a
// processing record under memory pressure and let a second execution
// through, so Ping then returns an error wrapping [ErrEvictionPolicy] that
// names the policy. Where CONFIG GET is not allowed (managed services), Ping
// logs a warning once and does not fail.
func (s *ValkeyStore) Ping(ctx context.Context) error {
	if err := s.client.Do(ctx, s.client.B().Ping().Build()).Error(); err != nil {
		return fmt.Errorf("idempotency: valkey ping: %w", err)
	}
	return s.checkEviction(ctx)
}

// owned runs an owner-checked script on keys (the record first) that
// answers 1 (done) or 0 (not the owner's processing record).
func (s *ValkeyStore) owned(ctx context.Context, op string, sc *valkeyscript.Script, keys, args []string) error {
	n, err := sc.Exec(ctx, s.client, keys, args).AsInt64()
	if err != nil {
		return fmt.Errorf("idempotency: valkey %s: %w", op, err)
	}
	if n != 1 {
		return ErrLeaseLost
	}
	return nil
}

// maxAckRedirects bounds the MOVED/ASK redirections an acknowledged write
// follows on a cluster.
const maxAckRedirects = 3

// writeAcked sends the write that build returns, then WAIT, in one batch on
// one connection, so that WAIT counts the replicas that have this write.
// It returns the write's result, the number of replicas that acknowledged
// and WAIT's error. build is called again for each redirection.
//
// Standalone and sentinel clients send the batch with DoMulti: a batch
// holding a blocking command (WAIT) runs on one connection of the blocking
// pool, in order. A cluster client's DoMulti would follow a MOVED or ASK for
// the write alone and leave WAIT on the old node, counting nothing, so on a
// cluster the batch goes through a dedicated connection to the key's node,
// which reports redirections instead of following them; writeAcked then
// resends the whole batch to the node named (after ASKING for ASK).
func (s *ValkeyStore) writeAcked(ctx context.Context, build func() valkey.Completed) (valkey.ValkeyResult, int64, error) {
	wait := func(c valkey.CoreClient) valkey.Completed {
		return c.B().Wait().Numreplicas(s.acks).Timeout(s.ackTimeout.Milliseconds()).Build()
	}
	var res []valkey.ValkeyResult
	if s.client.Mode() != valkey.ClientModeCluster {
		res = s.client.DoMulti(ctx, build(), wait(s.client))
	} else {
		dc, release := s.client.Dedicate()
		res = dc.DoMulti(ctx, build(), wait(dc))
		release()
		for range maxAckRedirects {
			addr, ask := redirection(res[0].Error())
			if addr == "" {
				break
			}
			node := s.client.Nodes()[addr]
			if node == nil {
				break // the write's MOVED or ASK error is returned
			}
			if ask {
				res = node.DoMulti(ctx, node.B().Asking().Build(), build(), wait(node))[1:]
			} else {
				res = node.DoMulti(ctx, build(), wait(node))
			}
		}
	}
	acked, err := res[1].AsInt64()
	return res[0], acked, err
}

// redirection returns the node named by a MOVED or ASK error, and whether
// it is an ASK; addr is empty for any other result.
func redirection(err error) (addr string, ask bool) {
	verr, ok := valkey.IsValkeyErr(err)
	if !ok {
		return "", false
	}
	if addr, ok := verr.IsMoved(); ok {
		return addr, false
	}
	if addr, ok := verr.IsAsk(); ok {
		return addr, true
	}
	return "", false
}

// ackError returns nil when the write was acknowledged by enough replicas,
// else an error wrapping ErrReplicaAck or WAIT's own error.
func (s *ValkeyStore) ackError(op string, acked int64, werr error) error {
	if werr != nil {
		return fmt.Errorf("idempotency: valkey %s: wait for replicas: %w", op, werr)
	}
	if acked < s.acks {
		return fmt.Errorf("idempotency: valkey %s: %d of %d replicas acknowledged within %v: %w",
			op, acked, s.acks, s.ackTimeout, ErrReplicaAck)
	}
	return nil
}

// releaseUnacked deletes a claim that the replicas did not acknowledge, so
// that the client's retry can claim again at once instead of seeing
// "processing" until the claim expires. Best effort: when it fails (ctx is
// spent), the claim expires after its time to live.
func (s *ValkeyStore) releaseUnacked(ctx context.Context, key, token string) {
	prefix, ok := ownerPrefix(token)
	if !ok || ctx.Err() != nil {
		return
	}
	if err := valkeyscript.Release.Exec(ctx, s.client, []string{key}, []string{prefix, notifyChannel(key)}).Error(); err != nil {
		s.log.LogAttrs(ctx, slog.LevelDebug, "idempotency: valkey: deleting an unacknowledged claim failed; it expires after its time to live",
			slog.String("key", key), slog.Any("error", err))
	}
}

// completeAcked runs a completion script with replica acknowledgement
// (evalAcked) and reads its answer: 0 means the lease was lost.
func (s *ValkeyStore) completeAcked(ctx context.Context, sc *valkeyscript.Script, keys, args []string) error {
	res, acked, werr := s.evalAcked(ctx, sc, keys, args)
	n, err := res.AsInt64()
	if err != nil {
		return fmt.Errorf("idempotency: valkey complete: %w", err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return s.ackError("complete", acked, werr)
}

// evalAcked runs the script sc (EVALSHA, or EVAL when the server does not
// know it: after a restart or a failover it lost its script cache) followed
// by WAIT on the same connection (writeAcked).
func (s *ValkeyStore) evalAcked(ctx context.Context, sc *valkeyscript.Script, keys, args []string) (valkey.ValkeyResult, int64, error) {
	res, acked, werr := s.writeAcked(ctx, func() valkey.Completed { return sc.EvalSHA(s.client, keys, args) })
	if verr, ok := valkey.IsValkeyErr(res.Error()); ok && verr.IsNoScript() {
		res, acked, werr = s.writeAcked(ctx, func() valkey.Completed { return sc.Eval(s.client, keys, args) })
	}
	return res, acked, werr
}
