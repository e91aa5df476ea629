// Package errstest is a leak canary for applications that answer errors
// with idemkit: it plants a recognisable secret in the text of technical
// errors, writes them through httpx, and fails the test when the secret
// reaches a response body or header.
//
// Add one test that lists the errors your handlers can return:
//
//	func TestErrorsDoNotLeak(t *testing.T) {
//		errstest.AssertNoLeak(t, nil, // nil: the default registry, as httpx.WriteError
//			booking.ErrInsufficientStock,
//			booking.ErrBookingNotFound,
//			&booking.InsufficientStockError{Available: 5, Requested: 10},
//			&booking.StoreError{Cause: errstest.CanaryError()}, // a type that wraps a cause
//		)
//	}
//
// AssertNoLeak wraps each error in several ways that put [Canary] in its
// text (%w with text before and after, errors.Join, an *errs.Error cause),
// answers each in the standard and in the problem+json format, and checks
// that the canary is absent from the answer but present in the log, that
// the body has the standard shape, and that 5xx answers use their public
// message only. A type whose describe function copies its own or its
// cause's text into the message or details is caught this way.
//
// For a whole handler, make a fake dependency fail with [CanaryError] and
// check the response with [AssertNoCanary].
package errstest
