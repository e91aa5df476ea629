package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/idemkit/idemkit/errs"
)

// Quota limits what one scope (see [IdempotencyConfig.Scope]) may hold in
// the store, so that one caller cannot fill the store or occupy every
// worker with keys of its own. Its zero value is unlimited, and the store
// and key layout are then exactly as without quotas.
//
// Only new claims are refused: a replay, an in-progress answer and a
// key-reuse (422) answer are never blocked by a quota. A refused claim is
// answered 429 IDEMPOTENCY_QUOTA_EXCEEDED with Retry-After, and the handler
// does not run. The store enforces quotas atomically ([QuotaStore]).
type Quota struct {
	// MaxInFlight is the maximum number of keys of one scope in PROCESSING
	// state at once (handlers running, or claims of crashed workers not yet
	// expired after ProcessingTTL). Default 0: unlimited.
	MaxInFlight int
	// MaxStoredBytes is the maximum size, in bytes of encoded records
	// (response body, headers and about 60 bytes), of the completed records
	// and tombstones one scope keeps within CompletedTTL. It is checked when
	// a key is claimed: a scope at or over its budget cannot claim new keys
	// until enough of its records expire. A claim admitted under the budget
	// may add one record when it completes, so each completion can exceed
	// the budget by at most one record (about MaxResponseBytes), and the
	// claims running at once together by at most MaxInFlight records.
	// Default 0: unlimited.
	MaxStoredBytes int64
}

// enabled reports whether any limit is set.
func (q Quota) enabled() bool { return q.MaxInFlight > 0 || q.MaxStoredBytes > 0 }

// Limits named in [QuotaError.Limit] and in the details of a 429.
const (
	QuotaLimitInFlight    = "in_flight"
	QuotaLimitStoredBytes = "stored_bytes"
)

// ErrQuotaExceeded is matched (errors.Is) by the [*QuotaError] a
// [QuotaStore] returns when a claim would exceed the scope's quota.
var ErrQuotaExceeded = errors.New("idempotency: quota exceeded")

// QuotaError is the error of a claim refused by a quota. It matches
// [ErrQuotaExceeded].
type QuotaError struct {
	// Limit is QuotaLimitInFlight or QuotaLimitStoredBytes.
	Limit string
	// Max is the limit's configured value.
	Max int64
	// RetryAfter is when the limit has room again at the earliest, as far
	// as the store knows: for stored bytes, when the scope's oldest record
	// expires. 0 when unknown (in-flight claims end when their handler
	// does); the middleware then sends its configured RetryAfter.
	RetryAfter time.Duration
}

// Error describes the limit.
func (e *QuotaError) Error() string {
	return fmt.Sprintf("idempotency: quota exceeded: %s limit %d", e.Limit, e.Max)
}

// Is reports whether target is ErrQuotaExceeded.
func (e *QuotaError) Is(target error) bool { return target == ErrQuotaExceeded }

// CodeIdempotencyQuotaExceeded is the code of the answer to a claim refused
// by a quota (see [ErrIdempotencyQuotaExceeded]).
const CodeIdempotencyQuotaExceeded = "IDEMPOTENCY_QUOTA_EXCEEDED"

// ErrIdempotencyQuotaExceeded is 429 IDEMPOTENCY_QUOTA_EXCEEDED: the
// caller's scope has too many requests in flight or too many bytes of stored
// responses (see [Quota]). Details name the limit and its value
// ({"limit":"in_flight","max":"100"}); the answer carries Retry-After.
var ErrIdempotencyQuotaExceeded = errs.New(http.StatusTooManyRequests, CodeIdempotencyQuotaExceeded,
	"Too many idempotent requests in progress or stored for this caller; retry later")

// QuotaStore is a [Store] that enforces a [Quota] per scope atomically. When
// [IdempotencyConfig.Quota] sets a limit, the middleware calls these methods
// instead of the plain ones, for every claim, completion, release and
// renewal, and [Idempotency] panics if the store does not implement
// QuotaStore: silently not enforcing an abuse control would be worse than
// failing at startup. [MemoryStore] and [ValkeyStore] implement it.
//
// scope names the scope's accounting. The middleware passes
// KeyPrefix + "{" + base64url(SHA-256(scope)[:16]) + "}", and every stored
// key of that scope starts with it: key = scope + a hash of the client's key.
// The braces are a hash tag, so on a Valkey Cluster a scope's records and its
// accounting live in one hash slot and one script can update them together.
// A key that does not start with scope is an error.
//
// Each method behaves as its [Store] counterpart and also updates the
// scope's accounting in the same atomic step: ClaimQuota counts the new
// processing record (when q.MaxInFlight is set), CompleteQuota moves it to the
// stored bytes (when q.MaxStoredBytes is set), ReleaseQuota uncounts it and
// ExtendQuota moves its expiry. Records expire from the accounting when they
// expire from the store, so a crashed worker's claim stops counting after
// its time to live.
type QuotaStore interface {
	Store
	// ClaimQuota is [Store.Claim] under q: when key holds a record it
	// returns it whatever the quota says; otherwise, when the scope is at a
	// limit, it returns a [*QuotaError] and stores nothing.
	ClaimQuota(ctx context.Context, scope, key string, rec *Record, ttl time.Duration, q Quota) (*Record, error)
	// CompleteQuota is [Store.Complete]; with q.MaxStoredBytes set it adds
	// the record's encoded size to the scope's stored bytes for ttl.
	CompleteQuota(ctx context.Context, scope, key, token string, rec *Record, ttl time.Duration, q Quota) error
	// ReleaseQuota is [Store.Release].
	ReleaseQuota(ctx context.Context, scope, key, token string) error
	// ExtendQuota is [Store.Extend].
	ExtendQuota(ctx context.Context, scope, key, token string, ttl time.Duration) error
}

