// Package errs maps the errors of an application to public HTTP answers:
// a status, a stable machine code, a public message and optional details.
// Register each domain error once; httpx.WriteError then answers every
// endpoint's errors in one standard JSON body, and never writes the text of
// an error it does not know.
//
// # Registering errors
//
// Sentinel errors are matched with errors.Is semantics, through %w wrapping
// and errors.Join:
//
//	var ErrBookingNotFound = errors.New("booking: not found")
//
//	func init() {
//		errs.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")
//	}
//
// Types are matched with errors.As semantics and describe themselves:
//
//	errs.RegisterType(http.StatusConflict, "INSUFFICIENT_STOCK",
//		func(e *InsufficientStockError) (string, map[string]string) {
//			return "Not enough seats available", map[string]string{
//				"available": strconv.Itoa(e.Available), "requested": strconv.Itoa(e.Requested)}
//		})
//
// The package-level functions use the default registry ([Default]) and panic
// on a duplicate or invalid registration, which is a programming error best
// found at start-up. A [Registry] of your own ([NewRegistry]) returns those
// errors instead and shares nothing with the default one; it is what tests
// and libraries should use. Registries are safe for concurrent use and
// lookups take no lock.
//
// # Errors that carry their own mapping
//
// An [*Error] needs no registration: library code returns
// errs.New(409, "SEAT_TAKEN", "Seat already taken") or one of the built-in
// catalogue ([ErrServiceUnavailable], [ErrValidation], ...), optionally with
// an internal cause: errs.ErrServiceUnavailable.Wrap(err). [FieldErrors]
// reports several field problems at once as 400 VALIDATION_ERROR.
// [WithDetails] attaches public details to any error without hiding it from
// errors.Is and errors.As.
//
// # Which registration wins
//
// [Registry.Resolve] walks the error tree in errors.Is order and the first
// matching node wins, so the outermost match is the most specific one. When
// nothing matches, built-in mappings for context.Canceled,
// context.DeadlineExceeded and *http.MaxBytesError apply; anything else is a
// technical error: 500 INTERNAL_ERROR "Something went wrong. Please try
// again.", whose text is logged and never written. [Registry.Explain]
// prints which rule matched and why.
//
// # Testing for leaks
//
// Package errs/errstest plants a canary secret in technical errors and
// fails a test when the canary reaches a response body or header.
package errs
