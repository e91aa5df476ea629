package errs_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"testing"

	"github.com/idemkit/idemkit/errs"
)

var (
	errStock    = errors.New("booking: insufficient stock")
	errNotFound = errors.New("booking: not found")
	errExpired  = errors.New("booking: expired")
	errStore    = errors.New("store: unavailable")
)

type stockError struct{ Available, Requested int }

func (e *stockError) Error() string {
	return fmt.Sprintf("booking: insufficient stock: available %d, requested %d", e.Available, e.Requested)
}

// Unwrap lets errors.Is(e, errStock) hold too.
func (e *stockError) Unwrap() error { return errStock }

// limitError matches errExpired through an Is method, not by identity.
type limitError struct{}

func (limitError) Error() string        { return "limit" }
func (limitError) Is(target error) bool { return target == errExpired }

// asOnly converts itself into a *stockError through an As method.
type asOnly struct{}

func (asOnly) Error() string { return "as only" }
func (asOnly) As(target any) bool {
	if p, ok := target.(**stockError); ok {
		*p = &stockError{Available: 1, Requested: 2}
		return true
	}
	return false
}

func newBookingRegistry(t *testing.T) *errs.Registry {
	t.Helper()
	r := errs.NewRegistry()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Register(errStock, http.StatusConflict, "INSUFFICIENT_STOCK", "Not enough seats available"))
	must(r.Register(errNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found"))
	must(r.Register(errExpired, http.StatusGone, "BOOKING_EXPIRED", "Booking expired"))
	must(r.Register(errStore, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "Service temporarily unavailable. Please try again."))
	must(errs.RegisterTypeIn(r, http.StatusConflict, "INSUFFICIENT_STOCK_TYPED", func(e *stockError) (string, map[string]string) {
		return "Not enough seats available", map[string]string{
			"available": strconv.Itoa(e.Available), "requested": strconv.Itoa(e.Requested)}
	}))
	return r
}

func TestResolve(t *testing.T) {
	r := newBookingRegistry(t)
	secret := errors.New("pq: password=hunter2 host=10.0.0.7")
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
		details map[string]string
		matched bool
	}{
		{"sentinel", errStock, 409, "INSUFFICIENT_STOCK", "Not enough seats available", nil, true},
		{"wrapped", fmt.Errorf("reserve: %w", errNotFound), 404, "BOOKING_NOT_FOUND", "Booking not found", nil, true},
		{"wrapped twice", fmt.Errorf("handler: %w", fmt.Errorf("reserve: %w", errExpired)), 410, "BOOKING_EXPIRED", "Booking expired", nil, true},
		{"joined first wins", errors.Join(errNotFound, errExpired), 404, "BOOKING_NOT_FOUND", "Booking not found", nil, true},
		{"joined with unknown", errors.Join(secret, errExpired), 410, "BOOKING_EXPIRED", "Booking expired", nil, true},
		{"multi %w", fmt.Errorf("%w: %w", errStore, context.DeadlineExceeded), 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable. Please try again.", nil, true},
		{"is method", limitError{}, 410, "BOOKING_EXPIRED", "Booking expired", nil, true},
		{"typed outer beats sentinel inside", fmt.Errorf("x: %w", &stockError{5, 10}), 409, "INSUFFICIENT_STOCK_TYPED", "Not enough seats available",
			map[string]string{"available": "5", "requested": "10"}, true},
		{"typed via As method", asOnly{}, 409, "INSUFFICIENT_STOCK_TYPED", "Not enough seats available",
			map[string]string{"available": "1", "requested": "2"}, true},
		{"with details", errs.WithDetails(errStock, "available", "5", "requested", "10"), 409, "INSUFFICIENT_STOCK", "Not enough seats available",
			map[string]string{"available": "5", "requested": "10"}, true},
		{"details wrapped", fmt.Errorf("a: %w", errs.WithDetails(fmt.Errorf("b: %w", errStock), "k", "v")), 409, "INSUFFICIENT_STOCK", "Not enough seats available",
			map[string]string{"k": "v"}, true},
		{"outer details win", errs.WithDetails(errs.WithDetails(errStock, "k", "inner", "i", "1"), "k", "outer"), 409, "INSUFFICIENT_STOCK", "Not enough seats available",
			map[string]string{"k": "outer", "i": "1"}, true},
		{"details override typed", errs.WithDetails(&stockError{5, 10}, "available", "4"), 409, "INSUFFICIENT_STOCK_TYPED", "Not enough seats available",
			map[string]string{"available": "4", "requested": "10"}, true},
		{"details off the matched branch dropped", errors.Join(errs.WithDetails(errNotFound, "a", "1"), errs.WithDetails(errExpired, "b", "2")), 404, "BOOKING_NOT_FOUND", "Booking not found",
			map[string]string{"a": "1"}, true},
		{"odd keyvals", errs.WithDetails(errStock, "lonely"), 409, "INSUFFICIENT_STOCK", "Not enough seats available",
			map[string]string{"lonely": ""}, true},
		{"unregistered", secret, 500, "INTERNAL_ERROR", errs.MessageInternal, nil, false},
		{"unregistered with details drops them", errs.WithDetails(secret, "k", "v"), 500, "INTERNAL_ERROR", errs.MessageInternal, nil, false},
		{"nil", nil, 500, "INTERNAL_ERROR", errs.MessageInternal, nil, false},
		{"public error", errs.New(409, "SEAT_TAKEN", "Seat already taken"), 409, "SEAT_TAKEN", "Seat already taken", nil, true},
		{"public error beats inner registration", errs.ErrServiceUnavailable.Wrap(errNotFound), 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable. Please try again.", nil, true},
		{"public error details merged", errs.WithDetails(&errs.Error{Status: 409, Code: "X", Message: "m", Details: map[string]string{"a": "1"}}, "b", "2"), 409, "X", "m",
			map[string]string{"a": "1", "b": "2"}, true},
		{"public error defaults", &errs.Error{Status: 404}, 404, "NOT_FOUND", "Not Found", nil, true},
		{"public error bad status", &errs.Error{Status: 200, Code: "OK"}, 500, "OK", errs.MessageInternal, nil, true},
		{"field errors", fmt.Errorf("create: %w", errs.FieldErrors{"quantity": "must be positive", "zone_id": "required"}), 400, "VALIDATION_ERROR", "Invalid request",
			map[string]string{"quantity": "must be positive", "zone_id": "required"}, true},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), 499, "CLIENT_CLOSED_REQUEST", "Client closed the request", nil, true},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, "GATEWAY_TIMEOUT", "The request took too long. Please try again.", nil, true},
		{"max bytes", fmt.Errorf("read: %w", &http.MaxBytesError{Limit: 10}), 413, "PAYLOAD_TOO_LARGE", "Request body is too large",
			map[string]string{"limit": "10"}, true},
		{"registration beats built-in anywhere", errors.Join(context.Canceled, errNotFound), 404, "BOOKING_NOT_FOUND", "Booking not found", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Resolve(tt.err)
			if got.Status != tt.status || got.Code != tt.code || got.Message != tt.message || got.Matched != tt.matched || !maps.Equal(got.Details, tt.details) {
				t.Errorf("Resolve(%v) = %+v, want {Status:%d Code:%s Message:%s Details:%v Matched:%v}",
					tt.err, got, tt.status, tt.code, tt.message, tt.details, tt.matched)
			}
		})
	}
}

