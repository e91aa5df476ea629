package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

// The booking domain's errors.
var (
	ErrInsufficientStock = errors.New("booking: insufficient stock")
	ErrUserLimitExceeded = errors.New("booking: user limit exceeded")
	ErrBookingNotFound   = errors.New("booking: not found")
	ErrBookingExpired    = errors.New("booking: expired")
	ErrSeatStoreDown     = errors.New("booking: seat store unavailable")
)

// InsufficientStockError carries the numbers behind ErrInsufficientStock.
type InsufficientStockError struct{ Available, Requested int }

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("booking: insufficient stock: available %d, requested %d", e.Available, e.Requested)
}

func (e *InsufficientStockError) Unwrap() error { return ErrInsufficientStock }

func bookingErrors() *errs.Registry {
	reg := errs.NewRegistry() // or errs.Register / errs.RegisterType on the default registry
	_ = errs.RegisterTypeIn(reg, http.StatusConflict, "INSUFFICIENT_STOCK",
		func(e *InsufficientStockError) (string, map[string]string) {
			return "Not enough seats available", map[string]string{
				"available": strconv.Itoa(e.Available), "requested": strconv.Itoa(e.Requested)}
		})
	_ = reg.Register(ErrInsufficientStock, http.StatusConflict, "INSUFFICIENT_STOCK", "Not enough seats available")
	_ = reg.Register(ErrUserLimitExceeded, http.StatusBadRequest, "LIMIT_EXCEEDED", "Booking limit per user exceeded")
	_ = reg.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")
	_ = reg.Register(ErrBookingExpired, http.StatusGone, "BOOKING_EXPIRED", "Booking has expired")
	_ = reg.Register(ErrSeatStoreDown, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE",
		"Service temporarily unavailable. Please try again.")
	return reg
}

