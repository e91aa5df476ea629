package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// errUnreachable stands for a store that cannot be reached (a refused
// connection, a timeout): the failure the middleware must outlast.
var errUnreachable = errors.New("dial tcp 127.0.0.1:6379: connect: connection refused")

// switchableStore puts faults in front of a real MemoryStore: while down,
// every call fails as if the store were unreachable; while rejecting, the
// store refuses completed records (not tombstones) as too large.
type switchableStore struct {
	middleware.Store
	down      atomic.Bool
	failing   atomic.Bool // Complete alone fails as unreachable
	rejecting atomic.Bool
	completes atomic.Int64 // Complete calls, failed ones included
}

func (s *switchableStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	if s.down.Load() {
		return nil, errUnreachable
	}
	return s.Store.Claim(ctx, key, rec, ttl)
}

func (s *switchableStore) Complete(ctx context.Context, key, token string, rec *middleware.Record, ttl time.Duration) error {
	s.completes.Add(1)
	switch {
	case s.down.Load() || s.failing.Load():
		return errUnreachable
	case s.rejecting.Load() && rec.State == middleware.StateCompleted:
		return fmt.Errorf("%w: %d bytes over the limit", middleware.ErrRecordRejected, len(rec.Body))
	}
	return s.Store.Complete(ctx, key, token, rec, ttl)
}

func (s *switchableStore) Release(ctx context.Context, key, token string) error {
	if s.down.Load() {
		return errUnreachable
	}
	return s.Store.Release(ctx, key, token)
}

func (s *switchableStore) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	if s.down.Load() {
		return errUnreachable
	}
	return s.Store.Extend(ctx, key, token, ttl)
}

// completionRig is a middleware on a switchableStore whose handler, on
// path /block, waits for release before answering 201.
type completionRig struct {
	store   *switchableStore
	ev      events
	h       *countingHandler
	mw      http.Handler
	started chan struct{}
	release chan struct{}
}

func newCompletionRig(t *testing.T, body string, configure func(*middleware.IdempotencyConfig)) *completionRig {
	t.Helper()
	g := &completionRig{
		store:   &switchableStore{Store: middleware.NewMemoryStore()},
		started: make(chan struct{}, 1),
		release: make(chan struct{}),
	}
	g.h = &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			g.started <- struct{}{}
			<-g.release
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/bookings/7")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(body))
	}}
	cfg := middleware.DefaultIdempotencyConfig(g.store)
	cfg.OnEvent = g.ev.add
	cfg.ProcessingTTL = 20 * time.Second
	if configure != nil {
		configure(&cfg)
	}
	g.mw = middleware.Idempotency(cfg)(g.h)
	return g
}

// awaitReplay retries POST path with key while the answer has one of the
// waiting statuses (the record is not written yet), and fails the test
// unless it then is the original 201 replayed: body, and Location when
// location is set.
func awaitReplay(t *testing.T, mw http.Handler, path, key, body, location string, waiting ...int) {
	t.Helper()
	eventually(t, time.Minute, "the original answer replayed", func() bool {
		got := do(t, mw, "POST", path, key, "{}")
		switch {
		case slices.Contains(waiting, got.status):
			return false
		case got.status != http.StatusCreated || got.body != body || got.header.Get("Idempotent-Replayed") != "true" ||
			(location != "" && got.header.Get("Location") != location):
			t.Fatalf("retry of %s = %d %q %v, want the original 201 %q replayed", key, got.status, got.body, got.header, body)
		}
		return true
	})
}

// noEvents fails the test if ev holds any event of the given kinds.
func noEvents(t *testing.T, ev *events, kinds ...middleware.EventKind) {
	t.Helper()
	for _, k := range kinds {
		if n := ev.count(k); n != 0 {
			t.Errorf("%v events = %d, want 0 (%v)", k, n, ev.String())
		}
	}
}

// finishDuringOutage runs a request to /block with key, takes the store
// down while its handler runs, and returns the client's answer.
func (g *completionRig) finishDuringOutage(t *testing.T, key string) result {
	t.Helper()
	done := make(chan result)
	go func() { done <- do(t, g.mw, "POST", "/block", key, "{}") }()
	<-g.started
	g.store.down.Store(true)
	g.release <- struct{}{}
	return <-done
}

// TestCompletionOutlastsOutage: a store that is unreachable when the
// handler finishes, for longer than a few quick retries, costs nothing:
// the client gets its 201, retries see "processing" (or 503 while the store
// is down), and once the store is back the retry replays the original
// answer byte for byte. No tombstone, no lost lease, one execution.
func TestCompletionOutlastsOutage(t *testing.T) {
	const body = `{"booking":7,"seats":2}`
	g := newCompletionRig(t, body, nil)
	key := newKey()
	first := g.finishDuringOutage(t, key)
	if first.status != http.StatusCreated || first.body != body {
		t.Fatalf("first = %d %q, want 201 %q (the client gets its response)", first.status, first.body, body)
	}
	// Well past the four quick attempts after which the record used to
	// become a tombstone.
	eventually(t, 30*time.Second, "ten background attempts", func() bool { return g.store.completes.Load() >= 10 })
	if got := do(t, g.mw, "POST", "/block", key, "{}"); got.status != http.StatusServiceUnavailable {
		t.Errorf("retry while the store is down = %d, want 503", got.status)
	}
	g.store.down.Store(false)
	awaitReplay(t, g.mw, "/block", key, body, "/bookings/7", http.StatusAccepted)
	if n := g.h.calls.Load(); n != 1 {
		t.Errorf("handler calls = %d, want 1", n)
	}
	noEvents(t, &g.ev, middleware.EventTombstoned, middleware.EventLeaseLost, middleware.EventCompletionDropped)
	if g.ev.count(middleware.EventStored) != 1 {
		t.Errorf("events = %v, want one stored", g.ev.String())
	}
}

