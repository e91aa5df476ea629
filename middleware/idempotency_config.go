package middleware

import (
	"log/slog"
	"net/http"
	"time"
)

// Header names the middleware reads or writes.
const (
	// HeaderIdempotencyKey is the IETF draft's request header.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderXIdempotencyKey is the legacy request header, accepted too.
	HeaderXIdempotencyKey = "X-Idempotency-Key"
)

// Defaults of [IdempotencyConfig].
const (
	DefaultKeyPrefix        = "idemp:"
	DefaultProcessingTTL    = 60 * time.Second
	DefaultCompletedTTL     = 24 * time.Hour
	DefaultStoreTimeout     = 300 * time.Millisecond
	DefaultMaxBodyBytes     = 1 << 20
	DefaultMaxResponseBytes = 1 << 20
	DefaultRetryAfter       = time.Second
)

// InProgressMode selects the answer to a duplicate that arrives while the
// first request with its key is still running.
type InProgressMode uint8

const (
	// InProgressAccepted answers 202 {"status":"processing"} with
	// Retry-After (the default).
	InProgressAccepted InProgressMode = iota
	// InProgressConflict answers 409 REQUEST_IN_PROGRESS with Retry-After,
	// as the IETF Idempotency-Key draft suggests.
	InProgressConflict
)

// IdempotencyConfig configures [Idempotency]. Start from
// [DefaultIdempotencyConfig]; a zero field takes the default written beside
// it. Idempotency copies the config, so changing it afterwards has no effect.
type IdempotencyConfig struct {
	// Store keeps the records. Required.
	Store Store
	// Headers are the request headers that carry the key, tried in order.
	// Default: Idempotency-Key, X-Idempotency-Key.
	Headers []string
	// KeyPrefix starts every stored key. Default "idemp:".
	KeyPrefix string
	// ProcessingTTL is how long a claim lives without renewal: the time
	// after which a crashed worker's key may be retried. The owner renews it
	// every ProcessingTTL/3 while the handler runs (one timer per middleware
	// checks the running claims every min(ProcessingTTL/12, 1s), so a renewal
	// may come that much later). Default 60s.
	ProcessingTTL time.Duration
	// CompletedTTL is how long a stored response is replayed. Default 24h.
	CompletedTTL time.Duration
	// SkipPaths are request paths (exact match) the middleware ignores.
	SkipPaths []string
	// Skip, when set, is asked for every request the middleware would
	// cover (its method is in Methods, its path is not in SkipPaths): true
	// passes the request to the handler untouched, with zero store calls,
	// as for a request without a key. Use it for what an exact path cannot
	// say: a path prefix, a header, an internal caller. Default: none.
	Skip func(*http.Request) bool
	// RequireKey answers a covered request that carries no key with 400
	// IDEMPOTENCY_KEY_REQUIRED ([ErrIdempotencyKeyRequired]) instead of
	// running the handler unprotected. Use it on routes whose clients must
	// always send a key (payments); wrap only those routes in a middleware
	// with RequireKey set. Default false: a request without a key runs the
	// handler, unprotected.
	RequireKey bool
	// KeyValidator, when set, checks every well-formed key (after
	// [ParseKey], before any store call); an error is answered 400
	// INVALID_IDEMPOTENCY_KEY with the error's text as details.reason, so
	// keep it free of secrets. [UUIDKey] accepts only UUIDs. Default: none.
	KeyValidator func(key string) error
	// Methods are the methods the middleware applies to.
	// Default POST, PUT, PATCH, DELETE.
	Methods []string
	// Scope returns the namespace of a request's keys, typically the
	// authenticated user or tenant, so that one caller can never replay or
	// block another's key. Default: one global scope (set it!).
	Scope func(*http.Request) string

	// StoreTimeout bounds every store call; a store that does not answer
	// in time is treated as unavailable. Calls starting within
	// StoreTimeout/64 (at least 1ms) of each other share one deadline, so a
	// call may get up to that much less. Default 300ms.
	StoreTimeout time.Duration
	// MaxBodyBytes is the largest request body fingerprinted; a larger one
	// is answered 413 PAYLOAD_TOO_LARGE. Default 1 MiB.
	MaxBodyBytes int64
	// MaxResponseBytes is the largest response body stored; a larger one is
	// delivered but not stored. Default 1 MiB.
	MaxResponseBytes int
	// ShouldStore decides which final statuses are stored for replay; the
	// others release the key so a retry runs the handler again. 5xx, 408 and
	// 429 are never stored, whatever it says. Default [StoreSuccess].
	ShouldStore func(status int) bool
	// HeaderPolicy selects the response headers stored and replayed.
	// Default: all but the denylist (see [HeaderPolicy]).
	HeaderPolicy HeaderPolicy
	// InProgress selects the answer to a duplicate of a running request.
	// Default InProgressAccepted (202).
	InProgress InProgressMode
	// MaxWait caps how long a duplicate of a running request may wait for
	// the first to finish and then get its replay (wait-and-replay): a
	// client asks with the RFC 7240 preference Prefer: wait=N and waits
	// min(N seconds, MaxWait); a wait that runs out gets the InProgress
	// answer. Negative disables waiting (Prefer: wait is ignored).
	// Default 10s ([DefaultMaxWait]).
	MaxWait time.Duration
	// DefaultWait is how long a duplicate waits when it sends no (valid)
	// Prefer: wait, capped by MaxWait; such a wait sends no
	// Preference-Applied. Default 0: answer at once unless asked to wait.
	DefaultWait time.Duration
	// RetryAfter is the Retry-After sent with in-progress and outage
	// answers, rounded up to whole seconds. Default 1s.
	RetryAfter time.Duration
	// FailOpen runs the handler without protection when the store is
	// unavailable, logging each such request at Error level. Default false:
	// fail closed with 503 SERVICE_UNAVAILABLE.
	FailOpen bool
	// Logger receives the middleware's logs. Default slog.Default().
	Logger *slog.Logger
	// OnEvent, when set, is called synchronously for every [Event], for
	// metrics. It must be fast and must not retain the request.
	OnEvent func(Event)
	// ReplayCache, when set, keeps completed records in process so a replay
	// costs no store round trip. Completed records are immutable until they
	// expire, so the cache is always consistent with the store. Default:
	// none.
	ReplayCache *ReplayCache
	// Quota limits, per scope, the keys in PROCESSING state and the bytes
	// of stored responses (see [Quota]); a claim over a limit is answered
	// 429 IDEMPOTENCY_QUOTA_EXCEEDED with Retry-After and the handler does
	// not run. The store must implement [QuotaStore] (MemoryStore and
	// ValkeyStore do; Idempotency panics otherwise), and KeyPrefix must not
	// contain braces. With a quota, stored keys become
	// KeyPrefix{scope-hash}key-hash so that a scope's records and accounting
	// share one Valkey Cluster hash slot. Default: zero, no limits, and the
	// store and key layout are exactly as without quotas.
	Quota Quota
	// MaxPendingCompletions bounds the responses held in memory, per
	// middleware, while their first store write failed and they are written
	// again in the background (the store is unreachable, restarting or
	// failing over). At the bound, a response is dropped: its claim expires
	// after ProcessingTTL and a retry may then run the handler again
	// (EventCompletionDropped and an Error log). Default 10000
	// ([DefaultMaxPendingCompletions]).
	MaxPendingCompletions int
	// MaxPendingCompletionBytes bounds the bytes (bodies and headers) those
	// pending responses hold. A response that would exceed it is kept as a
	// tombstone (headers, body size and SHA-256): a retry gets 409
	// RESPONSE_NOT_REPLAYABLE instead of the replay, never a second run (a
	// Warn log). Default 64 MiB ([DefaultMaxPendingCompletionBytes]).
	MaxPendingCompletionBytes int64
	// StoreUnwritten stores a response the handler never wrote (no
	// WriteHeader, no Write: net/http's implicit empty 200). By default such
	// a response is delivered but not stored, the key is released and a
	// Warn log names the route: it is nearly always an error that a
	// framework writes outside the middleware, which must not be replayed
	// as success for CompletedTTL. Set it for handlers that mean an empty
	// 200.
	StoreUnwritten bool
	// ErrorHandler writes the middleware's error answers (400, 413, 422,
	// 503, 409). Default: an [httpx.ErrorWriter] logging to Logger (a store
	// outage's 503 is logged once, at Warn, by the middleware itself).
	ErrorHandler func(http.ResponseWriter, *http.Request, error)
}

