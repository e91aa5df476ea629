package middleware_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// RequestID takes the id from X-Request-ID or traceparent (or makes one),
// echoes it, and the error body carries it as trace_id.
func ExampleRequestID() {
	h := middleware.RequestID(httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("get booking 42: %w", errs.ErrNotFound)
	}))

	for _, header := range [][2]string{
		{"X-Request-ID", "req-7f3a"},
		{"Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/bookings/42", nil)
		r.Header.Set(header[0], header[1])
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		fmt.Println("X-Request-ID:", w.Header().Get("X-Request-ID"))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// X-Request-ID: req-7f3a
	// 404 {"error":"NOT_FOUND","message":"Not found","trace_id":"req-7f3a"}
	// X-Request-ID: 4bf92f3577b34da6a3ce929d0e0e4736
	// 404 {"error":"NOT_FOUND","message":"Not found","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
}
