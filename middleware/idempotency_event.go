package middleware

import (
	"net/http"
	"time"
)

// EventKind says what happened to a keyed request.
type EventKind uint8

const (
	// EventAcquired: the request claimed its key; the handler runs.
	EventAcquired EventKind = iota + 1
	// EventStored: the response was stored for replay.
	EventStored
	// EventReplayed: a stored response was replayed; the handler did not run.
	EventReplayed
	// EventInProgress: a duplicate arrived while the first still ran.
	EventInProgress
	// EventMismatch: the key was reused for a different request (422).
	EventMismatch
	// EventReleased: the claim was released (response not stored, panic),
	// so a retry runs the handler again.
	EventReleased
	// EventStoreError: a store call failed or timed out.
	EventStoreError
	// EventLeaseLost: the running request lost its claim (renewal failed,
	// or the record changed under it).
	EventLeaseLost
	// EventInvalidKey: the key was malformed (400).
	EventInvalidKey
	// EventTombstoned: the response could not be stored (streamed,
	// hijacked, too large); a tombstone was stored instead.
	EventTombstoned
	// EventNotReplayable: a retry found a tombstone and got 303 or 409.
	EventNotReplayable
	// EventWaited: a duplicate waited for the running first request
	// (Prefer: wait or DefaultWait). Duration is the time it waited; Err is
	// context.DeadlineExceeded when the wait ran out, context.Canceled when
	// the client left, or the store error that ended it. The outcome follows
	// as its own event: EventReplayed, EventAcquired (takeover after the
	// first released its claim), EventInProgress, EventStoreError or
	// EventQuotaExceeded (the takeover was refused by the quota).
	EventWaited
	// EventQuotaExceeded: a new claim was refused by the scope's [Quota]
	// (429); Err is the [*QuotaError] naming the limit.
	EventQuotaExceeded
	// EventCompletionDropped: the response's first store write failed and
	// the pending-completion bound (MaxPendingCompletions,
	// MaxPendingCompletionBytes) had no room left to retry it in the
	// background: the claim expires after ProcessingTTL and a retry may then
	// run the handler again. Err is the store error.
	EventCompletionDropped
	// EventUnwritten: the handler returned without writing a status or a
	// body; the empty 200 net/http sends was delivered and the key released
	// (see IdempotencyConfig.StoreUnwritten).
	EventUnwritten
)

var eventNames = [...]string{
	EventAcquired:      "acquired",
	EventStored:        "stored",
	EventReplayed:      "replayed",
	EventInProgress:    "in-progress",
	EventMismatch:      "mismatch",
	EventReleased:      "released",
	EventStoreError:    "store-error",
	EventLeaseLost:     "lease-lost",
	EventInvalidKey:    "invalid-key",
	EventTombstoned:    "tombstoned",
	EventNotReplayable: "not-replayable",
	EventWaited:        "waited",
	EventQuotaExceeded: "quota-exceeded",

	EventCompletionDropped: "completion-dropped",
	EventUnwritten:         "unwritten",
}

// String returns the event's metric-friendly name, e.g. "in-progress".
func (k EventKind) String() string {
	if int(k) < len(eventNames) && eventNames[k] != "" {
		return eventNames[k]
	}
	return "unknown"
}

// Event is passed to [IdempotencyConfig.OnEvent].
type Event struct {
	// Kind says what happened.
	Kind EventKind
	// Request is the request concerned. Do not retain it.
	Request *http.Request
	// Key is the stored (prefixed, hashed) key; never the client's raw key.
	Key string
	// Status is the response status, when there is one.
	Status int
	// Err is the cause of EventStoreError, EventLeaseLost and
	// EventInvalidKey, the [*QuotaError] of EventQuotaExceeded, and why an
	// EventWaited ended early.
	Err error
	// Duration is how long the store call (or, for EventStored and
	// EventReleased, the handler) took.
	Duration time.Duration
}
