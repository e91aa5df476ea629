package middleware_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// TestIdempotencyValkeyRestart stops Valkey mid-run and restarts it: while
// it is down every keyed request is 503 with Retry-After and no handler
// runs; a handler that was running when Valkey died delivers its response,
// is never run again, and its record is stored once Valkey is back; after
// the restart the same app serves normally.
// The server runs with an fsync-always AOF so the records survive the crash,
// as a production deployment with persistence would.
func TestIdempotencyValkeyRestart(t *testing.T) {
	s := valkeytest.StartServer(t, valkeytest.WithArgs("--appendonly", "yes", "--appendfsync", "always"))
	var serial atomic.Int64
	inFlight, proceed := make(chan struct{}), make(chan struct{})
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(inFlight)
			<-proceed
		}
		created(&serial)(w, r)
	}}
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewValkeyStore(s.Client(t)))
	// Neither may run out on a busy machine: a store call that answers late
	// would be a 503 before the crash, and the in-flight request's claim
	// must outlive the outage and the restart (nothing here waits for it to
	// expire). A stopped server refuses connections at once, so the outage
	// costs no store timeouts.
	cfg.StoreTimeout = 5 * time.Second
	cfg.ProcessingTTL = 30 * time.Second
	mw := middleware.Idempotency(cfg)(h)

	done := make([]string, 20)
	for i := range done {
		done[i] = newKey()
		if got := do(t, mw, "POST", "/orders", done[i], "{}"); got.status != http.StatusCreated {
			t.Fatalf("before the crash: %d, want 201", got.status)
		}
	}
	slowKey := newKey()
	slow := make(chan result)
	go func() { slow <- do(t, mw, "POST", "/slow", slowKey, "{}") }()
	<-inFlight

	s.Stop()
	close(proceed)
	if got := <-slow; got.status != http.StatusCreated {
		t.Errorf("in-flight request when Valkey died = %d, want 201 (its response is still delivered)", got.status)
	}
	runs := h.calls.Load()
	fresh := make([]string, 10)
	for i := range fresh {
		fresh[i] = newKey()
	}
	for _, key := range append(append([]string{}, done...), fresh...) {
		got := do(t, mw, "POST", "/orders", key, "{}")
		if got.status != http.StatusServiceUnavailable || errorCode(t, got.body) != "SERVICE_UNAVAILABLE" ||
			got.header.Get("Retry-After") != "1" {
			t.Fatalf("while Valkey is down = %d %s (Retry-After %q), want 503 SERVICE_UNAVAILABLE with Retry-After: 1",
				got.status, got.body, got.header.Get("Retry-After"))
		}
	}
	if got := h.calls.Load(); got != runs {
		t.Fatalf("handler ran %d times while Valkey was down, want 0", got-runs)
	}

	s.Restart()
	// Each pipelined connection of the client may answer one command with
	// the dead connection's EOF (a 503) before it reconnects: wait for a
	// run of answers from the restarted server.
	streak := 0
	eventually(t, patience, "service back after restart", func() bool {
		if do(t, mw, "POST", "/orders", done[0], "{}").status == http.StatusCreated {
			streak++
		} else {
			streak = 0
		}
		return streak >= 10
	})
	for _, key := range done {
		if got := do(t, mw, "POST", "/orders", key, "{}"); got.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("after restart, key done before the crash = %d, not a replay", got.status)
		}
	}
	for _, key := range fresh {
		if got := do(t, mw, "POST", "/orders", key, "{}"); got.status != http.StatusCreated {
			t.Errorf("after restart, new key = %d, want 201", got.status)
		}
	}
	// The in-flight request's completion failed with the crash; its claim
	// was persisted and kept alive, and the record is written in the
	// background once Valkey is back: its retry gets "processing" until
	// then and the replay after — never a second run.
	eventually(t, patience, "in-flight request's record written after the restart", func() bool {
		got := do(t, mw, "POST", "/slow", slowKey, "{}")
		if got.status != http.StatusAccepted && got.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("retry of the in-flight request = %d, want 202 or a replay", got.status)
		}
		return got.header.Get("Idempotent-Replayed") == "true"
	})
	if got, want := h.calls.Load(), int64(20+1+10); got != want {
		t.Errorf("handler calls = %d, want %d (each key exactly once)", got, want)
	}
}

// TestIdempotencyValkeyPaused: a hung Valkey (SIGSTOP) turns into 503
// within the store timeout, not a hung request; it recovers on SIGCONT.
func TestIdempotencyValkeyPaused(t *testing.T) {
	s := valkeytest.StartServer(t)
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewValkeyStore(s.Client(t)))
	// Short, so that the paused requests below are quick to answer; long
	// enough that a running server answers in time on a busy machine.
	cfg.StoreTimeout = 500 * time.Millisecond
	mw := middleware.Idempotency(cfg)(h)
	if got := do(t, mw, "POST", "/x", newKey(), "{}"); got.status != http.StatusCreated {
		t.Fatalf("before pause = %d, want 201", got.status)
	}
	s.Pause()
	for i := range 3 {
		start := time.Now()
		got := do(t, mw, "POST", "/x", newKey(), "{}")
		elapsed := time.Since(start)
		if got.status != http.StatusServiceUnavailable {
			t.Errorf("paused %d = %d, want 503", i, got.status)
		}
		// A sanity bound, 20 × the store timeout: the point is "answers",
		// not "hangs".
		if elapsed > 20*cfg.StoreTimeout {
			t.Errorf("paused request took %v, want about the store timeout (%v)", elapsed, cfg.StoreTimeout)
		}
	}
	s.Resume()
	eventually(t, patience, "service back after SIGCONT", func() bool {
		return do(t, mw, "POST", "/x", newKey(), "{}").status == http.StatusCreated
	})
	if got := h.calls.Load(); got < 2 {
		t.Errorf("handler calls = %d, want ≥ 2", got)
	}
}

// TestIdempotencyFailOpen runs the handler when the store is down, if and
// only if FailOpen is set.
func TestIdempotencyFailOpen(t *testing.T) {
	s := valkeytest.StartServer(t)
	store := middleware.NewValkeyStore(s.Client(t))
	s.Stop()
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprint("FailOpen=", failOpen), func(t *testing.T) {
			var serial atomic.Int64
			h := &countingHandler{respond: created(&serial)}
			cfg := middleware.DefaultIdempotencyConfig(store)
			cfg.StoreTimeout = 100 * time.Millisecond
			cfg.FailOpen = failOpen
			got := do(t, middleware.Idempotency(cfg)(h), "POST", "/x", newKey(), `{"a":1}`)
			want, wantRuns := http.StatusServiceUnavailable, int64(0)
			if failOpen {
				want, wantRuns = http.StatusCreated, 1
			}
			if got.status != want || h.calls.Load() != wantRuns {
				t.Errorf("status %d with %d runs, want %d with %d", got.status, h.calls.Load(), want, wantRuns)
			}
			if failOpen && !strings.Contains(got.body, `{\"a\":1}`) {
				t.Errorf("fail-open handler saw body %q, want the request body restored", got.body)
			}
		})
	}
}
