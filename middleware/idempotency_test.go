package middleware_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// TestIdempotency runs every scenario — the core state table, wait-and-replay,
// quotas and the replay cache — on the memory store, a standalone Valkey and
// a 3-master Valkey Cluster, started once for all of them.
func TestIdempotency(t *testing.T) {
	groups := []struct {
		name      string
		scenarios []scenario
	}{
		{"core", coreScenarios},
		{"wait", waitScenarios},
		{"quota", quotaScenarios},
		{"cache", cacheScenarios},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, g := range groups {
				for _, sc := range g.scenarios {
					t.Run(g.name+": "+sc.name, func(t *testing.T) { sc.run(t, b) })
				}
			}
		})
	}
}

// coreScenarios check the state table of docs/idempotency.md.
var coreScenarios = []scenario{
	{"replay is byte-identical", testReplay},
	{"quoted and raw keys are one key", testQuotedKey},
	{"key reuse is rejected", testKeyReuse},
	{"statuses not stored run again", testNotStored},
	{"panic releases the key", testPanicReleases},
	{"scopes are isolated", testScopeIsolation},
	{"in-progress answers", testInProgress},
	{"one execution under 500 concurrent duplicates", testConcurrentDuplicates},
	{"slow handler outlives ProcessingTTL", testSlowHandler},
	{"crashed owner frees the key after ProcessingTTL", testCrashedOwner},
	{"client disconnect still stores", testClientDisconnect},
	{"storing failure keeps the key claimed", testStoreFailureKeepsClaim},
	{"unstorable responses leave tombstones", testTombstones},
	{"every keyed answer carries Idempotency-Expires", testExpiresHeader},
	{"lease, fence and derived keys", testLease},
	{"lost lease cancels the handler", testLeaseLost},
	{"storing retries in the background", testStoreRecovers},
}

func testReplay(t *testing.T, b backend) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	srv := httptest.NewServer(middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h))
	defer srv.Close()
	key := newKey()

	first := send(t, srv.Client(), "POST", srv.URL+"/orders?x=1", key, `{"qty":2}`)
	second := send(t, srv.Client(), "POST", srv.URL+"/orders?x=1", key, `{"qty":2}`)
	if got := h.calls.Load(); got != 1 {
		t.Fatalf("handler calls = %d, want 1", got)
	}
	if first.status != http.StatusCreated || second.status != http.StatusCreated {
		t.Fatalf("statuses = %d, %d, want 201, 201", first.status, second.status)
	}
	if first.body != second.body {
		t.Errorf("replayed body = %q, want %q", second.body, first.body)
	}
	if got := second.header.Get("Idempotent-Replayed"); got != "true" {
		t.Errorf("replay Idempotent-Replayed = %q, want true", got)
	}
	if first.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first response has Idempotent-Replayed")
	}
	for _, name := range []string{"Content-Type", "Location", "Content-Length"} {
		if got, want := second.header.Get(name), first.header.Get(name); got != want {
			t.Errorf("replay %s = %q, want %q", name, got, want)
		}
	}
	if got := second.header.Values("X-Multi"); len(got) != 2 || got[0] != "a" || got[1] != "b, c" {
		t.Errorf("replay X-Multi = %q, want [a, b, c] as two values in order", got)
	}
	for _, name := range []string{"Set-Cookie", "X-Ratelimit-Remaining"} {
		if first.header.Get(name) == "" {
			t.Errorf("first response lacks %s (the handler set it)", name)
		}
		if got := second.header.Get(name); got != "" {
			t.Errorf("replay %s = %q, want it never replayed", name, got)
		}
	}
}

func testQuotedKey(t *testing.T, b backend) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h)
	key := newKey()
	first := do(t, mw, "POST", "/orders", key, "{}")
	second := do(t, mw, "POST", "/orders", `"`+key+`"`, "{}")
	third := do(t, mw, "POST", "/orders", "", "{}", "X-Idempotency-Key", key)
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1 (raw, quoted and X- header are one key)", got)
	}
	if second.body != first.body || third.body != first.body {
		t.Errorf("bodies = %q / %q / %q, want all equal", first.body, second.body, third.body)
	}
}

