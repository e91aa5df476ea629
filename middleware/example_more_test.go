package middleware_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// A handler reads its claim with LeaseFrom: the fencing number guards its
// own writes against an older owner that still runs, and the context is
// cancelled with ErrLeaseLost if the claim is lost.
func ExampleLeaseFrom() {
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	h := middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lease, ok := middleware.LeaseFrom(r.Context())
		// e.g. UPDATE bookings SET ..., fence = $1 WHERE id = $2 AND fence < $1
		fmt.Println("under a lease:", ok, "fence set:", lease.Fence > 0, "key hashed:", strings.HasPrefix(lease.Key, "idemp:"))
		w.WriteHeader(http.StatusCreated)
	}))
	r := httptest.NewRequest(http.MethodPost, "/bookings/reserve", strings.NewReader(`{"seats":2}`))
	r.Header.Set("Idempotency-Key", "reserve-1")
	h.ServeHTTP(httptest.NewRecorder(), r)

	_, ok := middleware.LeaseFrom(r.Context()) // outside the middleware
	fmt.Println("outside:", ok)
	// Output:
	// under a lease: true fence set: true key hashed: true
	// outside: false
}

// PolicyHandler serves the middleware's contract as JSON, so clients and
// docs can discover it (e.g. at GET /.well-known/idempotency).
func ExamplePolicyHandler() {
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.RequireKey = true
	w := httptest.NewRecorder()
	middleware.PolicyHandler(cfg).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/idempotency", nil))
	var p middleware.Policy
	json.Unmarshal(w.Body.Bytes(), &p)
	fmt.Println(w.Code, p.KeyHeaders, p.Methods, p.ProcessingTTLSeconds, p.CompletedTTLSeconds, p.StoredStatuses, p.RequireKey)
	// Output:
	// 200 [Idempotency-Key X-Idempotency-Key] [POST PUT PATCH DELETE] 60 86400 [200-299] true
}

// OnEvent is called for every keyed request's outcome: count the kinds for
// metrics (never label by Event.Key, which is unbounded).
func ExampleIdempotencyConfig_onEvent() {
	counts := map[string]int{}
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.OnEvent = func(e middleware.Event) { counts[e.Kind.String()]++ }
	h := middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	for range 3 {
		r := httptest.NewRequest(http.MethodPost, "/bookings/reserve", strings.NewReader(`{"seats":2}`))
		r.Header.Set("Idempotency-Key", "reserve-1")
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	fmt.Println(counts["acquired"], counts["stored"], counts["replayed"])
	// Output: 1 1 2
}

// A ReplayCache keeps completed records in process, so a replay costs no
// store round trip; records are immutable until they expire, so it is
// always consistent with the store.
func ExampleNewReplayCache() {
	cache := middleware.NewReplayCache(10000, 64<<20) // at most 10k records, 64 MiB
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.ReplayCache = cache
	cfg.CompletedTTL = time.Hour
	h := middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, `{"booking":"b-1"}`)
	}))
	for range 3 {
		r := httptest.NewRequest(http.MethodPost, "/bookings/reserve", strings.NewReader(`{"seats":2}`))
		r.Header.Set("Idempotency-Key", "reserve-1")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Header().Get("Idempotent-Replayed"), w.Body.String(), cache.Len())
	}
	// Output:
	// 201  {"booking":"b-1"} 0
	// 201 true {"booking":"b-1"} 1
	// 201 true {"booking":"b-1"} 1
}
