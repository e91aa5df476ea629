package middleware

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// A final record (completed or tombstone) whose first write failed is kept
// in memory and written again in the background, because the handler has
// run: a retry must see "processing" meanwhile and the stored answer
// afterwards, never a second run. This file holds that background
// completion and the bound on the memory it holds.

// Bounds of the final records held for background completion, per
// middleware (see IdempotencyConfig.MaxPendingCompletions and
// MaxPendingCompletionBytes).
const (
	DefaultMaxPendingCompletions     = 10000
	DefaultMaxPendingCompletionBytes = 64 << 20
)

// Backoff between background completion attempts: from the first delay,
// doubling up to the cap, each drawn at random from its upper half.
const (
	completionFirstDelay = 50 * time.Millisecond
	completionMaxDelay   = 2 * time.Second
	// rejectedAttempts is how many times a completed record the store
	// rejects (ErrRecordRejected, ErrStoreFull) is tried before a
	// tombstone replaces it: a store that answers "no" a few times running
	// means it.
	rejectedAttempts = 3
	// completionLifetimes bounds a background completion to this many
	// ProcessingTTLs even while the claim is honoured: a store that keeps
	// renewing the claim but never takes the record would otherwise hold
	// the key in "processing" for as long as the process lives.
	completionLifetimes = 10
)

// pendingCompletions accounts for the final records that wait to be
// written again.
type pendingCompletions struct {
	maxCount int
	maxBytes int64

	mu    sync.Mutex
	count int
	bytes int64
}

// admit reserves room for a record of size bytes, or for its tombstone of
// tsize bytes when the record does not fit. It returns the size reserved:
// size, tsize, or 0 when not even one more tombstone fits.
func (p *pendingCompletions) admit(size, tsize int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.count >= p.maxCount {
		return 0
	}
	for _, n := range [2]int64{size, tsize} {
		if p.bytes+n <= p.maxBytes {
			p.count++
			p.bytes += n
			return n
		}
	}
	return 0
}

// done returns the room admit reserved.
func (p *pendingCompletions) done(size int64) {
	p.mu.Lock()
	p.count--
	p.bytes -= size
	p.mu.Unlock()
}

// usage returns the number of records waiting and the bytes they hold.
func (p *pendingCompletions) usage() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count, p.bytes
}

// pendingSize is what a record held for background completion costs: its
// body and header bytes plus a fixed allowance for the rest.
func pendingSize(rec *Record) int64 {
	n := int64(len(rec.Body)) + 256
	for k, vs := range rec.Header {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16
		}
	}
	return n
}

// tombstoneOf returns the tombstone of a completed record: what a retry
// needs to answer "not replayable" (status, headers, the body's size and
// SHA-256), without the body.
func tombstoneOf(rec *Record) *Record {
	return &Record{State: StateTombstone, Fingerprint: rec.Fingerprint, Fence: rec.Fence,
		Status: rec.Status, Header: rec.Header, BodySize: int64(len(rec.Body)),
		BodySHA256: sha256.Sum256(rec.Body), ExpiresAt: rec.ExpiresAt}
}

// rejected reports whether err says the store answered and will not keep
// the record (as opposed to being unreachable or slow).
func rejected(err error) bool {
	return errors.Is(err, ErrRecordRejected) || errors.Is(err, ErrStoreFull)
}

// deferCompletion hands a final record whose write failed with err to a
// background completion. rec's body and header belong to the request, so
// what is kept is copied; when the pending bound is full, a tombstone is
// kept instead of the response, and when not even that fits the record is
// dropped: renewal stops and the claim expires after ProcessingTTL.
func (m *idempotency) deferCompletion(r *http.Request, c *claimed, l *lease, rec *Record, ok EventKind, err error) {
	size, tsize := pendingSize(rec), pendingSize(&Record{Header: rec.Header})
	var pending *Record
	switch got := m.pending.admit(size, tsize); {
	case got == 0:
		l.stop()
		count, bytes := m.pending.usage()
		m.emit(Event{Kind: EventCompletionDropped, Request: r, Key: c.Key, Status: rec.Status, Err: err})
		m.log.LogAttrs(r.Context(), slog.LevelError,
			"idempotency: too many responses wait to be stored (MaxPendingCompletions or MaxPendingCompletionBytes); "+
				"this one is dropped: its claim expires after ProcessingTTL and a retry may then run the handler again",
			slog.String("key", c.Key), slog.String("trace_id", httpx.TraceID(r.Context())),
			slog.Int("pending", count), slog.Int64("pending_bytes", bytes), slog.Any("error", err))
		return
	case got == tsize && tsize != size && rec.State == StateCompleted:
		count, bytes := m.pending.usage()
		m.log.LogAttrs(r.Context(), slog.LevelWarn,
			"idempotency: pending completions hold MaxPendingCompletionBytes; keeping a tombstone instead of the response "+
				"(a retry gets 303 or 409 RESPONSE_NOT_REPLAYABLE, never a second run)",
			slog.String("key", c.Key), slog.Int("pending", count), slog.Int64("pending_bytes", bytes),
			slog.Int64("body_bytes", int64(len(rec.Body))))
		pending, ok = tombstoneOf(rec), EventTombstoned
		pending.Header = rec.Header.Clone()
		size = tsize
	default:
		p := *rec
		p.Body = append([]byte(nil), rec.Body...) // rec's buffer is pooled
		p.Header = rec.Header.Clone()             // rec's map is the recorder's snapshot
		pending = &p
	}
	go m.completeLater(r, c, l, pending, ok, err, size)
}