func testKeyReuse(t *testing.T, b backend) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h)
	key := newKey()
	do(t, mw, "POST", "/orders?a=1", key, `{"qty":2}`)
	cases := []struct{ name, method, target, body string }{
		{"body", "POST", "/orders?a=1", `{"qty":3}`},
		{"path", "POST", "/other?a=1", `{"qty":2}`},
		{"query", "POST", "/orders?a=2", `{"qty":2}`},
		{"method", "PUT", "/orders?a=1", `{"qty":2}`},
	}
	for _, tc := range cases {
		got := do(t, mw, tc.method, tc.target, key, tc.body)
		if got.status != http.StatusUnprocessableEntity || errorCode(t, got.body) != "IDEMPOTENCY_KEY_REUSED" {
			t.Errorf("different %s: %d %s, want 422 IDEMPOTENCY_KEY_REUSED", tc.name, got.status, got.body)
		}
		if strings.Contains(got.body, "qty") {
			t.Errorf("different %s: 422 body echoes the earlier payload: %s", tc.name, got.body)
		}
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
}

func testNotStored(t *testing.T, b backend) {
	cases := []struct {
		name        string
		status      int
		shouldStore func(int) bool
		wantRuns    int64
	}{
		{"500", 500, nil, 2},
		{"503", 503, nil, 2},
		{"400 by default", 400, nil, 2},
		{"409 by default", 409, nil, 2},
		{"429 even if the policy says store", 429, func(int) bool { return true }, 2},
		{"408 even if the policy says store", 408, func(int) bool { return true }, 2},
		{"502 even if the policy says store", 502, func(int) bool { return true }, 2},
		{"409 stored by StoreSuccessAndClientErrors", 409, middleware.StoreSuccessAndClientErrors, 1},
		{"200", 200, nil, 1},
		{"204", 204, nil, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
			}}
			cfg := middleware.DefaultIdempotencyConfig(b.store)
			cfg.ShouldStore = tc.shouldStore
			mw := middleware.Idempotency(cfg)(h)
			key := newKey()
			for range 2 {
				if got := do(t, mw, "POST", "/x", key, ""); got.status != tc.status {
					t.Fatalf("status = %d, want %d", got.status, tc.status)
				}
			}
			if got := h.calls.Load(); got != tc.wantRuns {
				t.Errorf("handler calls = %d, want %d", got, tc.wantRuns)
			}
		})
	}
}

func testPanicReleases(t *testing.T, b backend) {
	var panics atomic.Int64
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if panics.Add(1) == 1 {
			w.Header().Set("X-Leak", "1")
			w.Write([]byte("partial"))
			panic("boom")
		}
		w.WriteHeader(http.StatusCreated)
	}}
	mw := middleware.Recover(middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h))
	key := newKey()
	first := do(t, mw, "POST", "/x", key, "")
	if first.status != http.StatusInternalServerError || errorCode(t, first.body) != "INTERNAL_ERROR" {
		t.Fatalf("panic answer = %d %s, want 500 INTERNAL_ERROR", first.status, first.body)
	}
	if first.header.Get("X-Leak") != "" || strings.Contains(first.body, "partial") {
		t.Errorf("panic answer leaks the handler's partial response: %v %q", first.header, first.body)
	}
	if got := do(t, mw, "POST", "/x", key, ""); got.status != http.StatusCreated {
		t.Errorf("retry after panic = %d, want 201 (handler runs again)", got.status)
	}
	if got := h.calls.Load(); got != 2 {
		t.Errorf("handler calls = %d, want 2", got)
	}
}

func testScopeIsolation(t *testing.T, b backend) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	alice := do(t, mw, "POST", "/orders", key, `{}`, "X-User-ID", "alice")
	bob := do(t, mw, "POST", "/orders", key, `{}`, "X-User-ID", "bob")
	if got := h.calls.Load(); got != 2 {
		t.Fatalf("handler calls = %d, want 2 (one per user)", got)
	}
	if alice.body == bob.body || bob.header.Get("Idempotent-Replayed") != "" {
		t.Errorf("bob got alice's response: %q", bob.body)
	}
	again := do(t, mw, "POST", "/orders", key, `{}`, "X-User-ID", "alice")
	if again.body != alice.body || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("alice's retry = %q, want her replay %q", again.body, alice.body)
	}
}