// exampleLogger logs to stdout without timestamps, so the output is stable.
func exampleLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// Every error of the booking service answers in the standard body. Technical
// errors are logged (level Error, with the full chain) and never shown.
func Example_bookingErrors() {
	ew := &httpx.ErrorWriter{Registry: bookingErrors(), Logger: exampleLogger()}

	valkeyTimeout := fmt.Errorf("valkey GET seats:42 at 10.0.0.7:6379: %w", os.ErrDeadlineExceeded)
	for _, err := range []error{
		fmt.Errorf("reserve zone B: %w", &InsufficientStockError{Available: 5, Requested: 10}),
		fmt.Errorf("user 7: %w", ErrUserLimitExceeded),
		fmt.Errorf("get booking 42: %w", ErrBookingNotFound),
		fmt.Errorf("confirm booking 42: %w", ErrBookingExpired),
		fmt.Errorf("insert booking: %w", errors.New("pq: password authentication failed for user \"app\"")),
		fmt.Errorf("%w: %w", ErrSeatStoreDown, valkeyTimeout),
	} {
		r := httptest.NewRequest(http.MethodPost, "/bookings", nil)
		r = r.WithContext(httpx.WithTraceID(r.Context(), "4bf92f3577b34da6a3ce929d0e0e4736"))
		w := httptest.NewRecorder()
		ew.Write(w, r, err)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 409 {"error":"INSUFFICIENT_STOCK","message":"Not enough seats available","details":{"available":"5","requested":"10"},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// 400 {"error":"LIMIT_EXCEEDED","message":"Booking limit per user exceeded","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// 404 {"error":"BOOKING_NOT_FOUND","message":"Booking not found","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// 410 {"error":"BOOKING_EXPIRED","message":"Booking has expired","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// level=ERROR msg="request failed" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 method=POST path=/bookings status=500 code=INTERNAL_ERROR error="insert booking: pq: password authentication failed for user \"app\""
	// 500 {"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// level=ERROR msg="request failed" trace_id=4bf92f3577b34da6a3ce929d0e0e4736 method=POST path=/bookings status=503 code=SERVICE_UNAVAILABLE error="booking: seat store unavailable: valkey GET seats:42 at 10.0.0.7:6379: i/o timeout"
	// 503 {"error":"SERVICE_UNAVAILABLE","message":"Service temporarily unavailable. Please try again.","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
}

// A handler returns its error; HandlerFunc answers it with WriteError.
func ExampleHandlerFunc() {
	getBooking := func(w http.ResponseWriter, r *http.Request) error {
		if r.PathValue("id") != "42" {
			return fmt.Errorf("get booking %s: %w", r.PathValue("id"), errs.ErrNotFound)
		}
		return httpx.WriteJSON(w, http.StatusOK, map[string]string{"id": "42", "status": "confirmed"})
	}
	mux := http.NewServeMux()
	mux.Handle("GET /bookings/{id}", httpx.HandlerFunc(getBooking))

	for _, path := range []string{"/bookings/42", "/bookings/7"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 {"id":"42","status":"confirmed"}
	// 404 {"error":"NOT_FOUND","message":"Not found"}
}

// DecodeJSON reports every request problem as a ready-made *errs.Error.
func ExampleDecodeJSON() {
	type createBooking struct {
		ZoneID   string `json:"zone_id"`
		Quantity int    `json:"quantity"`
	}
	create := httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var req createBooking
		if err := httpx.DecodeJSON(r, &req, httpx.WithDisallowUnknownFields()); err != nil {
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
		return httpx.WriteJSON(w, http.StatusCreated, req)
	})

	for _, tc := range []struct{ contentType, body string }{
		{"application/json", `{"zone_id":"B","quantity":2}`},
		{"application/json", `{"quantity":0}`},
		{"application/json", `{"zone_id":"B","quantity":"two"}`},
		{"application/json", `{"zone_id":"B","seats":[1]}`},
		{"text/plain", `{"zone_id":"B"}`},
	} {
		r := httptest.NewRequest(http.MethodPost, "/bookings", strings.NewReader(tc.body))
		r.Header.Set("Content-Type", tc.contentType)
		w := httptest.NewRecorder()
		create.ServeHTTP(w, r)
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 201 {"zone_id":"B","quantity":2}
	// 400 {"error":"VALIDATION_ERROR","message":"Invalid request","details":{"quantity":"must be positive","zone_id":"required"}}
	// 400 {"error":"MALFORMED_JSON","message":"Request body has a value of the wrong type","details":{"expected":"number","field":"quantity","offset":"31"}}
	// 400 {"error":"MALFORMED_JSON","message":"Request body has an unknown field","details":{"field":"seats"}}
	// 415 {"error":"UNSUPPORTED_MEDIA_TYPE","message":"Content-Type must be application/json"}
}

// A client that prefers application/problem+json gets RFC 9457 problem
// details with the same code, details and trace id.
func ExampleErrorWriter_problemDetails() {
	ew := &httpx.ErrorWriter{Registry: bookingErrors(), Logger: slog.New(slog.DiscardHandler)}

	r := httptest.NewRequest(http.MethodPost, "/bookings", nil)
	r.Header.Set("Accept", "application/problem+json")
	r = r.WithContext(httpx.WithTraceID(context.Background(), "4bf92f3577b34da6a3ce929d0e0e4736"))
	for _, err := range []error{
		errs.WithDetails(ErrInsufficientStock, "available", "5", "requested", "10"),
		errs.FieldErrors{"quantity": "must be positive", "zone_id": "required"},
	} {
		w := httptest.NewRecorder()
		ew.Write(w, r, err)
		fmt.Println(w.Code, w.Header().Get("Content-Type"))
		fmt.Print(w.Body.String())
	}
	// Output:
	// 409 application/problem+json
	// {"type":"about:blank","title":"Conflict","status":409,"detail":"Not enough seats available","code":"INSUFFICIENT_STOCK","details":{"available":"5","requested":"10"},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
	// 400 application/problem+json
	// {"type":"about:blank","title":"Bad Request","status":400,"detail":"Invalid request","code":"VALIDATION_ERROR","errors":[{"detail":"must be positive","pointer":"#/quantity"},{"detail":"required","pointer":"#/zone_id"}],"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
}

// WriteJSON writes any value with the JSON content type.
func ExampleWriteJSON() {
	w := httptest.NewRecorder()
	_ = httpx.WriteJSON(w, http.StatusCreated, map[string]any{"id": "b-42", "seats": []int{12, 13}})
	fmt.Println(w.Code, w.Header().Get("Content-Type"))
	fmt.Print(w.Body.String())
	// Output:
	// 201 application/json; charset=utf-8
	// {"id":"b-42","seats":[12,13]}
}