// scopeHashLen is the length of the hashed scope inside a scope key's braces.
var scopeHashLen = base64.RawURLEncoding.EncodedLen(16)

// scopeKey returns the accounting name of scope: prefix + "{" +
// base64url(first 128 bits of SHA-256("idemkit scope\x00" + scope)) + "}".
func scopeKey(prefix, scope string) string {
	h := sha256.New()
	h.Write([]byte("idemkit scope\x00"))
	h.Write([]byte(scope))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	buf := make([]byte, 0, len(prefix)+scopeHashLen+2)
	buf = append(buf, prefix...)
	buf = append(buf, '{')
	buf = base64.RawURLEncoding.AppendEncode(buf, sum[:16])
	buf = append(buf, '}')
	return string(buf)
}

// quotaMember returns what follows scope in key: the record's name in the
// scope's accounting.
func quotaMember(scope, key string) (string, error) {
	if len(key) <= len(scope) || !strings.HasPrefix(key, scope) {
		return "", fmt.Errorf("idempotency: quota: key %q does not start with its scope %q", key, scope)
	}
	return key[len(scope):], nil
}

// appendStorageKey appends the stored key of (scope, key) to dst:
// [appendStorageKey]'s without quotas; with quotas, the same hash after the
// scope's accounting name, so that a scope's records share its hash slot.
func (m *idempotency) appendStorageKey(dst []byte, scope, key string) []byte {
	prefix := m.prefix
	if m.quota.enabled() {
		prefix = scopeKey(m.prefix, scope)
	}
	return appendStorageKey(dst, prefix, scope, key)
}

// withQuota returns the store the middleware calls: store itself without
// quotas, else store bound to the quota. It panics on a quota the store
// cannot enforce.
func (m *idempotency) withQuota(store Store) Store {
	q := m.quota
	if q.MaxInFlight < 0 || q.MaxStoredBytes < 0 {
		panic(fmt.Sprintf("middleware: Idempotency: IdempotencyConfig.Quota %+v: limits must not be negative", q))
	}
	if !q.enabled() {
		return store
	}
	qs, ok := store.(QuotaStore)
	if !ok {
		panic(fmt.Sprintf("middleware: Idempotency: IdempotencyConfig.Quota is set but the store %T does not implement "+
			"middleware.QuotaStore, so the quota could not be enforced (MemoryStore and ValkeyStore do)", store))
	}
	if strings.ContainsAny(m.prefix, "{}") {
		panic(fmt.Sprintf("middleware: Idempotency: KeyPrefix %q must not contain braces when a Quota is set: "+
			"the scope's hash tag follows it", m.prefix))
	}
	return &quotaBound{qs: qs, q: q, scopeLen: len(m.prefix) + scopeHashLen + 2}
}

// quotaBound is the [Store] a middleware with a quota calls: it forwards
// each call to the QuotaStore variant. Every key the middleware passes has
// the scoped layout, so the scope's accounting name is the key's first
// scopeLen bytes.
type quotaBound struct {
	qs       QuotaStore
	q        Quota
	scopeLen int
}

func (b *quotaBound) scope(key string) string {
	if len(key) <= b.scopeLen {
		return key // rejected by the store as not under its scope
	}
	return key[:b.scopeLen]
}

func (b *quotaBound) Claim(ctx context.Context, key string, rec *Record, ttl time.Duration) (*Record, error) {
	return b.qs.ClaimQuota(ctx, b.scope(key), key, rec, ttl, b.q)
}

func (b *quotaBound) Complete(ctx context.Context, key, token string, rec *Record, ttl time.Duration) error {
	return b.qs.CompleteQuota(ctx, b.scope(key), key, token, rec, ttl, b.q)
}

func (b *quotaBound) Release(ctx context.Context, key, token string) error {
	return b.qs.ReleaseQuota(ctx, b.scope(key), key, token)
}

func (b *quotaBound) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	return b.qs.ExtendQuota(ctx, b.scope(key), key, token, ttl)
}

// asQuotaError returns the quota error in err's tree, or nil.
func asQuotaError(err error) *QuotaError {
	if err == nil {
		return nil // no errors.As target escaping to the heap on every request
	}
	return findQuotaError(err)
}

func findQuotaError(err error) *QuotaError {
	var qe *QuotaError
	if !errors.As(err, &qe) {
		return nil
	}
	return qe
}

// quotaExceeded answers a claim refused by a quota: 429 with Retry-After,
// the limit in the details. The handler does not run.
func (m *idempotency) quotaExceeded(w http.ResponseWriter, r *http.Request, skey string, qe *QuotaError) {
	m.emit(Event{Kind: EventQuotaExceeded, Request: r, Key: skey, Err: qe})
	retry := m.retryAfter
	if qe.RetryAfter > 0 { // the later of the store's estimate and RetryAfter
		secs := int64((qe.RetryAfter + time.Second - 1) / time.Second)
		if n, _ := strconv.ParseInt(retry, 10, 64); secs > n {
			retry = strconv.FormatInt(secs, 10)
		}
	}
	w.Header().Set("Retry-After", retry)
	m.writeError(w, r, errs.WithDetails(ErrIdempotencyQuotaExceeded.Wrap(qe),
		"limit", qe.Limit, "max", strconv.FormatInt(qe.Max, 10)))
}