func TestResolveDoesNotMutateCarrierDetails(t *testing.T) {
	pub := &errs.Error{Status: 409, Code: "X", Message: "m", Details: map[string]string{"a": "1"}}
	errs.NewRegistry().Resolve(errs.WithDetails(pub, "a", "2", "b", "3"))
	if len(pub.Details) != 1 || pub.Details["a"] != "1" {
		t.Errorf("Resolve changed the *Error's details to %v, want map[a:1]", pub.Details)
	}
}

func TestRegistrationOverridesBuiltIn(t *testing.T) {
	r := errs.NewRegistry()
	if err := r.Register(context.DeadlineExceeded, 503, "SERVICE_UNAVAILABLE", "Try again"); err != nil {
		t.Fatal(err)
	}
	got := r.Resolve(fmt.Errorf("x: %w", context.DeadlineExceeded))
	if got.Status != 503 || got.Code != "SERVICE_UNAVAILABLE" {
		t.Errorf("Resolve(deadline) = %d %s, want 503 SERVICE_UNAVAILABLE", got.Status, got.Code)
	}
}

func TestZeroRegistry(t *testing.T) {
	var r errs.Registry
	if got := r.Resolve(errs.ErrNotFound); got.Status != 404 || got.Code != "NOT_FOUND" {
		t.Errorf("Resolve(ErrNotFound) = %d %s, want 404 NOT_FOUND", got.Status, got.Code)
	}
	if got := r.Resolve(errors.New("x")); got.Status != 500 || got.Matched {
		t.Errorf("Resolve(unknown) = %d matched=%v, want 500 matched=false", got.Status, got.Matched)
	}
}

