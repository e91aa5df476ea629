package middleware_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

func testExpiresHeader(t *testing.T, b backend) {
	var serial atomic.Int64
	started, release := make(chan struct{}), make(chan struct{})
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(started)
			<-release
		}
		created(&serial)(w, r)
	}}
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.CompletedTTL = time.Hour
	mw := middleware.Idempotency(cfg)(h)
	parse := func(t *testing.T, res result) time.Time {
		t.Helper()
		v := res.header.Get("Idempotency-Expires")
		at, err := http.ParseTime(v)
		if err != nil {
			t.Fatalf("Idempotency-Expires = %q: %v", v, err)
		}
		return at
	}
	key := newKey()
	before := time.Now()
	first := do(t, mw, "POST", "/orders", key, "{}")
	after := time.Now()
	exp := parse(t, first)
	// CompletedTTL after the response was stored, in whole seconds (an HTTP
	// date): between the request's start and its end, however long it took.
	if exp.Before(before.Add(time.Hour).Truncate(time.Second)) || exp.After(after.Add(time.Hour)) {
		t.Errorf("first Idempotency-Expires = %v, want CompletedTTL (1h) after the request, between %v and %v",
			exp, before.Add(time.Hour), after.Add(time.Hour))
	}
	if got := parse(t, do(t, mw, "POST", "/orders", key, "{}")); !got.Equal(exp) {
		t.Errorf("replay Idempotency-Expires = %v, want %v", got, exp)
	}
	if got := parse(t, do(t, mw, "POST", "/other", key, "{}")); !got.Equal(exp) {
		t.Errorf("422 Idempotency-Expires = %v, want %v (when the key frees up)", got, exp)
	}
	slowKey := newKey()
	done := make(chan struct{})
	go func() { do(t, mw, "POST", "/slow", slowKey, "{}"); close(done) }()
	<-started
	inProgress := do(t, mw, "POST", "/slow", slowKey, "{}")
	close(release)
	<-done
	if d := time.Until(parse(t, inProgress)); d <= 0 || d > cfg.ProcessingTTL+time.Second {
		t.Errorf("in-progress Idempotency-Expires in %v, want within ProcessingTTL", d)
	}
	if got := do(t, mw, "POST", "/orders", "", "{}"); got.header.Get("Idempotency-Expires") != "" {
		t.Errorf("a request without a key carries Idempotency-Expires")
	}
}