// DefaultIdempotencyConfig returns the default configuration on store.
func DefaultIdempotencyConfig(store Store) IdempotencyConfig {
	return IdempotencyConfig{
		Store:            store,
		Headers:          []string{HeaderIdempotencyKey, HeaderXIdempotencyKey},
		KeyPrefix:        DefaultKeyPrefix,
		ProcessingTTL:    DefaultProcessingTTL,
		CompletedTTL:     DefaultCompletedTTL,
		Methods:          []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		StoreTimeout:     DefaultStoreTimeout,
		MaxBodyBytes:     DefaultMaxBodyBytes,
		MaxResponseBytes: DefaultMaxResponseBytes,
		ShouldStore:      StoreSuccess,
		RetryAfter:       DefaultRetryAfter,
		MaxWait:          DefaultMaxWait,

		MaxPendingCompletions:     DefaultMaxPendingCompletions,
		MaxPendingCompletionBytes: DefaultMaxPendingCompletionBytes,
	}
}

// StoreSuccess is the default storage policy: 2xx responses are stored.
func StoreSuccess(status int) bool { return status >= 200 && status < 300 }

// StoreSuccessAndClientErrors stores 2xx and the 4xx that repeat the same
// way on retry (400, 404, 409, 410, 422 ...), as Stripe does; 401, 403,
// 408 and 429 are not stored.
func StoreSuccessAndClientErrors(status int) bool {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return false
	}
	return status >= 200 && status < 500
}

// neverStored reports the statuses no policy may store: a transient failure
// pinned for CompletedTTL would turn a blip into a day-long outage.
func neverStored(status int) bool {
	return status >= 500 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests ||
		status < 200
}