func TestResolveNonComparable(t *testing.T) {
	r := newBookingRegistry(t)
	// A node whose type is not comparable must not panic the sentinel lookup.
	err := fmt.Errorf("x: %w", nonComparable{[]int{1}})
	if got := r.Resolve(err); got.Status != 500 {
		t.Errorf("Resolve(non-comparable) = %d, want 500", got.Status)
	}
}

type nonComparable struct{ s []int }

func (nonComparable) Error() string { return "non-comparable" }

func TestResolveCycleBounded(t *testing.T) {
	c := &cyclic{}
	c.next = c
	if got := errs.NewRegistry().Resolve(c); got.Status != 500 {
		t.Errorf("Resolve(cyclic) = %d, want 500", got.Status)
	}
}

type cyclic struct{ next error }

func (*cyclic) Error() string   { return "cyclic" }
func (c *cyclic) Unwrap() error { return c.next }

func TestErrorMethods(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:6379: i/o timeout")
	e := errs.ErrServiceUnavailable.Wrap(cause)
	if !errors.Is(e, errs.ErrServiceUnavailable) {
		t.Errorf("errors.Is(Wrap(cause), ErrServiceUnavailable) = false, want true")
	}
	if !errors.Is(e, cause) {
		t.Errorf("errors.Is(Wrap(cause), cause) = false, want true")
	}
	if errors.Is(e, errs.ErrInternal) {
		t.Errorf("errors.Is(Wrap(cause), ErrInternal) = true, want false")
	}
	want := "SERVICE_UNAVAILABLE: Service temporarily unavailable. Please try again.: dial tcp 10.0.0.7:6379: i/o timeout"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errs.ErrServiceUnavailable.Err != nil {
		t.Errorf("Wrap modified the catalogue entry")
	}
	if got := (&errs.Error{Status: 404}).Error(); got != "NOT_FOUND: Not Found" {
		t.Errorf("Error() = %q, want %q", got, "NOT_FOUND: Not Found")
	}
}

func TestWithDetails(t *testing.T) {
	if errs.WithDetails(nil, "a", "b") != nil {
		t.Errorf("WithDetails(nil) != nil")
	}
	err := errs.WithDetails(&stockError{1, 2}, "a", "b")
	var se *stockError
	if !errors.As(err, &se) || !errors.Is(err, errStock) {
		t.Errorf("WithDetails hides the wrapped error from errors.Is/As")
	}
	if err.Error() != se.Error() {
		t.Errorf("WithDetails(err).Error() = %q, want %q", err.Error(), se.Error())
	}
	kv := []string{"a", "1", "odd"}
	_ = errs.WithDetails(errStock, kv[:2]...)
	_ = errs.WithDetails(errStock, kv...)
	if kv[2] != "odd" {
		t.Errorf("WithDetails modified the caller's slice")
	}
}

func TestFieldErrors(t *testing.T) {
	var fe errs.FieldErrors
	if fe.Err() != nil {
		t.Errorf("empty FieldErrors.Err() != nil")
	}
	fe.Add("zone_id", "required")
	fe.Add("quantity", "must be positive")
	err := fe.Err()
	if err == nil {
		t.Fatal("FieldErrors.Err() = nil with two problems")
	}
	if want := "validation failed: quantity: must be positive; zone_id: required"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
