package middleware

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/idemkit/idemkit/internal/valkeyscript"
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

// The quota scripts (internal/valkeyscript, quota_*.lua) take the record,
// then the scope's in-flight set, and for claim and complete its stored set
// and byte total, all in one hash slot; each does the record's operation
// and the accounting in one atomic step.

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
		res, acked, werr = s.evalAcked(ctx, valkeyscript.QuotaClaim, keys, args)
	} else {
		res = valkeyscript.QuotaClaim.Exec(ctx, s.client, keys, args)
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
				valkeyscript.QuotaRelease.Exec(ctx, s.client, keys[:2], []string{prefix, notifyChannel(key), member})
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
		return rejection(s.owned(ctx, "complete", valkeyscript.QuotaComplete, keys, args))
	}
	return rejection(s.completeAcked(ctx, valkeyscript.QuotaComplete, keys, args))
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
	return s.owned(ctx, "release", valkeyscript.QuotaRelease, []string{key, scope + quotaInFlightSuffix},
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
	return s.owned(ctx, "extend", valkeyscript.QuotaExtend, []string{key, scope + quotaInFlightSuffix}, args)
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
