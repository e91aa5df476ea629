package httpx_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/errs/errstest"
	"github.com/idemkit/idemkit/httpx"
)

// TestNoLeakCanary runs the errstest leak canary over registered,
// unregistered, built-in and carried errors.
func TestNoLeakCanary(t *testing.T) {
	ew := &httpx.ErrorWriter{Registry: bookingRegistry(t)}
	errstest.AssertNoLeak(t, ew,
		errStockT,
		errStoreT,
		errs.WithDetails(errNotFound, "booking_id", "42"),
		fmt.Errorf("insert booking: %w", errstest.CanaryError()),
		errors.New("pq: relation \"bookings\" does not exist"),
		context.Canceled,
		context.DeadlineExceeded,
		errs.FieldErrors{"quantity": "must be positive"},
		errs.ErrMalformedJSON.Wrap(errstest.CanaryError()),
	)
}
