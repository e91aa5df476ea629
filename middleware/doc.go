// Package middleware holds idemkit's net/http middlewares: [Idempotency],
// which makes write endpoints safe to retry, and the small ones every API
// wants in front of it, [RequestID] and [Recover]. Every middleware is a plain
// func(http.Handler) http.Handler, so it plugs into chi, the standard
// ServeMux, echo (echo.WrapMiddleware) or anything else.
//
// # Idempotency in one paragraph
//
// A client sends a write with an Idempotency-Key header. The first request
// with that key claims it atomically in a [Store] and runs the handler; the
// response is buffered, stored, then sent. A retry with the same key gets the
// stored status, headers and body byte for byte, plus Idempotent-Replayed:
// true — the handler does not run again. A duplicate that arrives while the
// first still runs gets 202 {"status":"processing"} (or 409
// REQUEST_IN_PROGRESS) with Retry-After. The same key with a different
// method, path, query or body is 422 IDEMPOTENCY_KEY_REUSED. If the store is
// down, the answer is 503 SERVICE_UNAVAILABLE and the handler does not run.
//
//	store := middleware.NewMemoryStore() // or NewValkeyStore(client)
//	cfg := middleware.DefaultIdempotencyConfig(store)
//	cfg.Scope = func(r *http.Request) string { return userID(r) }
//	mux.Handle("POST /orders", middleware.Idempotency(cfg)(orders))
//
// # States
//
//	no key, method not covered, path skipped  -> handler runs, no store call
//	malformed key                              -> 400 INVALID_IDEMPOTENCY_KEY
//	first request                              -> claim (PROCESSING), handler runs once
//	duplicate while the first runs             -> 202 processing / 409, Retry-After;
//	                                              with Prefer: wait=N, the replay once it ends
//	retry after a stored response              -> replay, Idempotent-Replayed: true
//	same key, different request                -> 422 IDEMPOTENCY_KEY_REUSED
//	status not stored (5xx, 408, 429, policy)
//	or handler panicked                        -> claim released, a retry runs again
//	2xx streamed, hijacked or too large        -> tombstone: a retry gets 303 to its
//	                                              Location or 409 RESPONSE_NOT_REPLAYABLE,
//	                                              Idempotent-Replayed: true
//	storing failed after the handler ran       -> response delivered, claim kept and
//	                                              the record written once the store is back
//	scope over its quota                       -> 429 IDEMPOTENCY_QUOTA_EXCEEDED
//	store unreachable                          -> 503 + Retry-After, handler not run
//
// Every answer backed by a record carries Idempotency-Expires;
// [PolicyHandler] serves the whole contract as JSON.
//
// # Keys, scope and fingerprint
//
// Keys are 1 to 255 printable ASCII bytes; the IETF draft's quoted form
// "abc" is the same key as abc (see [ParseKey]). The stored key is
// KeyPrefix + the unpadded base64url of the first 128 bits of SHA-256 over
// the length-prefixed scope and key, 22 characters after the prefix (a
// [Quota] puts the scope's hash tag between them; see docs/idempotency.md).
// Set [IdempotencyConfig.Scope] to the authenticated principal so one
// tenant can never read or block another's key. The fingerprint is
// SHA-256 over the method, path, raw query, scope and body (up to
// MaxBodyBytes).
//
// # Leases
//
// The claim lives ProcessingTTL and its owner renews it every
// ProcessingTTL/3 while the handler runs, so a slow handler is never run
// twice and a crashed worker's key frees itself after ProcessingTTL. If the
// lease is lost anyway (the store lost the record), the handler's context is
// cancelled with a cause wrapping [ErrLeaseLost] and its response is not
// stored. Store writes after the handler use a context that survives the
// client's disconnect. [LeaseFrom] gives the handler its [Lease]: the key,
// the claim's token and a fence that grows with every claim, to guard its
// own writes; [Lease.DerivedKey] gives stable keys for downstream calls.
//
// # Quotas
//
// [IdempotencyConfig.Quota] limits, per scope, the keys in flight and the
// bytes of stored responses; a new key over a limit is answered 429
// IDEMPOTENCY_QUOTA_EXCEEDED with Retry-After, while replays are never
// refused. The store enforces it atomically ([QuotaStore]).
//
// # Stores
//
// [MemoryStore] is the embedded default: bounded, for one process.
// [ValkeyStore] is for production: one native round trip per claim (a replay
// costs one round trip), owner-checked scripts for the rest, one key per
// operation, so it works unchanged on Valkey Cluster. Package storetest is
// the conformance suite any Store implementation can run.
package middleware