func testLease(t *testing.T, b backend) {
	type seen struct {
		lease   middleware.Lease
		charge  string
		capture string
	}
	var (
		mu    sync.Mutex
		runs  []seen
		fails atomic.Int64
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l, ok := middleware.LeaseFrom(r.Context())
		if !ok {
			t.Error("LeaseFrom(ctx) = false inside the handler")
			return
		}
		mu.Lock()
		runs = append(runs, seen{l, l.DerivedKey("charge"), l.DerivedKey("capture")})
		l.Token = "tampered" // a copy: the claim the middleware holds is unchanged
		if again, _ := middleware.LeaseFrom(r.Context()); again.Token == "tampered" {
			t.Error("changing the Lease from LeaseFrom changed the middleware's lease")
		}
		mu.Unlock()
		if fails.Add(1) == 1 {
			w.WriteHeader(http.StatusBadGateway) // the provider failed: not stored
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	do(t, mw, "POST", "/pay", key, "{}", "X-User-ID", "alice")
	time.Sleep(2 * time.Millisecond)
	do(t, mw, "POST", "/pay", key, "{}", "X-User-ID", "alice")
	do(t, mw, "POST", "/pay", key, "{}", "X-User-ID", "bob")
	if len(runs) != 3 {
		t.Fatalf("handler runs = %d, want 3", len(runs))
	}
	a1, a2, bob := runs[0], runs[1], runs[2]
	if a1.lease.Key != a2.lease.Key || !strings.HasPrefix(a1.lease.Key, "idemp:") || strings.Contains(a1.lease.Key, key) {
		t.Errorf("lease keys %q, %q: want the same hashed, prefixed key", a1.lease.Key, a2.lease.Key)
	}
	if a1.lease.Token == a2.lease.Token || len(a1.lease.Token) != 32 {
		t.Errorf("tokens %q, %q: want two different 128-bit hex tokens", a1.lease.Token, a2.lease.Token)
	}
	if a1.lease.Fence == 0 || a2.lease.Fence <= a1.lease.Fence {
		t.Errorf("fences %d then %d: want them to grow with every claim", a1.lease.Fence, a2.lease.Fence)
	}
	if a1.charge != a2.charge || a1.capture != a2.capture {
		t.Errorf("derived keys changed between retries: %q/%q vs %q/%q", a1.charge, a1.capture, a2.charge, a2.capture)
	}
	if a1.charge == a1.capture || a1.charge == bob.charge || len(a1.charge) != 32 {
		t.Errorf("derived keys %q (charge), %q (capture), %q (bob): want distinct 32-char keys", a1.charge, a1.capture, bob.charge)
	}
	if got := middleware.DeriveKey("alice", key, "charge"); got != a1.charge {
		t.Errorf("DeriveKey(alice, key, charge) = %q, want %q", got, a1.charge)
	}
	if _, ok := middleware.LeaseFrom(context.Background()); ok {
		t.Error("LeaseFrom(context.Background()) = true, want false")
	}
}

func testLeaseLost(t *testing.T, b backend) {
	var ev events
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.ProcessingTTL = 300 * time.Millisecond // renewal every 100ms
	cfg.OnEvent = ev.add
	causes := make(chan error, 1)
	stolen := make(chan struct{})
	var runs atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) > 1 {
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("second owner"))
			return
		}
		l, _ := middleware.LeaseFrom(r.Context())
		// Someone removes the claim under the running handler (an operator,
		// or an expiry the renewals could not prevent).
		if err := b.store.Release(context.Background(), l.Key, l.Token); err != nil {
			t.Errorf("Release: %v", err)
		}
		close(stolen)
		<-r.Context().Done()
		causes <- context.Cause(r.Context())
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte("first owner"))
	})
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	first := make(chan result)
	go func() { first <- do(t, mw, "POST", "/x", key, "{}") }()
	<-stolen
	// The second owner claims the key and completes before the first ends.
	second := do(t, mw, "POST", "/x", key, "{}")
	if second.body != "second owner" {
		t.Fatalf("second = %d %q, want the second owner's answer", second.status, second.body)
	}
	select {
	case cause := <-causes:
		if !errors.Is(cause, middleware.ErrLeaseLost) {
			t.Errorf("context.Cause = %v, want ErrLeaseLost", cause)
		}
	case <-time.After(patience):
		t.Fatal("the first handler's context was not cancelled after its lease was lost")
	}
	<-first
	if got := do(t, mw, "POST", "/x", key, "{}"); got.body != "second owner" {
		t.Errorf("replay = %q, want the second owner's record (the first never overwrites it)", got.body)
	}
	if ev.count(middleware.EventLeaseLost) == 0 {
		t.Errorf("events = %v, want lease-lost", ev.String())
	}
}

// flakyCompleteStore fails the first n Completes, then recovers.
type flakyCompleteStore struct {
	middleware.Store
	failures atomic.Int64
}

func (s *flakyCompleteStore) Complete(ctx context.Context, key, token string, rec *middleware.Record, ttl time.Duration) error {
	if s.failures.Add(-1) >= 0 {
		return errors.New("store briefly unreachable")
	}
	return s.Store.Complete(ctx, key, token, rec, ttl)
}

func testStoreRecovers(t *testing.T, b backend) {
	store := &flakyCompleteStore{Store: b.store}
	store.failures.Store(2)
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	var ev events
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.OnEvent = ev.add
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	first := do(t, mw, "POST", "/orders", key, "{}")
	if first.status != http.StatusCreated {
		t.Fatalf("first = %d, want 201 despite the store failure", first.status)
	}
	eventually(t, patience, "stored in the background, then replayed", func() bool {
		got := do(t, mw, "POST", "/orders", key, "{}")
		return got.header.Get("Idempotent-Replayed") == "true" && got.body == first.body
	})
	// The background writer reports the event after the write a replay
	// can already see.
	eventually(t, patience, "stored event", func() bool { return ev.count(middleware.EventStored) == 1 })
	if h.calls.Load() != 1 || ev.count(middleware.EventStored) != 1 {
		t.Errorf("handler calls = %d, events = %v, want 1 call and one stored", h.calls.Load(), ev.String())
	}
}
