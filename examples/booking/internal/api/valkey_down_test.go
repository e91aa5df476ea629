package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

func TestValkeyDown(t *testing.T) {
	s := valkeytest.StartServer(t)
	e := newEnv(t, middleware.NewValkeyStore(s.Client(t)))
	if r := e.do(t, call{method: "GET", path: "/ready"}, ""); r.status != http.StatusOK {
		t.Fatalf("GET /ready with Valkey up = %d %s, want 200", r.status, r.body)
	}

	s.Stop()

	r := e.do(t, call{method: "GET", path: "/ready"}, "")
	if got := errorBody(t, r); r.status != http.StatusServiceUnavailable || got.Error != "SERVICE_UNAVAILABLE" {
		t.Errorf("GET /ready with Valkey down = %d %s, want 503 SERVICE_UNAVAILABLE", r.status, r.body)
	}
	if r := e.do(t, call{method: "GET", path: "/health"}, ""); r.status != http.StatusOK {
		t.Errorf("GET /health with Valkey down = %d %s, want 200", r.status, r.body)
	}

	// A keyed POST fails closed: 503, and the reservation is not made.
	r = e.do(t, call{method: "POST", path: "/api/v1/bookings/reserve", user: "alice", key: "down",
		body: `{"zone_id":"zone-b","quantity":2}`}, "")
	if got := errorBody(t, r); r.status != http.StatusServiceUnavailable || got.Error != "SERVICE_UNAVAILABLE" || r.header.Get("Retry-After") == "" {
		t.Errorf("keyed reserve with Valkey down = %d %s (Retry-After %q), want 503 SERVICE_UNAVAILABLE with Retry-After",
			r.status, r.body, r.header.Get("Retry-After"))
	}
	if got := e.available(t, "zone-b"); got != 10 {
		t.Errorf("zone-b available after a 503 reserve = %d, want 10", got)
	}

	// valkey-go redials on the next command, so readiness comes back by
	// itself once the server does.
	s.Restart()
	// Each pipelined connection may answer one command with the dead
	// connection's EOF before it redials: readiness returns within moments.
	// A generous bound and a growing pause: the redial is awaited, not raced.
	const patience = time.Minute
	deadline := time.Now().Add(patience)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		r := e.do(t, call{method: "GET", path: "/ready"}, "")
		if r.status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /ready after Valkey restarted = %d %s, want 200 within %v", r.status, r.body, patience)
		}
		time.Sleep(pause)
	}
}