func testInProgress(t *testing.T, b backend) {
	for _, mode := range []struct {
		name   string
		mode   middleware.InProgressMode
		status int
	}{
		{"202 by default", middleware.InProgressAccepted, http.StatusAccepted},
		{"409 in conflict mode", middleware.InProgressConflict, http.StatusConflict},
	} {
		t.Run(mode.name, func(t *testing.T) {
			started, release := make(chan struct{}), make(chan struct{})
			h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-release
				w.WriteHeader(http.StatusCreated)
			}}
			var ev events
			cfg := middleware.DefaultIdempotencyConfig(b.store)
			cfg.InProgress = mode.mode
			cfg.RetryAfter = 1500 * time.Millisecond
			cfg.OnEvent = ev.add
			mw := middleware.Idempotency(cfg)(h)
			key := newKey()
			done := make(chan result)
			go func() { done <- do(t, mw, "POST", "/x", key, "") }()
			<-started
			dup := do(t, mw, "POST", "/x", key, "")
			close(release)
			first := <-done
			if dup.status != mode.status {
				t.Fatalf("duplicate = %d %s, want %d", dup.status, dup.body, mode.status)
			}
			if got := dup.header.Get("Retry-After"); got != "2" {
				t.Errorf("Retry-After = %q, want 2 (1.5s rounded up)", got)
			}
			switch mode.mode {
			case middleware.InProgressAccepted:
				if strings.TrimSpace(dup.body) != `{"status":"processing"}` {
					t.Errorf("202 body = %q, want {\"status\":\"processing\"}", dup.body)
				}
			case middleware.InProgressConflict:
				if code := errorCode(t, dup.body); code != "REQUEST_IN_PROGRESS" {
					t.Errorf("409 code = %s, want REQUEST_IN_PROGRESS", code)
				}
			}
			if first.status != http.StatusCreated || h.calls.Load() != 1 {
				t.Errorf("first = %d with %d calls, want 201 with 1", first.status, h.calls.Load())
			}
			if ev.count(middleware.EventInProgress) != 1 || ev.count(middleware.EventAcquired) != 1 ||
				ev.count(middleware.EventStored) != 1 {
				t.Errorf("events = %v, want one acquired, in-progress and stored", ev.String())
			}
		})
	}
}

func testConcurrentDuplicates(t *testing.T, b backend) {
	const goroutines, rounds = 500, 20
	var serial atomic.Int64
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond) // widen the race window
		created(&serial)(w, r)
	}}
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	// This test is about exclusivity, not latency: 500 goroutines under the
	// race detector on two cores can exceed the default 300ms store timeout
	// (which would answer 503, correctly, but is not what is checked here).
	cfg.StoreTimeout = 10 * time.Second
	mw := middleware.Idempotency(cfg)(h)
	for round := range rounds {
		key := newKey()
		before := h.calls.Load()
		var wg sync.WaitGroup
		var created, replayed, processing, other atomic.Int64
		start := make(chan struct{})
		for range goroutines {
			wg.Go(func() {
				<-start
				got := do(t, mw, "POST", "/orders", key, `{"qty":1}`)
				switch {
				case got.status == http.StatusCreated && got.header.Get("Idempotent-Replayed") == "true":
					replayed.Add(1)
				case got.status == http.StatusCreated:
					created.Add(1)
				case got.status == http.StatusAccepted:
					processing.Add(1)
				default:
					other.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if runs := h.calls.Load() - before; runs != 1 || created.Load() != 1 || other.Load() != 0 {
			t.Fatalf("round %d: handler ran %d times; created %d, replayed %d, processing %d, other %d; want exactly one run",
				round, runs, created.Load(), replayed.Load(), processing.Load(), other.Load())
		}
	}
}

func testSlowHandler(t *testing.T, b backend) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int64
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if runs.Add(1) == 1 { // a second run (the failure checked below) answers at once
			close(started)
			<-release
		}
		w.WriteHeader(http.StatusCreated)
	}}
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	// Renewal every 333ms, and 667ms to spare before the claim would expire:
	// large next to scheduling delays on a busy machine, small enough to
	// outlive twice. The store timeout is generous so that a slow renewal
	// still lands rather than counting as a failed one.
	cfg.ProcessingTTL = time.Second
	cfg.StoreTimeout = 10 * time.Second
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	done := make(chan result)
	go func() { done <- do(t, mw, "POST", "/x", key, "") }()
	<-started
	// Keep retrying while the handler runs past 2.5 × ProcessingTTL.
	for start := time.Now(); time.Since(start) < 5*cfg.ProcessingTTL/2; {
		if got := do(t, mw, "POST", "/x", key, ""); got.status != http.StatusAccepted {
			close(release)
			<-done
			t.Fatalf("retry %v after the slow handler started = %d, want 202", time.Since(start), got.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(release)
	if first := <-done; first.status != http.StatusCreated {
		t.Fatalf("first = %d, want 201", first.status)
	}
	if got := do(t, mw, "POST", "/x", key, ""); got.status != http.StatusCreated || got.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retry after = %d replayed=%q, want 201 replay", got.status, got.header.Get("Idempotent-Replayed"))
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
}

func testCrashedOwner(t *testing.T, b backend) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(b.store)
	cfg.ProcessingTTL = 200 * time.Millisecond
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	// A worker that crashes right after its claim: the claim reaches the
	// store, then nothing else ever does (no renewal, no completion).
	crashedCfg := cfg
	crashedCfg.Store = crashAfterClaim{b.store}
	crashed := middleware.Idempotency(crashedCfg)(&countingHandler{respond: created(&serial)})
	do(t, crashed, "POST", "/orders", key, "{}")
	if got := do(t, mw, "POST", "/orders", key, "{}"); got.status != http.StatusAccepted && got.status != http.StatusCreated {
		t.Fatalf("retry right after the crash = %d, want 202 (or 201 if already expired)", got.status)
	}
	eventually(t, patience, "retry runs after ProcessingTTL", func() bool {
		return do(t, mw, "POST", "/orders", key, "{}").status == http.StatusCreated
	})
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
}

func testClientDisconnect(t *testing.T, b backend) {
	var serial atomic.Int64
	started, finished := make(chan struct{}), make(chan struct{})
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done() // the client is gone; the work still completes
		created(&serial)(w, r)
		close(finished)
	}}
	srv := httptest.NewServer(middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h))
	defer srv.Close()
	key := newKey()
	// The client gives up once the handler runs (a client timeout could
	// also fire before the request reached the handler on a busy machine).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/orders", strings.NewReader("{}"))
	req.Header.Set("Idempotency-Key", key)
	errc := make(chan error, 1)
	go func() {
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("request succeeded, want the client to have given up")
	}
	<-finished
	eventually(t, patience, "replay after disconnect", func() bool {
		got := send(t, srv.Client(), "POST", srv.URL+"/orders", key, "{}")
		return got.status == http.StatusCreated && got.header.Get("Idempotent-Replayed") == "true"
	})
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler calls = %d, want 1", got)
	}
}

