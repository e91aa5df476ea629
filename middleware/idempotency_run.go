package middleware

import (
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/recorder"
)

// run executes the handler under the claim, then stores the response, a
// tombstone, or releases the key. The handler reads the body held by p and
// writes to p's recorder; the final record is built in p's scratch record.
func (h *idempotencyHandler) run(w http.ResponseWriter, r *http.Request, c *claimed, p *requestPrint) {
	m := h.m
	c.ctx.parent, c.ctx.lease = r.Context(), &c.Lease
	defer c.ctx.release()
	var outer http.Header // headers set by middleware in front of this one
	if len(w.Header()) > 0 {
		outer = w.Header().Clone()
	}
	rec, scratch := &p.resp, &p.rec
	rec.Reset(w, recorder.Buffered(), recorder.WithCaptureLimit(m.maxResponse), recorder.WithMethod(r.Method))
	defer rec.Release()
	l := m.startLease(r, c)
	var start time.Time // the handler's start, for events only
	if m.onEvent != nil {
		start = time.Now()
	}

	panicked := true
	defer func() {
		if panicked {
			// The panic goes on after this; an outer Recover answers it.
			l.stop()
			rec.Discard()
			m.release(r, c, "handler panicked", 0, m.since(start))
		}
	}()
	h.next.ServeHTTP(rec, c.request(r, p))
	panicked = false

	status := rec.Status()
	elapsed := m.since(start)
	switch {
	case l.isLost():
		l.stop()
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency lease lost while the handler ran: response delivered, not stored",
			slog.String("key", c.Key), slog.String("trace_id", httpx.TraceID(r.Context())))
	case rec.Hijacked():
		// The connection left HTTP: whatever the handler did, it did.
		m.tombstone(r, rec, outer, c, l, elapsed, scratch)
	case !rec.Written() && !m.storeUnwritten:
		l.stop()
		m.unwritten(r, c, elapsed)
	case r.Method == http.MethodHead || neverStored(status) || !m.shouldStore(status):
		l.stop()
		m.release(r, c, "status not stored by policy", status, elapsed)
	case !rec.Storable():
		m.tombstone(r, rec, outer, c, l, elapsed, scratch)
	default:
		m.complete(r, rec, outer, c, l, elapsed, scratch)
	}
	if err := rec.Commit(); err != nil && !errors.Is(err, recorder.ErrDiscarded) {
		m.log.LogAttrs(r.Context(), slog.LevelDebug, "idempotency: sending the response failed",
			slog.String("key", c.Key), slog.Any("error", err))
	}
}

// complete stores the response for replay.
func (m *idempotency) complete(r *http.Request, rec *recorder.Recorder, outer http.Header, c *claimed, l *lease, elapsed time.Duration, scratch *Record) {
	now := c.now()
	stored := m.finalRecord(scratch, StateCompleted, rec, outer, c, now)
	stored.Body = rec.Body()
	if m.storeFinal(r, c, l, stored, EventStored, elapsed, now) {
		// Not put in the replay cache: most keys are never retried, and a
		// record enters the cache on its first replay from the store.
		rec.SetCommitHeader(HeaderExpires, m.expires.values(stored.ExpiresAt)...)
	}
}

// tombstone stores what is known of a response that cannot be replayed
// (streamed, hijacked, too large), so that a retry never runs the handler
// again: its status, the headers the policy keeps (Location among them),
// the body's size and, when it was fully captured, its SHA-256.
func (m *idempotency) tombstone(r *http.Request, rec *recorder.Recorder, outer http.Header, c *claimed, l *lease, elapsed time.Duration, scratch *Record) {
	now := c.now()
	ts := m.finalRecord(scratch, StateTombstone, rec, outer, c, now)
	ts.BodySize = rec.BytesWritten()
	if !rec.Truncated() && !rec.Hijacked() { // a hijacked body bypasses the recorder
		ts.BodySHA256 = sha256.Sum256(rec.Body())
	}
	m.log.LogAttrs(r.Context(), slog.LevelInfo, "idempotency: response not replayable, storing a tombstone",
		slog.String("key", c.Key), slog.String("reason", unstorableReason(rec)), slog.Int("status", ts.Status),
		slog.Int64("body_bytes", ts.BodySize))
	if m.storeFinal(r, c, l, ts, EventTombstoned, elapsed, now) {
		rec.SetCommitHeader(HeaderExpires, m.expires.values(ts.ExpiresAt)...)
	}
}

// finalRecord makes dst what a completed record and a tombstone share:
// the request's fingerprint and fence, the status, the headers the policy
// stores (less those set by middleware in front, outer) and the expiry,
// CompletedTTL after now.
func (m *idempotency) finalRecord(dst *Record, state RecordState, rec *recorder.Recorder, outer http.Header, c *claimed, now time.Time) *Record {
	*dst = Record{
		State:       state,
		Fingerprint: c.fp,
		Fence:       c.Fence,
		Status:      rec.Status(),
		Header:      m.headerFilter.filter(rec.SnapshotView(), outer),
		ExpiresAt:   now.Add(m.completedTTL),
	}
	return dst
}

