package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/examples/internal/routertest"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// TestRouter runs the shared router-example test on this example's wiring.
func TestRouter(t *testing.T) { routertest.Run(t, newHandler) }

// TestRouteErrors: the mux's own 404 and 405 are in the standard body too,
// with the request id.
func TestRouteErrors(t *testing.T) {
	h := newHandler(middleware.NewMemoryStore())
	for _, tt := range []struct {
		method, path, code, allow string
		status                    int
	}{
		{"GET", "/nowhere", "NOT_FOUND", "", http.StatusNotFound},
		{"GET", "/orders", "METHOD_NOT_ALLOWED", "POST", http.StatusMethodNotAllowed},
	} {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		r.Header.Set("X-Request-ID", "req-9")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body httpx.ErrorResponse
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || w.Code != tt.status || body.Error != tt.code ||
			body.TraceID != "req-9" || w.Header().Get("Allow") != tt.allow {
			t.Errorf("%s %s = %d %s (Allow %q), want %d %s with trace_id req-9 (Allow %q)",
				tt.method, tt.path, w.Code, w.Body, w.Header().Get("Allow"), tt.status, tt.code, tt.allow)
		}
	}
}
