// Package routertest is the test every router example (chi, stdlib, echo)
// runs against its own wiring: a retried POST is replayed, and a registered
// error answers in the standard body, on the memory store and on Valkey.
// Each example stays a complete program to copy; only its test is shared.
package routertest

import (
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// stores lists the stores every test runs on.
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

func post(t *testing.T, url, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/orders", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User-ID", "alice")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /orders: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST /orders: reading body: %v", err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// Run runs the router example tests on the handler newHandler builds. The
// handler serves POST /orders creating orders {"order_id":"ord-N",...} from
// {"item","quantity"}; "poster" has 1 item in stock and answers 409
// OUT_OF_STOCK with details {"available":"1"} when 2 are asked.
func Run(t *testing.T, newHandler func(middleware.Store) http.Handler) {
	t.Run("RetriedPostIsReplayed", func(t *testing.T) { retriedPostIsReplayed(t, newHandler) })
	t.Run("RegisteredErrorAnswersStandardBody", func(t *testing.T) { registeredErrorAnswersStandardBody(t, newHandler) })
}

// order is the answer of POST /orders.
type order struct {
	OrderID  string `json:"order_id"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

func retriedPostIsReplayed(t *testing.T, newHandler func(middleware.Store) http.Handler) {
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(st.open(t)))
			defer srv.Close()
			const body = `{"item":"book","quantity":2}`

			first := post(t, srv.URL, "order-1", body)
			retry := post(t, srv.URL, "order-1", body)
			if first.status != http.StatusCreated || first.header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("first POST = %d %s (Idempotent-Replayed %q), want 201, not replayed",
					first.status, first.body, first.header.Get("Idempotent-Replayed"))
			}
			if retry.status != http.StatusCreated || retry.header.Get("Idempotent-Replayed") != "true" ||
				!bytes.Equal(retry.body, first.body) {
				t.Errorf("retried POST = %d %s (Idempotent-Replayed %q), want 201 %s replayed",
					retry.status, retry.body, retry.header.Get("Idempotent-Replayed"), first.body)
			}

			// The handler ran once: the next new order is the second one.
			next := post(t, srv.URL, "order-2", body)
			var o order
			if err := json.Unmarshal(next.body, &o); err != nil || o.OrderID != "ord-2" {
				t.Errorf("POST with a new key = %s, want order ord-2", next.body)
			}
		})
	}
}

func registeredErrorAnswersStandardBody(t *testing.T, newHandler func(middleware.Store) http.Handler) {
	tests := []struct {
		name    string
		key     string
		body    string
		status  int
		code    string
		details map[string]string
	}{
		{name: "registered error", body: `{"item":"poster","quantity":2}`,
			status: 409, code: "OUT_OF_STOCK", details: map[string]string{"available": "1"}},
		{name: "registered error with a key", key: "poster-1", body: `{"item":"poster","quantity":2}`,
			status: 409, code: "OUT_OF_STOCK", details: map[string]string{"available": "1"}},
		{name: "validation", body: `{"item":"","quantity":0}`,
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"item": "required", "quantity": "must be positive"}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			srv := httptest.NewServer(newHandler(st.open(t)))
			defer srv.Close()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					// Twice: an error is not stored, so the retry runs again
					// and answers the same way, never as a replay.
					for attempt := range 2 {
						r := post(t, srv.URL, tt.key, tt.body)
						var got httpx.ErrorResponse
						if err := json.Unmarshal(r.body, &got); err != nil {
							t.Fatalf("POST %s: body %s is not JSON: %v", tt.body, r.body, err)
						}
						if r.status != tt.status || got.Error != tt.code || !maps.Equal(got.Details, tt.details) {
							t.Errorf("POST %s (attempt %d) = %d %s, want %d %s %v", tt.body, attempt+1, r.status, r.body, tt.status, tt.code, tt.details)
						}
						if got.TraceID == "" || got.TraceID != r.header.Get("X-Request-ID") {
							t.Errorf("POST %s: trace_id %q, want X-Request-ID %q", tt.body, got.TraceID, r.header.Get("X-Request-ID"))
						}
						if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
							t.Errorf("POST %s: Content-Type %q, want application/json; charset=utf-8", tt.body, ct)
						}
						if r.header.Get("Idempotent-Replayed") != "" {
							t.Errorf("POST %s (attempt %d): error answer was replayed", tt.body, attempt+1)
						}
					}
				})
			}
		})
	}
}
