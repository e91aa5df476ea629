package api_test

import (
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/examples/booking/internal/api"
	"github.com/idemkit/idemkit/examples/internal/booking"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// ttl is the reservation TTL of every test service.
const ttl = 10 * time.Minute

// start is where every test clock starts.
var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// forEachStore runs f once on memory stores and once on Valkey stores. All
// Valkey stores of one run share a server; env's key nonce keeps their keys
// apart.
func forEachStore(t *testing.T, f func(t *testing.T, open func() middleware.Store)) {
	t.Run("memory", func(t *testing.T) {
		f(t, func() middleware.Store { return middleware.NewMemoryStore() })
	})
	t.Run("valkey", func(t *testing.T) {
		client := valkeytest.StartServer(t).Client(t)
		f(t, func() middleware.Store { return middleware.NewValkeyStore(client) })
	})
}

// env is one demo server over real HTTP with its own service and clock.
type env struct {
	srv   *httptest.Server
	clock *fakeClock
	nonce string // prefixes idempotency keys, unique per env
}

func newEnv(t *testing.T, store middleware.Store) *env {
	t.Helper()
	clock := &fakeClock{now: start}
	svc := booking.New(booking.DemoZones(), booking.WithClock(clock.Now), booking.WithReservationTTL(ttl))
	srv := httptest.NewServer(api.New(svc, store))
	t.Cleanup(srv.Close)
	return &env{srv: srv, clock: clock, nonce: strings.ToLower(rand.Text()[:10])}
}

// call is one HTTP request to the demo.
type call struct {
	method string
	path   string // "{id}" is replaced by the booking id the test passes
	user   string // X-User-ID; "" sends none
	key    string // idempotency key (prefixed with the env's nonce); "" sends none
	header string // header for key; default Idempotency-Key
	body   string // JSON body; sent with Content-Type application/json
	ctype  string // overrides the Content-Type
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(t *testing.T, c call, id string) reply {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req, err := http.NewRequest(c.method, e.srv.URL+strings.ReplaceAll(c.path, "{id}", id), body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s) = %v", c.method, c.path, err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.ctype != "" {
		req.Header.Set("Content-Type", c.ctype)
	}
	if c.user != "" {
		req.Header.Set(api.HeaderUserID, c.user)
	}
	if c.key != "" {
		h := c.header
		if h == "" {
			h = middleware.HeaderIdempotencyKey
		}
		req.Header.Set(h, e.nonce+"-"+c.key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", c.method, c.path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// bookingJSON is the booking body of the API.
type bookingJSON struct {
	BookingID string `json:"booking_id"`
	ZoneID    string `json:"zone_id"`
	Quantity  int    `json:"quantity"`
	Status    string `json:"status"`
	ExpiresAt string `json:"expires_at"`
}

// zoneJSON is the zone body of the API.
type zoneJSON struct {
	ZoneID    string `json:"zone_id"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("Unmarshal(%s) = %v", r.body, err)
	}
	return v
}

// mustOK checks that r is 200 and decodes its body.
func mustOK[T any](t *testing.T, r reply, what string) T {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("%s = %d %s, want 200", what, r.status, r.body)
	}
	return decode[T](t, r)
}

func (e *env) reserve(t *testing.T, user, zone string, quantity int) bookingJSON {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"zone_id": zone, "quantity": quantity})
	r := e.do(t, call{method: "POST", path: "/api/v1/bookings/reserve", user: user, body: string(body)}, "")
	return mustOK[bookingJSON](t, r, "reserve("+user+", "+zone+")")
}

func (e *env) available(t *testing.T, zone string) int {
	t.Helper()
	r := e.do(t, call{method: "GET", path: "/api/v1/zones/" + zone, user: "observer"}, "")
	return mustOK[zoneJSON](t, r, "GET zone "+zone).Available
}

// errorBody checks that r is the standard error body and decodes it.
func errorBody(t *testing.T, r reply) httpx.ErrorResponse {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	e := decode[httpx.ErrorResponse](t, r)
	if e.Error == "" || e.Message == "" || e.TraceID == "" {
		t.Errorf("error body %s: want error, message and trace_id set", r.body)
	}
	if e.TraceID != r.header.Get("X-Request-ID") {
		t.Errorf("error body trace_id = %q, want X-Request-ID %q", e.TraceID, r.header.Get("X-Request-ID"))
	}
	return e
}
