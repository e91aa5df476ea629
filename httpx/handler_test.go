package httpx_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// serveBoth runs h on an HTTP/1.1 and an HTTP/2 test server.
func serveBoth(t *testing.T, h http.Handler, test func(t *testing.T, srv *httptest.Server)) {
	t.Run("h1", func(t *testing.T) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		test(t, srv)
	})
	t.Run("h2", func(t *testing.T) {
		srv := httptest.NewUnstartedServer(h)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		test(t, srv)
	})
}

func TestHandlerFuncOnServer(t *testing.T) {
	reg := bookingRegistry(t)
	ew := &httpx.ErrorWriter{Registry: reg, Logger: discardLogger}
	mux := http.NewServeMux()
	mux.Handle("POST /bookings", ew.Handler(func(w http.ResponseWriter, r *http.Request) error {
		var req bookingRequest
		if err := httpx.DecodeJSON(r, &req, httpx.WithMaxBodyBytes(64)); err != nil {
			return err
		}
		var problems errs.FieldErrors
		if req.Quantity <= 0 {
			problems.Add("quantity", "must be positive")
		}
		if req.ZoneID == "" {
			problems.Add("zone_id", "required")
		}
		if err := problems.Err(); err != nil {
			return err
		}
		if req.Quantity > 5 {
			return errs.WithDetails(errStockT, "available", "5", "requested", "10")
		}
		return httpx.WriteJSON(w, http.StatusCreated, map[string]string{"status": "booked"})
	}))
	mux.Handle("GET /plain", httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return errs.ErrNotFound
	}))

	tests := []struct {
		name   string
		method string
		path   string
		body   string
		status int
		want   string
	}{
		{"created", "POST", "/bookings", `{"zone_id":"B","quantity":2}`, 201, `{"status":"booked"}`},
		{"validation", "POST", "/bookings", `{"quantity":0}`, 400,
			`{"error":"VALIDATION_ERROR","message":"Invalid request","details":{"quantity":"must be positive","zone_id":"required"}}`},
		{"domain error", "POST", "/bookings", `{"zone_id":"B","quantity":10}`, 409,
			`{"error":"INSUFFICIENT_STOCK","message":"Not enough seats available","details":{"available":"5","requested":"10"}}`},
		{"too large", "POST", "/bookings", `{"zone_id":"` + strings.Repeat("B", 100) + `"}`, 413,
			`{"error":"PAYLOAD_TOO_LARGE","message":"Request body is too large","details":{"limit":"64"}}`},
		{"malformed", "POST", "/bookings", `{"zone_id":`, 400,
			`{"error":"MALFORMED_JSON","message":"Request body ends before the JSON value does","details":{"offset":"11"}}`},
		{"package-level HandlerFunc", "GET", "/plain", "", 404, `{"error":"NOT_FOUND","message":"Not found"}`},
	}
	serveBoth(t, mux, func(t *testing.T, srv *httptest.Server) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
				req.Header.Set("Content-Type", "application/json")
				res, err := srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer res.Body.Close()
				body, _ := io.ReadAll(res.Body)
				if res.StatusCode != tt.status || string(body) != tt.want+"\n" {
					t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, res.StatusCode, body, tt.status, tt.want)
				}
				if ct := res.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
				}
				if !json.Valid(body) {
					t.Errorf("body is not JSON: %s", body)
				}
			})
		}
	})
}
