package middleware_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/idemkit/idemkit/middleware"
)

// A panic becomes the standard 500 body; the panic value and the stack go to
// the log only.
func ExampleRecoverWith() {
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "stack" { // keep the output stable
				return slog.Attr{}
			}
			return a
		},
	}))
	h := middleware.RequestID(middleware.RecoverWith(middleware.WithRecoverLogger(logger))(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic("seat map corrupted")
		})))

	r := httptest.NewRequest(http.MethodPost, "/bookings", nil)
	r.Header.Set("X-Request-ID", "req-7f3a")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// level=ERROR msg="panic recovered" trace_id=req-7f3a method=POST path=/bookings panic="seat map corrupted"
	// 500 {"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"req-7f3a"}
}
