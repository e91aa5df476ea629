package middleware_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// cacheScenarios check the replay cache (run by TestIdempotency).
var cacheScenarios = []scenario{
	{"replays from the cache cost no store call", testReplayCache},
}

func testReplayCache(t *testing.T, b backend) {
	store := &countingStore{Store: b.store}
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.ReplayCache = middleware.NewReplayCache(100, 1<<20)
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	first := do(t, mw, "POST", "/orders", key, `{"a":1}`)
	if calls := store.calls.Load(); calls != 2 {
		t.Fatalf("store calls for the first request = %d, want 2 (claim, complete)", calls)
	}
	// The first replay reads the store and fills the cache.
	if got := do(t, mw, "POST", "/orders", key, `{"a":1}`); got.body != first.body {
		t.Fatalf("first replay = %q, want %q", got.body, first.body)
	}
	calls := store.calls.Load()
	if calls != 3 {
		t.Fatalf("store calls after the first replay = %d, want 3", calls)
	}
	for range 3 {
		got := do(t, mw, "POST", "/orders", key, `{"a":1}`)
		if got.body != first.body || got.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("cached replay = %d %q, want %q replayed", got.status, got.body, first.body)
		}
		if got.header.Get("Set-Cookie") != "" {
			t.Errorf("cached replay carries Set-Cookie")
		}
	}
	if got := store.calls.Load(); got != calls {
		t.Errorf("store calls for 3 cached replays = %d, want 0", got-calls)
	}
	if got := do(t, mw, "POST", "/orders", key, `{"a":2}`); got.status != http.StatusUnprocessableEntity {
		t.Errorf("cached key with another body = %d, want 422", got.status)
	}
	// A second middleware instance (another process) fills its cache
	// from the store's replay.
	cfg2 := cfg
	cfg2.ReplayCache = middleware.NewReplayCache(100, 1<<20)
	mw2 := middleware.Idempotency(cfg2)(h)
	before := store.calls.Load()
	do(t, mw2, "POST", "/orders", key, `{"a":1}`)
	do(t, mw2, "POST", "/orders", key, `{"a":1}`)
	if got := store.calls.Load() - before; got != 1 {
		t.Errorf("store calls for two replays on a fresh cache = %d, want 1", got)
	}
	if h.calls.Load() != 1 {
		t.Errorf("handler calls = %d, want 1", h.calls.Load())
	}
}

func TestReplayCacheExpiry(t *testing.T) {
	store := middleware.NewMemoryStore()
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(store)
	// The replay below must come before the record expires, however slow the
	// machine; the expiry is then awaited.
	cfg.CompletedTTL = time.Second
	cfg.ReplayCache = middleware.NewReplayCache(100, 1<<20)
	mw := middleware.Idempotency(cfg)(h)
	key := newKey()
	do(t, mw, "POST", "/orders", key, "{}")
	if got := do(t, mw, "POST", "/orders", key, "{}"); got.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay before expiry = %d, not replayed", got.status)
	}
	eventually(t, patience, "record expires from cache and store", func() bool {
		return do(t, mw, "POST", "/orders", key, "{}").header.Get("Idempotent-Replayed") == ""
	})
	if h.calls.Load() != 2 {
		t.Errorf("handler calls = %d, want 2 (the cache never outlives the record)", h.calls.Load())
	}
}

func TestReplayCacheBounds(t *testing.T) {
	store := middleware.NewMemoryStore()
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	cfg := middleware.DefaultIdempotencyConfig(store)
	cache := middleware.NewReplayCache(32, 1<<20)
	cfg.ReplayCache = cache
	mw := middleware.Idempotency(cfg)(h)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				key := fmt.Sprintf("k-%d-%d", g, i)
				do(t, mw, "POST", "/orders", key, "{}")
				do(t, mw, "POST", "/orders", key, "{}")
			}
		})
	}
	wg.Wait()
	if n := cache.Len(); n == 0 || n > 32 {
		t.Errorf("cache.Len() = %d, want 1..32", n)
	}
	if h.calls.Load() != 400 {
		t.Errorf("handler calls = %d, want 400", h.calls.Load())
	}
}