// TestCompletionRejectedKeepsTombstone: a store that answers and refuses
// the response (ErrRecordRejected) gets its tombstone: the retry is sent
// 303 to its Location, never a second run.
func TestCompletionRejectedKeepsTombstone(t *testing.T) {
	g := newCompletionRig(t, `{"ok":true}`, nil)
	g.store.rejecting.Store(true)
	key := newKey()
	if got := do(t, g.mw, "POST", "/orders", key, "{}"); got.status != http.StatusCreated {
		t.Fatalf("first = %d, want 201", got.status)
	}
	eventually(t, 30*time.Second, "tombstone stored", func() bool { return g.ev.count(middleware.EventTombstoned) == 1 })
	// The tombstone keeps the response's Location: the retry is sent there.
	got := do(t, g.mw, "POST", "/orders", key, "{}")
	if got.status != http.StatusSeeOther || got.header.Get("Location") != "/bookings/7" {
		t.Errorf("retry = %d %v, want 303 to /bookings/7", got.status, got.header)
	}
	if n := g.h.calls.Load(); n != 1 {
		t.Errorf("handler calls = %d, want 1", n)
	}
}

// TestCompletionPendingBounds: the responses held for background
// completion are bounded in count (beyond it a response is dropped, with
// an event) and in bytes (beyond it the response's tombstone is kept).
func TestCompletionPendingBounds(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		g := newCompletionRig(t, `{"ok":true}`, func(c *middleware.IdempotencyConfig) { c.MaxPendingCompletions = 1 })
		kept, dropped := newKey(), newKey()
		g.store.failing.Store(true)
		if got := do(t, g.mw, "POST", "/orders", kept, "{}"); got.status != http.StatusCreated {
			t.Fatalf("first = %d, want 201", got.status)
		}
		if got := do(t, g.mw, "POST", "/orders", dropped, "{}"); got.status != http.StatusCreated {
			t.Fatalf("second = %d, want 201 (the client still gets its response)", got.status)
		}
		if n := g.ev.count(middleware.EventCompletionDropped); n != 1 {
			t.Errorf("completion-dropped events = %d, want 1 (%v)", n, g.ev.String())
		}
		g.store.failing.Store(false)
		eventually(t, 30*time.Second, "the pending one replays", func() bool {
			return do(t, g.mw, "POST", "/orders", kept, "{}").header.Get("Idempotent-Replayed") == "true"
		})
		// The dropped one's claim is kept until it expires: never a second
		// run while it lives.
		if got := do(t, g.mw, "POST", "/orders", dropped, "{}"); got.status != http.StatusAccepted {
			t.Errorf("retry of the dropped one = %d, want 202", got.status)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		big := `{"pad":"` + strings.Repeat("x", 8<<10) + `"}`
		g := newCompletionRig(t, big, func(c *middleware.IdempotencyConfig) { c.MaxPendingCompletionBytes = 4 << 10 })
		key := newKey()
		if got := g.finishDuringOutage(t, key); got.status != http.StatusCreated || got.body != big {
			t.Fatalf("first = %d, want 201 with its body", got.status)
		}
		g.store.down.Store(false)
		eventually(t, 30*time.Second, "tombstone stored", func() bool { return g.ev.count(middleware.EventTombstoned) == 1 })
		got := do(t, g.mw, "POST", "/block", key, "{}")
		if got.status != http.StatusSeeOther || got.header.Get("Location") != "/bookings/7" {
			t.Errorf("retry = %d %v, want 303 to /bookings/7 (the tombstone)", got.status, got.header)
		}
		if n := g.h.calls.Load(); n != 1 {
			t.Errorf("handler calls = %d, want 1", n)
		}
	})
}

// TestCompletionClaimExpiresDuringOutage: an outage longer than
// ProcessingTTL does expire the claim; that, and only that, is reported as
// a lost lease, once.
func TestCompletionClaimExpiresDuringOutage(t *testing.T) {
	g := newCompletionRig(t, `{"ok":true}`, func(c *middleware.IdempotencyConfig) { c.ProcessingTTL = 400 * time.Millisecond })
	key := newKey()
	if got := g.finishDuringOutage(t, key); got.status != http.StatusCreated {
		t.Fatalf("first = %d, want 201", got.status)
	}
	eventually(t, 30*time.Second, "lease lost reported", func() bool { return g.ev.count(middleware.EventLeaseLost) == 1 })
	g.store.down.Store(false)
	eventually(t, 30*time.Second, "the expired key runs again", func() bool {
		return do(t, g.mw, "POST", "/orders", key, "{}").status == http.StatusCreated && g.h.calls.Load() == 2
	})
	if n := g.ev.count(middleware.EventLeaseLost); n != 1 {
		t.Errorf("lease-lost events = %d, want 1 (%v)", n, g.ev.String())
	}
}
