package api_test

import (
	"net/http"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

func TestBookingLifecycle(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		b := e.reserve(t, "alice", "zone-b", 3)
		if b.Status != "RESERVED" || b.ZoneID != "zone-b" || b.Quantity != 3 || b.ExpiresAt != "2026-03-01T12:10:00Z" {
			t.Errorf("reserve(alice, zone-b, 3) = %+v, want RESERVED, zone-b, 3, expiring 2026-03-01T12:10:00Z", b)
		}
		if got := e.available(t, "zone-b"); got != 7 {
			t.Errorf("zone-b available after reserving 3 = %d, want 7", got)
		}

		steps := []struct {
			method, path string
			wantStatus   string
			wantExpires  bool
			available    int
		}{
			{"GET", "/api/v1/bookings/{id}", "RESERVED", true, 7},
			{"POST", "/api/v1/bookings/{id}/confirm", "CONFIRMED", false, 7},
			{"GET", "/api/v1/bookings/{id}", "CONFIRMED", false, 7},
			{"POST", "/api/v1/bookings/{id}/cancel", "CANCELLED", false, 10},
			{"GET", "/api/v1/bookings/{id}", "CANCELLED", false, 10},
		}
		for _, st := range steps {
			r := e.do(t, call{method: st.method, path: st.path, user: "alice"}, b.BookingID)
			got := mustOK[bookingJSON](t, r, st.method+" "+st.path)
			if got.BookingID != b.BookingID || got.Status != st.wantStatus || (got.ExpiresAt != "") != st.wantExpires {
				t.Errorf("%s %s = %+v, want %s %s (expires_at set: %t)", st.method, st.path, got, b.BookingID, st.wantStatus, st.wantExpires)
			}
			if avail := e.available(t, "zone-b"); avail != st.available {
				t.Errorf("after %s %s: zone-b available = %d, want %d", st.method, st.path, avail, st.available)
			}
		}
	})
}

func TestExpiryReturnsSeats(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		b := e.reserve(t, "alice", "zone-b", 10)
		if got := e.available(t, "zone-b"); got != 0 {
			t.Fatalf("zone-b available after reserving 10 = %d, want 0", got)
		}
		e.clock.Advance(ttl - 1)
		if got := e.available(t, "zone-b"); got != 0 {
			t.Errorf("zone-b available just before expiry = %d, want 0", got)
		}
		e.clock.Advance(1)
		if got := e.available(t, "zone-b"); got != 10 {
			t.Errorf("zone-b available after expiry = %d, want 10", got)
		}
		got := mustOK[bookingJSON](t, e.do(t, call{method: "GET", path: "/api/v1/bookings/{id}", user: "alice"}, b.BookingID), "GET expired booking")
		if got.Status != "EXPIRED" {
			t.Errorf("GET expired booking status = %s, want EXPIRED", got.Status)
		}
		r := e.do(t, call{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "alice", key: "late"}, b.BookingID)
		if eb := errorBody(t, r); r.status != http.StatusGone || eb.Error != "BOOKING_EXPIRED" {
			t.Errorf("confirm expired = %d %s, want 410 BOOKING_EXPIRED", r.status, r.body)
		}
		// The expired seats no longer count against alice's limit.
		e.reserve(t, "alice", "zone-b", 10)
	})
}

func TestProbes(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		tests := []struct {
			name string
			c    call
			want string
		}{
			{name: "health", c: call{method: "GET", path: "/health"}, want: `{"status":"ok"}` + "\n"},
			{name: "ready", c: call{method: "GET", path: "/ready"}, want: `{"status":"ready"}` + "\n"},
			{name: "health with a key", c: call{method: "GET", path: "/health", key: "k"}, want: `{"status":"ok"}` + "\n"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := e.do(t, tt.c, "")
				if r.status != http.StatusOK || string(r.body) != tt.want {
					t.Errorf("GET %s = %d %q, want 200 %q", tt.c.path, r.status, r.body, tt.want)
				}
				if r.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("GET %s: Idempotent-Replayed set", tt.c.path)
				}
			})
		}
	})
}