func testStoreFailureKeepsClaim(t *testing.T, b backend) {
	// The store renews the claim but does not take the record until told to:
	// retries meanwhile get "processing", never a second run.
	t.Run("kept until stored", func(t *testing.T) {
		store := &flakyCompleteStore{Store: b.store}
		store.failures.Store(math.MaxInt64)
		var serial atomic.Int64
		h := &countingHandler{respond: created(&serial)}
		var ev events
		cfg := middleware.DefaultIdempotencyConfig(store)
		cfg.OnEvent = ev.add
		cfg.ProcessingTTL = 2 * time.Second // large next to scheduling delays: the claim must not expire
		mw := middleware.Idempotency(cfg)(h)
		key := newKey()
		first := do(t, mw, "POST", "/orders", key, "{}")
		if first.status != http.StatusCreated {
			t.Fatalf("first = %d, want 201 (the client still gets its response)", first.status)
		}
		if got := do(t, mw, "POST", "/orders", key, "{}"); got.status != http.StatusAccepted {
			t.Errorf("retry = %d, want 202 (claim kept, never a second run)", got.status)
		}
		if got := h.calls.Load(); got != 1 {
			t.Errorf("handler calls = %d, want 1", got)
		}
		if ev.count(middleware.EventStoreError) < 1 || ev.count(middleware.EventLeaseLost) != 0 {
			t.Errorf("events = %v, want store-errors and no lease-lost", ev.String())
		}
		store.failures.Store(0) // the store takes the record again: the background write lands
		eventually(t, patience, "stored in the background, then replayed", func() bool {
			got := do(t, mw, "POST", "/orders", key, "{}")
			return got.header.Get("Idempotent-Replayed") == "true" && got.body == first.body
		})
		if got := h.calls.Load(); got != 1 {
			t.Errorf("handler calls = %d, want 1", got)
		}
	})
	// The store renews the claim but never takes the record: the background
	// retries give up after 10 × ProcessingTTL; the claim then expires and
	// a retry may run again — the documented last resort. Only that it
	// eventually does is checked, so a short time to live is safe here.
	t.Run("released after the retries give up", func(t *testing.T) {
		var serial atomic.Int64
		h := &countingHandler{respond: created(&serial)}
		cfg := middleware.DefaultIdempotencyConfig(failingCompleteStore{b.store})
		cfg.ProcessingTTL = 300 * time.Millisecond // bounds the background retries
		mw := middleware.Idempotency(cfg)(h)
		key := newKey()
		if got := do(t, mw, "POST", "/orders", key, "{}"); got.status != http.StatusCreated {
			t.Fatalf("first = %d, want 201 (the client still gets its response)", got.status)
		}
		eventually(t, patience, "claim expires after the retries give up", func() bool {
			return do(t, mw, "POST", "/orders", key, "{}").status == http.StatusCreated
		})
		if got := h.calls.Load(); got != 2 {
			t.Errorf("handler calls = %d, want 2 (the first, then the retry after the claim expired)", got)
		}
	})
}

