package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/examples/internal/booking"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// stores lists the stores every flow runs on.
var stores = []struct {
	name string
	open func(t *testing.T) middleware.Store
}{
	{"memory", func(*testing.T) middleware.Store { return middleware.NewMemoryStore() }},
	{"valkey", func(t *testing.T) middleware.Store {
		return middleware.NewValkeyStore(valkeytest.StartServer(t).Client(t))
	}},
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// call makes one request as user (none when empty), with the idempotency
// key when not empty.
func call(t *testing.T, method, url, user, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if user != "" {
		req.Header.Set("X-User-ID", user)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func decodeAs[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return v
}

// available returns zone's free seats.
func available(t *testing.T, base, zoneID string) int {
	t.Helper()
	r := call(t, http.MethodGet, base+"/api/v1/zones/"+zoneID, "alice", "", "")
	return decodeAs[zoneView](t, r).Available
}

// Reserving twice with one key makes one booking: the retry is the first
// answer replayed, byte for byte.
func TestReserveTwiceWithOneKey(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(st.open(t)))
			defer srv.Close()
			const body = `{"zone_id":"zone-a","quantity":2}`

			first := call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "alice", "reserve-42", body)
			retry := call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "alice", "reserve-42", body)
			if first.status != http.StatusOK || first.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first reserve = %d %s, want 200, not replayed", first.status, first.body)
			}
			if b := decodeAs[bookingView](t, first); b.Status != string(booking.StatusReserved) || b.Quantity != 2 || b.BookingID == "" {
				t.Errorf("first reserve = %s, want a RESERVED booking of 2", first.body)
			}
			if retry.status != http.StatusOK || !bytes.Equal(retry.body, first.body) || retry.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("retried reserve = %d %s (replayed %q), want %s replayed", retry.status, retry.body,
					retry.header.Get("Idempotent-Replayed"), first.body)
			}
			if n := available(t, srv.URL, "zone-a"); n != 998 {
				t.Errorf("zone-a available = %d after one reservation of 2 sent twice, want 998", n)
			}
			// Another user's same key is another request.
			other := call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "bob", "reserve-42", body)
			if other.status != http.StatusOK || other.header.Get("Idempotent-Replayed") != "" || bytes.Equal(other.body, first.body) {
				t.Errorf("bob's reserve with alice's key = %d %s, want a booking of his own", other.status, other.body)
			}
		})
	}
}

// A sold-out answer is 409 in the standard body and is not stored: the same
// key, retried once seats are free, books.
func TestSoldOutIsNotStored(t *testing.T) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(st.open(t)))
			defer srv.Close()
			reserve := srv.URL + "/api/v1/bookings/reserve"

			bob := call(t, http.MethodPost, reserve, "bob", "bob-1", `{"zone_id":"zone-b","quantity":8}`)
			if bob.status != http.StatusOK {
				t.Fatalf("bob's reserve = %d %s", bob.status, bob.body)
			}
			for attempt := 1; attempt <= 2; attempt++ {
				r := call(t, http.MethodPost, reserve, "dave", "dave-1", `{"zone_id":"zone-b","quantity":4}`)
				got := decodeAs[httpx.ErrorResponse](t, r)
				want := map[string]string{"available": "2", "requested": "4", "zone_id": "zone-b"}
				if r.status != http.StatusConflict || got.Error != "INSUFFICIENT_STOCK" || !maps.Equal(got.Details, want) {
					t.Errorf("attempt %d: dave's reserve = %d %s, want 409 INSUFFICIENT_STOCK %v", attempt, r.status, r.body, want)
				}
				if got.TraceID == "" || got.TraceID != r.header.Get("X-Request-Id") || r.header.Get("Content-Type") != "application/json; charset=utf-8" {
					t.Errorf("attempt %d: trace_id %q, X-Request-ID %q, Content-Type %q: want the standard body",
						attempt, got.TraceID, r.header.Get("X-Request-Id"), r.header.Get("Content-Type"))
				}
				if r.header.Get("Idempotent-Replayed") != "" {
					t.Errorf("attempt %d: the 409 was replayed", attempt)
				}
			}
			id := decodeAs[bookingView](t, bob).BookingID
			if r := call(t, http.MethodPost, srv.URL+"/api/v1/bookings/"+id+"/cancel", "bob", "", ""); r.status != http.StatusOK {
				t.Fatalf("bob's cancel = %d %s", r.status, r.body)
			}
			r := call(t, http.MethodPost, reserve, "dave", "dave-1", `{"zone_id":"zone-b","quantity":4}`)
			if r.status != http.StatusOK || r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("dave's retry after the cancel = %d %s, want 200 from a new run", r.status, r.body)
			}
		})
	}
}

