package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/idemkit/idemkit/middleware"
)

// A scope that has used up its byte budget cannot claim new keys; its
// retries are still replayed, and other scopes are unaffected.
func ExampleQuota() {
	export := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, strings.Repeat("x", 100)) // a 100-byte report
	})
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	cfg.Quota = middleware.Quota{MaxInFlight: 10, MaxStoredBytes: 100}
	h := middleware.Idempotency(cfg)(export)

	for _, req := range []struct{ user, key string }{{"alice", "k1"}, {"alice", "k2"}, {"alice", "k1"}, {"bob", "k2"}} {
		r := httptest.NewRequest("POST", "/exports", nil)
		r.Header.Set("X-User-ID", req.user)
		r.Header.Set("Idempotency-Key", req.key)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch {
		case w.Code == http.StatusTooManyRequests:
			fmt.Printf("%s %s: %d Retry-After: %s %s", req.user, req.key, w.Code, w.Header().Get("Retry-After"), w.Body)
		case w.Header().Get("Idempotent-Replayed") == "true":
			fmt.Printf("%s %s: %d replayed\n", req.user, req.key, w.Code)
		default:
			fmt.Printf("%s %s: %d\n", req.user, req.key, w.Code)
		}
	}
	// Output:
	// alice k1: 201
	// alice k2: 429 Retry-After: 86400 {"error":"IDEMPOTENCY_QUOTA_EXCEEDED","message":"Too many idempotent requests in progress or stored for this caller; retry later","details":{"limit":"stored_bytes","max":"100"}}
	// alice k1: 201 replayed
	// bob k2: 201
}