func testTombstones(t *testing.T, b backend) {
	sha := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	cases := []struct {
		name     string
		respond  func(w http.ResponseWriter, r *http.Request)
		want     string // first body
		retry    int
		location string
		details  map[string]string
	}{
		{"streamed", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("a"))
			w.(http.Flusher).Flush()
			w.Write([]byte("b"))
		}, "ab", http.StatusConflict, "",
			map[string]string{"status": "200", "body_bytes": "2", "body_sha256": sha("ab")}},
		{"oversized", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(strings.Repeat("x", 2048)))
		}, strings.Repeat("x", 2048), http.StatusConflict, "",
			map[string]string{"status": "200", "body_bytes": "2048"}},
		{"oversized with Location", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "/exports/7")
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(strings.Repeat("y", 4096)))
		}, strings.Repeat("y", 4096), http.StatusSeeOther, "/exports/7", nil},
		{"hijacked", func(w http.ResponseWriter, r *http.Request) {
			conn, bufrw, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Errorf("Hijack: %v", err)
				return
			}
			bufrw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
			bufrw.Flush()
			conn.Close()
		}, "raw", http.StatusConflict, "", map[string]string{"status": "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &countingHandler{respond: tc.respond}
			var ev events
			cfg := middleware.DefaultIdempotencyConfig(b.store)
			cfg.MaxResponseBytes = 1024
			cfg.OnEvent = ev.add
			srv := httptest.NewServer(middleware.Idempotency(cfg)(h))
			defer srv.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			key := newKey()
			first := send(t, client, "POST", srv.URL, key, "")
			if first.body != tc.want {
				t.Fatalf("first = %d %.20q, want the full body", first.status, first.body)
			}
			for range 2 {
				got := send(t, client, "POST", srv.URL, key, "")
				// A hijacked connection closes before the handler returns,
				// so a quick retry may still find the claim: 202 until then.
				var bo backoff
				for deadline := time.Now().Add(patience); got.status == http.StatusAccepted && time.Now().Before(deadline); {
					bo.wait()
					got = send(t, client, "POST", srv.URL, key, "")
				}
				if got.status != tc.retry {
					t.Fatalf("retry = %d %s, want %d", got.status, got.body, tc.retry)
				}
				if got.header.Get("Idempotency-Expires") == "" {
					t.Errorf("retry lacks Idempotency-Expires")
				}
				if tc.location != "" && got.header.Get("Location") != tc.location {
					t.Errorf("303 Location = %q, want %q", got.header.Get("Location"), tc.location)
				}
				if tc.retry == http.StatusConflict {
					var body struct {
						Error   string            `json:"error"`
						Details map[string]string `json:"details"`
					}
					if err := json.Unmarshal([]byte(got.body), &body); err != nil || body.Error != "RESPONSE_NOT_REPLAYABLE" {
						t.Fatalf("409 body = %s, want RESPONSE_NOT_REPLAYABLE", got.body)
					}
					for k, v := range tc.details {
						if body.Details[k] != v {
							t.Errorf("details[%s] = %q, want %q", k, body.Details[k], v)
						}
					}
					if _, ok := tc.details["body_sha256"]; !ok && body.Details["body_sha256"] != "" {
						t.Errorf("details carry a body_sha256 for a body that was not fully seen")
					}
				}
			}
			if got := h.calls.Load(); got != 1 {
				t.Errorf("handler calls = %d, want 1 (a tombstone never re-runs)", got)
			}
			// A hijacked response reaches the client before the handler
			// returns and reports the tombstone it stored.
			eventually(t, patience, "tombstoned event", func() bool { return ev.count(middleware.EventTombstoned) == 1 })
			if ev.count(middleware.EventTombstoned) != 1 || ev.count(middleware.EventNotReplayable) < 2 {
				t.Errorf("events = %v, want one tombstoned and two not-replayable", ev.String())
			}
		})
	}
	t.Run("streamed 500 is released", func(t *testing.T) {
		h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.(http.Flusher).Flush()
		}}
		srv := httptest.NewServer(middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h))
		defer srv.Close()
		key := newKey()
		send(t, srv.Client(), "POST", srv.URL, key, "")
		send(t, srv.Client(), "POST", srv.URL, key, "")
		if got := h.calls.Load(); got != 2 {
			t.Errorf("handler calls = %d, want 2", got)
		}
	})
}
