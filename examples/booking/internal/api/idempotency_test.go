package api_test

import (
	"bytes"
	"maps"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

func TestDoubleSubmitIsReplayed(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		for _, header := range []string{middleware.HeaderIdempotencyKey, middleware.HeaderXIdempotencyKey} {
			t.Run(header, func(t *testing.T) {
				e := newEnv(t, open())
				reserve := call{method: "POST", path: "/api/v1/bookings/reserve", user: "alice",
					key: "reserve-1", header: header, body: `{"zone_id":"zone-a","quantity":2}`}

				first := e.do(t, reserve, "")
				second := e.do(t, reserve, "")
				b := mustOK[bookingJSON](t, first, "first reserve")
				if got := first.header.Get("Idempotent-Replayed"); got != "" {
					t.Errorf("first reserve: Idempotent-Replayed = %q, want none", got)
				}
				if second.status != http.StatusOK || second.header.Get("Idempotent-Replayed") != "true" {
					t.Errorf("second reserve = %d, Idempotent-Replayed %q, want 200, true",
						second.status, second.header.Get("Idempotent-Replayed"))
				}
				if !bytes.Equal(first.body, second.body) {
					t.Errorf("second reserve body = %s, want the first's %s", second.body, first.body)
				}
				if got := e.available(t, "zone-a"); got != 998 {
					t.Errorf("zone-a available after a double submit of 2 seats = %d, want 998", got)
				}

				// Confirm and cancel are idempotent POSTs too: the retry is a
				// replay of the 200, not a 409 for the changed state.
				for _, action := range []string{"confirm", "cancel"} {
					c := call{method: "POST", path: "/api/v1/bookings/{id}/" + action, user: "alice",
						key: action + "-1", header: header}
					first, second := e.do(t, c, b.BookingID), e.do(t, c, b.BookingID)
					if first.status != http.StatusOK || second.status != http.StatusOK ||
						second.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(first.body, second.body) {
						t.Errorf("%s twice with one key = %d %s, %d %s (replayed %q), want the same 200 replayed",
							action, first.status, first.body, second.status, second.body, second.header.Get("Idempotent-Replayed"))
					}
				}
				if got := e.available(t, "zone-a"); got != 1000 {
					t.Errorf("zone-a available after cancel = %d, want 1000", got)
				}
			})
		}
	})
}

func TestReserveShape(t *testing.T) {
	e := newEnv(t, middleware.NewMemoryStore())
	r := e.do(t, call{method: "POST", path: "/api/v1/bookings/reserve", user: "alice",
		body: `{"zone_id":"zone-a","quantity":2}`}, "")
	m := mustOK[map[string]any](t, r, "reserve")
	keys := slices.Sorted(maps.Keys(m))
	if want := []string{"booking_id", "expires_at", "quantity", "status", "zone_id"}; !slices.Equal(keys, want) {
		t.Errorf("reserve body keys = %v, want %v", keys, want)
	}
	want := map[string]any{"zone_id": "zone-a", "quantity": 2.0, "status": "RESERVED", "expires_at": "2026-03-01T12:10:00Z"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("reserve body %s = %v, want %v", k, m[k], v)
		}
	}
}

func TestConcurrentDuplicatesBookOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		reserve := call{method: "POST", path: "/api/v1/bookings/reserve", user: "alice",
			key: "burst", body: `{"zone_id":"zone-a","quantity":2}`}

		const n = 100
		replies := make([]reply, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { replies[i] = e.do(t, reserve, "") })
		}
		wg.Wait()

		ids := map[string]int{}
		statuses := map[int]int{}
		for _, r := range replies {
			statuses[r.status]++
			switch r.status {
			case http.StatusOK:
				ids[decode[bookingJSON](t, r).BookingID]++
			case http.StatusAccepted: // a duplicate that arrived while the first ran
				if r.header.Get("Retry-After") == "" {
					t.Errorf("202 without Retry-After: %s", r.body)
				}
			default:
				t.Errorf("concurrent duplicate = %d %s, want 200 or 202", r.status, r.body)
			}
		}
		if len(ids) != 1 {
			t.Errorf("%d concurrent duplicates: booking ids %v, want exactly one", n, ids)
		}
		if got := e.available(t, "zone-a"); got != 998 {
			t.Errorf("zone-a available after %d duplicates of 2 seats = %d, want 998", n, got)
		}
		// Every later retry is a replay of that one booking.
		last := e.do(t, reserve, "")
		b := mustOK[bookingJSON](t, last, "retry after the burst")
		if _, ok := ids[b.BookingID]; !ok || last.header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("retry after the burst = %s (replayed %q), want a replay of %v", b.BookingID, last.header.Get("Idempotent-Replayed"), ids)
		}
		t.Logf("%d duplicates: statuses %v", n, statuses)
	})
}

func TestErrorsAreNotStored(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		held := e.reserve(t, "bob", "zone-b", 8)
		reserve := call{method: "POST", path: "/api/v1/bookings/reserve", user: "alice",
			key: "retry-later", body: `{"zone_id":"zone-b","quantity":5}`}

		r := e.do(t, reserve, "")
		if got := errorBody(t, r); r.status != http.StatusConflict || got.Error != "INSUFFICIENT_STOCK" {
			t.Fatalf("reserve 5 of 2 available = %d %s, want 409 INSUFFICIENT_STOCK", r.status, r.body)
		}
		e.do(t, call{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "bob"}, held.BookingID)

		// The 409 was not stored: the retry with the same key runs again and
		// now succeeds.
		r = e.do(t, reserve, "")
		b := mustOK[bookingJSON](t, r, "retry after seats were freed")
		if b.Status != "RESERVED" || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("retry after seats were freed = %s (replayed %q), want RESERVED, not replayed", b.Status, r.header.Get("Idempotent-Replayed"))
		}
	})
}

func TestKeysAreScopedByUser(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		e := newEnv(t, open())
		c := call{method: "POST", path: "/api/v1/bookings/reserve", key: "same-key", body: `{"zone_id":"zone-a","quantity":1}`}
		c.user = "alice"
		a := mustOK[bookingJSON](t, e.do(t, c, ""), "alice reserve")
		c.user = "bob"
		r := e.do(t, c, "")
		b := mustOK[bookingJSON](t, r, "bob reserve")
		if a.BookingID == b.BookingID || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("bob with alice's key got %s (replayed %q), want a booking of his own", b.BookingID, r.header.Get("Idempotent-Replayed"))
		}
	})
}
