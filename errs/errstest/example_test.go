package errstest_test

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/errs/errstest"
	"github.com/idemkit/idemkit/httpx"
)

// In an application's test suite, list the errors handlers can return.
func ExampleAssertNoLeak() {
	ErrBookingNotFound := errors.New("booking: not found")
	reg := errs.NewRegistry()
	_ = reg.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")

	t := printer{} // in a real test: the *testing.T of TestErrorsDoNotLeak
	errstest.AssertNoLeak(t, &httpx.ErrorWriter{Registry: reg},
		ErrBookingNotFound,
		fmt.Errorf("insert booking: %w", errstest.CanaryError()),
	)

	// A body that carries the canary is reported.
	errstest.AssertNoCanary(t, nil, []byte(`{"error":"INTERNAL_ERROR","message":"dial `+errstest.Canary+`"}`))
	// Output:
	// FAIL: errstest: the canary leaked into the body: {"error":"INTERNAL_ERROR","message":"dial postgres://app:canary-7c1e0f3a@10.0.0.7:5432/bookings"}
}

// printer stands in for *testing.T in this example.
type printer struct{}

func (printer) Helper() {}
func (printer) Errorf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
}
