package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/examples/internal/routertest"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// TestRouter runs the shared router-example test on this example's wiring.
func TestRouter(t *testing.T) { routertest.Run(t, newHandler) }

// echo's own errors (the router's 404 and 405) answer in the standard body
// too, through idemecho.ErrorHandler.
func TestEchoErrorsAnswerStandardBody(t *testing.T) {
	srv := httptest.NewServer(newHandler(middleware.NewMemoryStore()))
	defer srv.Close()
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"unknown route", http.MethodGet, "/nowhere", http.StatusNotFound, "NOT_FOUND"},
		{"method not allowed", http.MethodDelete, "/orders", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			var got httpx.ErrorResponse
			if err := json.Unmarshal(b, &got); err != nil || resp.StatusCode != tt.status || got.Error != tt.code ||
				got.TraceID == "" || got.TraceID != resp.Header.Get("X-Request-ID") {
				t.Errorf("%s %s = %d %s, want %d %s with the request's trace id", tt.method, tt.path, resp.StatusCode, b, tt.status, tt.code)
			}
		})
	}
}