// completeLater writes a final record whose first write failed with err,
// retrying with capped, jittered backoff for as long as the claim can be
// honoured: the lease keeps renewing it meanwhile, as for a running
// handler. A failure of the store to answer (an outage, a timeout, a
// failover) is retried; a store that answers and rejects a completed record
// (too large, out of memory) gets its tombstone instead after a few tries:
// "cannot replay" beats "runs again". The attempt that finds the key
// already holding this record (an earlier write that landed although its
// answer was lost) succeeds. It gives up after 10 × ProcessingTTL even
// while the claim is honoured. size is what deferCompletion reserved.
func (m *idempotency) completeLater(r *http.Request, c *claimed, l *lease, rec *Record, ok EventKind, err error, size int64) {
	defer m.pending.done(size)
	defer l.stop()
	delay, refusals := completionFirstDelay, 0
	giveUp := time.Now().Add(completionLifetimes * m.processingTTL)
	for attempt := 2; ; attempt++ {
		if rejected(err) {
			refusals++
		} else {
			refusals = 0
		}
		if refusals >= rejectedAttempts && rec.State == StateCompleted {
			m.log.LogAttrs(context.Background(), slog.LevelWarn,
				"idempotency: the store rejects the response; storing a tombstone instead (a retry gets 303 or 409 RESPONSE_NOT_REPLAYABLE, never a second run)",
				slog.String("key", c.Key), slog.Int("body_bytes", len(rec.Body)), slog.Any("error", err))
			rec, ok, refusals = tombstoneOf(rec), EventTombstoned, 0
		} else {
			time.Sleep(delay/2 + rand.N(delay/2+1))
			delay = min(2*delay, completionMaxDelay)
		}
		if now := time.Now(); now.After(giveUp) {
			m.log.LogAttrs(context.Background(), slog.LevelError,
				"idempotency: the store has not accepted the response for 10 × ProcessingTTL; giving up: "+
					"the claim expires after ProcessingTTL and a retry may then run the handler again",
				slog.String("key", c.Key), slog.Int("attempts", attempt-1), slog.Any("error", err))
			return
		} else if !l.honoured(now) {
			lost := fmt.Errorf("%w: the claim expired before the store accepted the response (last error: %w)", ErrLeaseLost, err)
			m.emit(Event{Kind: EventLeaseLost, Request: r, Key: c.Key, Status: rec.Status, Err: lost})
			m.log.LogAttrs(context.Background(), slog.LevelError,
				"idempotency: the response could not be stored before the claim expired; a retry may run the handler again",
				slog.String("key", c.Key), slog.Int("attempts", attempt-1), slog.Any("error", err))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
		err = m.store.Complete(ctx, c.Key, c.Token, rec, m.completedTTL)
		cancel()
		switch {
		case err == nil:
			m.emit(Event{Kind: ok, Request: r, Key: c.Key, Status: rec.Status})
			m.log.LogAttrs(context.Background(), slog.LevelInfo, "idempotency: record stored after an earlier failure",
				slog.String("key", c.Key), slog.String("state", rec.State.String()), slog.Int("attempts", attempt))
			return
		case errors.Is(err, ErrLeaseLost):
			m.emit(Event{Kind: EventLeaseLost, Request: r, Key: c.Key, Status: rec.Status, Err: err})
			m.log.LogAttrs(context.Background(), slog.LevelError,
				"idempotency: lease lost before the response was stored; a retry may run the handler again",
				slog.String("key", c.Key), slog.Int("attempts", attempt), slog.Any("error", err))
			return
		}
		m.emit(Event{Kind: EventStoreError, Request: r, Key: c.Key, Status: rec.Status, Err: err})
	}
}
