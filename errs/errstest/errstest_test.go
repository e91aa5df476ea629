package errstest_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/errs/errstest"
	"github.com/idemkit/idemkit/httpx"
)

// recordingT captures failures instead of failing the real test.
type recordingT struct {
	failures []string
}

func (r *recordingT) Helper() {}
func (r *recordingT) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

var (
	errNotFound = errors.New("booking: not found")
	errStore    = errors.New("booking: store unavailable")
)

// storeError wraps a dependency's error.
type storeError struct{ cause error }

func (e *storeError) Error() string { return "store: " + e.cause.Error() }
func (e *storeError) Unwrap() error { return e.cause }

func registry(t *testing.T, leakyDescribe bool) *errs.Registry {
	t.Helper()
	r := errs.NewRegistry()
	if err := r.Register(errNotFound, 404, "BOOKING_NOT_FOUND", "Booking not found"); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(errStore, 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable. Please try again."); err != nil {
		t.Fatal(err)
	}
	describe := func(e *storeError) (string, map[string]string) { return "Storage problem", nil }
	if leakyDescribe {
		// A bug the canary must catch: the cause's text copied into details.
		describe = func(e *storeError) (string, map[string]string) {
			return "Storage problem", map[string]string{"cause": e.cause.Error()}
		}
	}
	if err := errs.RegisterTypeIn(r, 503, "STORE_ERROR", describe); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAssertNoLeakPasses(t *testing.T) {
	ew := &httpx.ErrorWriter{Registry: registry(t, false)}
	rt := &recordingT{}
	errstest.AssertNoLeak(rt, ew,
		errNotFound,
		errStore,
		fmt.Errorf("get: %w", errNotFound),
		&storeError{cause: errstest.CanaryError()},
		errors.New("pq: unregistered failure"),
		errs.FieldErrors{"quantity": "must be positive"},
		errs.WithDetails(errNotFound, "booking_id", "42"),
	)
	for _, f := range rt.failures {
		t.Error(f)
	}
	if ew.Logger != nil || ew.DisableProblemDetails {
		t.Errorf("AssertNoLeak modified the ErrorWriter")
	}
}

func TestAssertNoLeakDefaultRegistry(t *testing.T) {
	rt := &recordingT{}
	errstest.AssertNoLeak(rt, nil, errs.ErrNotFound, errors.New("secret sauce"))
	for _, f := range rt.failures {
		t.Error(f)
	}
}

func TestAssertNoLeakCatchesLeakyDescribe(t *testing.T) {
	rt := &recordingT{}
	errstest.AssertNoLeak(rt, &httpx.ErrorWriter{Registry: registry(t, true)}, &storeError{cause: errstest.CanaryError()})
	if len(rt.failures) == 0 {
		t.Fatal("AssertNoLeak(leaky describe) reported nothing, want a leak")
	}
	if !strings.Contains(rt.failures[0], "canary leaked into the body") {
		t.Errorf("AssertNoLeak failure = %q, want a canary leak", rt.failures[0])
	}
}

func TestAssertNoCanary(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		body   string
		fail   bool
	}{
		{"clean", http.Header{"Content-Type": {"application/json"}}, `{"error":"X"}`, false},
		{"body", nil, `{"message":"dial ` + errstest.Canary + `"}`, true},
		{"header", http.Header{"X-Debug": {errstest.Canary}}, `{}`, true},
		{"password alone", nil, `canary-7c1e0f3a`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := &recordingT{}
			errstest.AssertNoCanary(rt, tt.header, []byte(tt.body))
			if got := len(rt.failures) > 0; got != tt.fail {
				t.Errorf("AssertNoCanary(%v, %q) failed = %v, want %v", tt.header, tt.body, got, tt.fail)
			}
		})
	}
}
