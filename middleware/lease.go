package middleware

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// lease renews a processing claim while its handler runs, so a handler
// slower than ProcessingTTL is never run a second time, while a crashed
// worker's claim still expires after ProcessingTTL. The middleware's
// leaseSet renews it (lease_set.go): a request that finishes before its
// first renewal costs two short list operations and nothing else.
type lease struct {
	m     *idempotency
	r     *http.Request
	key   string
	token string
	ctx   *leaseContext // the handler's, cancelled when the lease is lost

	shard      *leaseShard // guards prev and next
	prev, next *lease

	mu       sync.Mutex
	due      time.Time // when the next renewal is due
	renewing bool      // a renewal is running
	lastOK   time.Time
	done     bool
	lost     bool
	// finishing is set once the handler has returned and its final record
	// is being written. A renewal that then finds the record no longer
	// processing proves nothing: the completion may have landed on a
	// server that had not answered yet. Only the completion's own answer
	// (Store.Complete, which accepts the same owner's record again) says
	// whether the lease was lost, so the renewal stops quietly.
	finishing bool
}

// startLease starts renewing the claim c holds, in c.renewal (zero-valued),
// cancelling c.ctx if the claim is lost.
func (m *idempotency) startLease(r *http.Request, c *claimed) *lease {
	l := &c.renewal
	l.m, l.r, l.key, l.token, l.ctx, l.lastOK = m, r, c.Key, c.Token, &c.ctx, c.at
	l.due = c.at.Add(m.renewEvery)
	m.leases.add(l)
	return l
}

// takeIfDue reports whether a renewal of l is due at now and, if so,
// marks it running: the caller runs it.
func (l *lease) takeIfDue(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done || l.lost || l.renewing || now.Before(l.due) {
		return false
	}
	l.renewing = true
	return true
}

// renew extends the claim; it runs on a goroutine of its own.
func (l *lease) renew() {
	m := l.m
	ctx, cancel := context.WithTimeout(context.Background(), m.storeTimeout)
	err := m.store.Extend(ctx, l.key, l.token, m.processingTTL)
	cancel()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.renewing = false
	if l.done {
		return
	}
	now := time.Now()
	switch {
	case err == nil:
		l.lastOK = now
		l.due = now.Add(m.renewEvery)
	case l.finishing && (errors.Is(err, ErrLeaseLost) || now.Sub(l.lastOK) >= m.processingTTL):
		// Nothing left to renew: the completion decides and reports.
		l.due = now.Add(m.processingTTL)
	case errors.Is(err, ErrLeaseLost):
		l.loseLocked(err)
	case now.Sub(l.lastOK) >= m.processingTTL:
		// The claim has certainly expired by now.
		l.loseLocked(fmt.Errorf("%w: renewal failed for %v: %w", ErrLeaseLost, m.processingTTL, err))
	default:
		m.emit(Event{Kind: EventStoreError, Request: l.r, Key: l.key, Err: err})
		l.due = now.Add(min(m.renewEvery, time.Second))
	}
}

// loseLocked cancels the handler's context with a cause that says the lease
// was lost: another request may now run the same key.
func (l *lease) loseLocked(err error) {
	l.lost = true
	l.m.emit(Event{Kind: EventLeaseLost, Request: l.r, Key: l.key, Err: err})
	l.m.log.LogAttrs(l.r.Context(), slog.LevelError, "idempotency lease lost while the handler runs: cancelling its context",
		slog.String("key", l.key), slog.String("trace_id", httpx.TraceID(l.r.Context())), slog.Any("error", err))
	l.ctx.lose(err)
}

// stop ends renewal; a renewal already running finds done set and does
// nothing more.
func (l *lease) stop() {
	l.mu.Lock()
	done := l.done
	l.done = true
	l.mu.Unlock()
	if !done {
		l.m.leases.remove(l)
	}
}

// isLost reports whether the lease was lost while the handler ran.
func (l *lease) isLost() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// finish marks the handler as returned: the final record is being written
// (see lease.finishing).
func (l *lease) finish() {
	l.mu.Lock()
	l.finishing = true
	l.mu.Unlock()
}

// honoured reports whether the claim can still be held at now: it was not
// lost, and the last successful renewal (or the claim itself) is less than
// ProcessingTTL old, so the store cannot have expired it yet.
func (l *lease) honoured(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.lost && now.Sub(l.lastOK) < l.m.processingTTL
}
