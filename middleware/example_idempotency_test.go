package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/idemkit/idemkit/middleware"
)

// A retried POST gets the first answer back; the handler runs once.
func ExampleIdempotency() {
	var charges atomic.Int64
	charge := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := charges.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"charge_id":"ch_%d"}`, n)
	})

	cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	h := middleware.Idempotency(cfg)(charge)

	for range 2 { // the first attempt, then a retry after a timeout
		r := httptest.NewRequest("POST", "/charges", strings.NewReader(`{"amount":500}`))
		r.Header.Set("X-User-ID", "alice")
		r.Header.Set("Idempotency-Key", `"9f2c1a"`)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String(), "replayed:", w.Header().Get("Idempotent-Replayed") == "true")
	}
	fmt.Println("charges:", charges.Load())
	// Output:
	// 201 {"charge_id":"ch_1"} replayed: false
	// 201 {"charge_id":"ch_1"} replayed: true
	// charges: 1
}

// The key with another body is a client bug, answered 422.
func ExampleIdempotency_keyReused() {
	h := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
	for _, body := range []string{`{"amount":500}`, `{"amount":900}`} {
		r := httptest.NewRequest("POST", "/charges", strings.NewReader(body))
		r.Header.Set("Idempotency-Key", "9f2c1a")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Body.String())))
	}
	// Output:
	// 201
	// 422 {"error":"IDEMPOTENCY_KEY_REUSED","message":"This idempotency key was already used for a different request"}
}