// now returns the current time as c's claim time plus the time elapsed
// since: time.Since reads only the monotonic clock, where time.Now reads
// the wall clock too.
func (c *claimed) now() time.Time { return c.at.Add(time.Since(c.at)) }

func unstorableReason(rec *recorder.Recorder) string {
	if rec.Hijacked() {
		return "connection hijacked"
	}
	return rec.Reason()
}

// storeFinal writes a final record (completed or tombstone) under the claim,
// at the time now, and reports whether it was written now. When the store
// fails, the record is written in the background (completion.go) as soon as
// the store answers again, while the lease keeps the claim alive: the
// handler ran, so a retry must see "processing" meanwhile, never run it a
// second time.
func (m *idempotency) storeFinal(r *http.Request, c *claimed, l *lease, rec *Record, ok EventKind, elapsed time.Duration, now time.Time) bool {
	l.finish()
	ctx := m.detached(r)
	var err error
	if m.mem != nil {
		err = m.mem.completeSlot(ctx, c.Key, c.Token, rec, m.completedTTL, c.slot, now)
	} else {
		err = m.store.Complete(ctx, c.Key, c.Token, rec, m.completedTTL)
	}
	if err == nil {
		l.stop()
		m.emit(Event{Kind: ok, Request: r, Key: c.Key, Status: rec.Status, Duration: elapsed})
		return true
	}
	if errors.Is(err, ErrLeaseLost) {
		l.stop()
		m.emit(Event{Kind: EventLeaseLost, Request: r, Key: c.Key, Status: rec.Status, Err: err})
		m.log.LogAttrs(r.Context(), slog.LevelError, "idempotency: lease lost before the response was stored; response delivered, not stored",
			slog.String("key", c.Key), slog.String("trace_id", httpx.TraceID(r.Context())), slog.Any("error", err))
		return false
	}
	m.emit(Event{Kind: EventStoreError, Request: r, Key: c.Key, Status: rec.Status, Err: err})
	m.log.LogAttrs(r.Context(), slog.LevelWarn,
		"idempotency: storing the response failed; delivering it and retrying the store in the background while the claim is kept",
		slog.String("key", c.Key), slog.String("trace_id", httpx.TraceID(r.Context())),
		slog.Int("status", rec.Status), slog.Any("error", err))
	m.deferCompletion(r, c, l, rec, ok, err)
	return false
}

// unwritten releases the claim of a handler that wrote no response: the
// empty 200 net/http sends for it is delivered, not stored. Such a handler
// nearly always failed in a way its framework answers outside the
// middleware (echo's and gin's error handlers), and storing the empty 200
// would replay a failure as success for CompletedTTL.
func (m *idempotency) unwritten(r *http.Request, c *claimed, elapsed time.Duration) {
	route := c.req.Pattern
	if route == "" {
		route = r.Pattern
	}
	if route == "" {
		route = r.URL.Path
	}
	m.emit(Event{Kind: EventUnwritten, Request: r, Key: c.Key, Status: http.StatusOK, Duration: elapsed})
	m.log.LogAttrs(r.Context(), slog.LevelWarn,
		"idempotency: the handler wrote no response; its empty 200 is delivered but not stored and the key is released "+
			"(set IdempotencyConfig.StoreUnwritten to store it)",
		slog.String("route", route), slog.String("method", r.Method), slog.String("key", c.Key),
		slog.String("trace_id", httpx.TraceID(r.Context())))
	m.release(r, c, "handler wrote no response", http.StatusOK, elapsed)
}

// release deletes the claim so that a retry runs the handler again.
func (m *idempotency) release(r *http.Request, c *claimed, why string, status int, elapsed time.Duration) {
	ctx := m.detached(r)
	err := m.store.Release(ctx, c.Key, c.Token)
	if err != nil {
		kind := EventStoreError
		if errors.Is(err, ErrLeaseLost) {
			kind = EventLeaseLost
		}
		m.emit(Event{Kind: kind, Request: r, Key: c.Key, Status: status, Err: err})
		m.log.LogAttrs(r.Context(), slog.LevelWarn, "idempotency: releasing the key failed; retries wait for ProcessingTTL",
			slog.String("key", c.Key), slog.String("reason", why), slog.Any("error", err))
		return
	}
	m.emit(Event{Kind: EventReleased, Request: r, Key: c.Key, Status: status, Duration: elapsed})
	m.log.LogAttrs(r.Context(), slog.LevelDebug, "idempotency: key released",
		slog.String("key", c.Key), slog.String("reason", why), slog.Int("status", status))
}

// inProcessStore is implemented by stores whose calls never block on I/O
// (MemoryStore): the middleware then skips per-call timeouts.
type inProcessStore interface{ inProcess() }