// Confirm and cancel are idempotent with a key; without one, a repeat is a
// new request and gets the state error.
func TestConfirmAndCancel(t *testing.T) {
	srv := httptest.NewServer(newHandler(middleware.NewMemoryStore()))
	defer srv.Close()
	res := call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "alice", "", `{"zone_id":"zone-b","quantity":3}`)
	id := decodeAs[bookingView](t, res).BookingID
	confirm, cancel := srv.URL+"/api/v1/bookings/"+id+"/confirm", srv.URL+"/api/v1/bookings/"+id+"/cancel"

	first := call(t, http.MethodPost, confirm, "alice", "confirm-1", "")
	retry := call(t, http.MethodPost, confirm, "alice", "confirm-1", "")
	if first.status != 200 || decodeAs[bookingView](t, first).Status != string(booking.StatusConfirmed) ||
		retry.status != 200 || !bytes.Equal(retry.body, first.body) || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("confirm, retry = %d %s, %d %s, want CONFIRMED, then replayed", first.status, first.body, retry.status, retry.body)
	}
	again := call(t, http.MethodPost, confirm, "alice", "", "")
	got := decodeAs[httpx.ErrorResponse](t, again)
	if want := map[string]string{"status": "CONFIRMED", "action": "confirm"}; again.status != 409 ||
		got.Error != "INVALID_BOOKING_STATE" || !maps.Equal(got.Details, want) {
		t.Errorf("confirm without a key = %d %s, want 409 INVALID_BOOKING_STATE %v", again.status, again.body, want)
	}
	if r := call(t, http.MethodPost, cancel, "alice", "cancel-1", ""); r.status != 200 || decodeAs[bookingView](t, r).Status != string(booking.StatusCancelled) {
		t.Errorf("cancel = %d %s, want CANCELLED", r.status, r.body)
	}
	if r := call(t, http.MethodPost, cancel, "alice", "cancel-1", ""); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("retried cancel = %d %s, want the 200 replayed", r.status, r.body)
	}
	if n := available(t, srv.URL, "zone-b"); n != 10 {
		t.Errorf("zone-b available = %d after the cancel, want 10", n)
	}
}

// Every error is the standard body.
func TestErrorsInStandardBody(t *testing.T) {
	srv := httptest.NewServer(newHandler(middleware.NewMemoryStore()))
	defer srv.Close()
	mallorys := decodeAs[bookingView](t, call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "mallory", "",
		`{"zone_id":"zone-a","quantity":1}`)).BookingID
	tests := []struct {
		name, method, path, user, key, body string
		status                              int
		code                                string
	}{
		{name: "no user", method: "POST", path: "/api/v1/bookings/reserve", key: "k1", body: `{"zone_id":"zone-a","quantity":1}`,
			status: 401, code: "UNAUTHENTICATED"},
		{name: "malformed JSON", method: "POST", path: "/api/v1/bookings/reserve", user: "alice", key: "k2", body: `{"zone_id":`,
			status: 400, code: "MALFORMED_JSON"},
		{name: "validation", method: "POST", path: "/api/v1/bookings/reserve", user: "alice", body: `{"quantity":0}`,
			status: 400, code: "VALIDATION_ERROR"},
		{name: "unknown zone", method: "POST", path: "/api/v1/bookings/reserve", user: "alice", key: "k3", body: `{"zone_id":"zone-x","quantity":1}`,
			status: 404, code: "ZONE_NOT_FOUND"},
		{name: "another user's booking", method: "POST", path: "/api/v1/bookings/" + mallorys + "/confirm", user: "alice", key: "k4",
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "unknown route", method: "GET", path: "/api/v2/zones", user: "alice", status: 404, code: "NOT_FOUND"},
		{name: "method not allowed", method: "DELETE", path: "/api/v1/bookings/reserve", user: "alice", status: 405, code: "METHOD_NOT_ALLOWED"},
		{name: "idempotency key reused", method: "POST", path: "/api/v1/bookings/reserve", user: "mallory", key: "m1",
			body: `{"zone_id":"zone-a","quantity":2}`, status: 200},
		{name: "idempotency key reused (the reuse)", method: "POST", path: "/api/v1/bookings/reserve", user: "mallory", key: "m1",
			body: `{"zone_id":"zone-a","quantity":3}`, status: 422, code: "IDEMPOTENCY_KEY_REUSED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, tt.method, srv.URL+tt.path, tt.user, tt.key, tt.body)
			if tt.code == "" {
				if r.status != tt.status {
					t.Errorf("%s %s = %d %s, want %d", tt.method, tt.path, r.status, r.body, tt.status)
				}
				return
			}
			got := decodeAs[httpx.ErrorResponse](t, r)
			if r.status != tt.status || got.Error != tt.code || got.TraceID != r.header.Get("X-Request-Id") {
				t.Errorf("%s %s = %d %s, want %d %s with the trace id", tt.method, tt.path, r.status, r.body, tt.status, tt.code)
			}
		})
	}
}

// countingStore counts the calls that reach the store it wraps.
type countingStore struct {
	middleware.Store
	calls atomic.Int64
}

func (s *countingStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	s.calls.Add(1)
	return s.Store.Claim(ctx, key, rec, ttl)
}

// The probes are skipped (no store call even for a keyed POST) and
// /metrics counts the middleware's events.
func TestProbes(t *testing.T) {
	store := &countingStore{Store: middleware.NewMemoryStore()}
	srv := httptest.NewServer(newHandler(store))
	defer srv.Close()

	for _, path := range probes {
		if r := call(t, http.MethodGet, srv.URL+path, "", "", ""); r.status != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, r.status, r.body)
		}
		if r := call(t, http.MethodPost, srv.URL+path, "alice", "probe-key", `{}`); r.status != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d %s, want 405", path, r.status, r.body)
		}
	}
	if n := store.calls.Load(); n != 0 {
		t.Errorf("the probes made %d store calls, want 0", n)
	}

	for range 2 {
		call(t, http.MethodPost, srv.URL+"/api/v1/bookings/reserve", "alice", "r1", `{"zone_id":"zone-a","quantity":1}`)
	}
	m := call(t, http.MethodGet, srv.URL+"/metrics", "", "", "")
	for _, line := range []string{`idemkit_idempotency_events_total{kind="acquired"} 1`,
		`idemkit_idempotency_events_total{kind="stored"} 1`, `idemkit_idempotency_events_total{kind="replayed"} 1`} {
		if !bytes.Contains(m.body, []byte(line+"\n")) {
			t.Errorf("/metrics = %s, want the line %s", m.body, line)
		}
	}
}
