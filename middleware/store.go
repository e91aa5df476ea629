package middleware

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrLeaseLost is returned by [Store.Complete], [Store.Release] and
// [Store.Extend] when the key no longer holds the processing record of the
// given owner token: the lease expired and the record was removed, or another
// request has claimed the key since.
var ErrLeaseLost = errors.New("idempotency: lease lost")

// ErrStoreFull is returned by [Store.Claim] when a bounded store has no room
// for a new record. The middleware answers it like an outage (503), because
// evicting a live record would allow a second execution.
var ErrStoreFull = errors.New("idempotency: store full")

// ErrRecordRejected is returned (wrapped) by [Store.Complete] when the
// store answered and will not keep the record: it is too large for the
// store, or the store is out of memory. Retrying the same record cannot
// succeed, so the middleware stores the response's tombstone instead (a
// retry gets 409 RESPONSE_NOT_REPLAYABLE, never a second run). Any other
// error from Complete is taken as the store being unreachable or slow, and
// the same record is written again once it answers. [ErrStoreFull] from
// Complete is a rejection too.
var ErrRecordRejected = errors.New("idempotency: record rejected by the store")

// RecordState is the lifecycle state of a stored [Record].
type RecordState uint8

const (
	// StateProcessing marks a key claimed by a request whose handler is running.
	StateProcessing RecordState = 1
	// StateCompleted marks a key whose response is stored for replay.
	StateCompleted RecordState = 2
	// StateTombstone marks a key whose handler ran but whose response could
	// not be stored (streamed, hijacked, too large): retries never run the
	// handler again and get 303 See Other or 409 RESPONSE_NOT_REPLAYABLE.
	StateTombstone RecordState = 3
)

// String returns "processing", "completed" or "tombstone".
func (s RecordState) String() string {
	switch s {
	case StateProcessing:
		return "processing"
	case StateCompleted:
		return "completed"
	case StateTombstone:
		return "tombstone"
	default:
		return "unknown"
	}
}

// Record is what a [Store] keeps under one key.
//
// A processing record carries the owner's Token, its Fence and the request
// Fingerprint; a completed record also carries the response (Status,
// Header, Body); a tombstone carries the status and headers of a response
// that could not be stored, with its size and, when known, its SHA-256.
// Records handed to a Store are never modified by it afterwards, and records
// returned by a Store belong to the caller. A Store copies (encodes) what it
// keeps before the call returns: the middleware hands it a response's
// Header and Body without copying them, and reuses the body's buffer once
// the call has returned.
type Record struct {
	// State is StateProcessing or StateCompleted.
	State RecordState
	// Token identifies the request that owns a processing record.
	// Owner-checked operations compare it byte for byte.
	Token string
	// Fingerprint is the SHA-256 of the request (method, path, query, scope
	// and body); a key reused with another fingerprint is rejected.
	Fingerprint [32]byte
	// Status is the stored response status (completed records only).
	Status int
	// Header holds the stored response headers (completed records only).
	Header http.Header
	// Body is the stored response body (completed records only).
	Body []byte
	// ExpiresAt is when the record expires, as computed by the middleware
	// when it wrote the record (millisecond precision).
	ExpiresAt time.Time
	// Fence is the fencing number of the claim that wrote the record: it
	// grows every time the key is claimed again (see [Lease]).
	Fence uint64
	// BodySize is the size of a tombstone's response body in bytes.
	BodySize int64
	// BodySHA256 is the SHA-256 of a tombstone's response body, or zero
	// when the body was not fully seen (streamed past the capture limit).
	BodySHA256 [32]byte
}

// Store keeps idempotency records. Implementations must make every method
// atomic on its key, and honour ctx cancellation and deadlines: the middleware
// bounds every call with its store timeout.
//
// The package provides [MemoryStore] and [ValkeyStore]; the conformance
// suite in package storetest checks any implementation.
type Store interface {
	// Claim stores rec (a processing record) under key with the given
	// time to live, unless a record already exists. It returns (nil, nil)
	// when rec was stored, and the existing record when there was one.
	Claim(ctx context.Context, key string, rec *Record, ttl time.Duration) (*Record, error)

	// Complete replaces the processing record owned by token with rec
	// (a completed record or a tombstone), with the given time to live. It
	// returns ErrLeaseLost when key does not hold a processing record owned
	// by token, except that a key already holding the final record of the
	// same claim (equal fingerprint, fence, status and expiry: an earlier
	// Complete that landed although its answer was lost) is success and is
	// left as it is. It returns an error wrapping [ErrRecordRejected] when
	// the store will not keep rec.
	Complete(ctx context.Context, key, token string, rec *Record, ttl time.Duration) error

	// Release deletes the processing record owned by token. It returns
	// ErrLeaseLost when key does not hold a processing record owned by token.
	Release(ctx context.Context, key, token string) error

	// Extend sets the time to live of the processing record owned by token
	// to ttl. It returns ErrLeaseLost when key does not hold a processing
	// record owned by token.
	Extend(ctx context.Context, key, token string, ttl time.Duration) error
}

// Pinger is implemented by stores that can check that their backend answers,
// for readiness probes.
type Pinger interface {
	Ping(ctx context.Context) error
}
