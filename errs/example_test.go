package errs_test

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"

	"github.com/idemkit/idemkit/errs"
)

// The booking domain's errors, declared once in the domain package.
var (
	ErrInsufficientStock    = errors.New("booking: insufficient stock")
	ErrUserLimitExceeded    = errors.New("booking: user limit exceeded")
	ErrBookingNotFound      = errors.New("booking: not found")
	ErrBookingExpired       = errors.New("booking: expired")
	ErrSeatStoreUnavailable = errors.New("booking: seat store unavailable")
)

// InsufficientStockError says how many seats were left.
type InsufficientStockError struct{ Available, Requested int }

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("booking: insufficient stock: available %d, requested %d", e.Available, e.Requested)
}

// Register the booking errors once, then resolve whatever a handler returns.
func Example() {
	reg := errs.NewRegistry() // errs.Register does the same on the default registry
	_ = reg.Register(ErrInsufficientStock, http.StatusConflict, "INSUFFICIENT_STOCK", "Not enough seats available")
	_ = reg.Register(ErrUserLimitExceeded, http.StatusBadRequest, "LIMIT_EXCEEDED", "Booking limit per user exceeded")
	_ = reg.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")
	_ = reg.Register(ErrBookingExpired, http.StatusGone, "BOOKING_EXPIRED", "Booking has expired")
	_ = reg.Register(ErrSeatStoreUnavailable, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE",
		"Service temporarily unavailable. Please try again.")

	valkeyTimeout := fmt.Errorf("valkey GET seats:42 at 10.0.0.7:6379: %w", os.ErrDeadlineExceeded)
	for _, err := range []error{
		errs.WithDetails(fmt.Errorf("reserve: %w", ErrInsufficientStock), "available", "5", "requested", "10"),
		fmt.Errorf("user 7: %w", ErrUserLimitExceeded),
		fmt.Errorf("get booking 42: %w", ErrBookingNotFound),
		fmt.Errorf("confirm booking 42: %w", ErrBookingExpired),
		fmt.Errorf("insert booking: %w", errors.New("pq: connection refused (password=hunter2)")),
		fmt.Errorf("%w: %w", ErrSeatStoreUnavailable, valkeyTimeout),
	} {
		res := reg.Resolve(err)
		fmt.Println(res.Status, res.Code, res.Message, res.Details)
	}
	// Output:
	// 409 INSUFFICIENT_STOCK Not enough seats available map[available:5 requested:10]
	// 400 LIMIT_EXCEEDED Booking limit per user exceeded map[]
	// 404 BOOKING_NOT_FOUND Booking not found map[]
	// 410 BOOKING_EXPIRED Booking has expired map[]
	// 500 INTERNAL_ERROR Something went wrong. Please try again. map[]
	// 503 SERVICE_UNAVAILABLE Service temporarily unavailable. Please try again. map[]
}

// A typed error produces its message and details from its fields.
func ExampleRegisterTypeIn() {
	reg := errs.NewRegistry() // errs.RegisterType does the same on the default registry
	_ = errs.RegisterTypeIn(reg, http.StatusConflict, "INSUFFICIENT_STOCK",
		func(e *InsufficientStockError) (string, map[string]string) {
			return "Not enough seats available", map[string]string{
				"available": strconv.Itoa(e.Available),
				"requested": strconv.Itoa(e.Requested),
			}
		})

	err := fmt.Errorf("reserve zone B: %w", &InsufficientStockError{Available: 5, Requested: 10})
	res := reg.Resolve(err)
	fmt.Println(res.Status, res.Code, res.Message, res.Details)
	// Output:
	// 409 INSUFFICIENT_STOCK Not enough seats available map[available:5 requested:10]
}

// FieldErrors reports several field problems at once.
func ExampleFieldErrors() {
	quantity, zoneID := 0, ""
	var problems errs.FieldErrors
	if quantity <= 0 {
		problems.Add("quantity", "must be positive")
	}
	if zoneID == "" {
		problems.Add("zone_id", "required")
	}
	if err := problems.Err(); err != nil {
		res := errs.NewRegistry().Resolve(err)
		fmt.Println(res.Status, res.Code, res.Message, res.Details)
	}
	// Output:
	// 400 VALIDATION_ERROR Invalid request map[quantity:must be positive zone_id:required]
}

// Library code returns an *errs.Error: it needs no registration, and its
// internal cause is never part of the answer.
func ExampleError_Wrap() {
	cause := fmt.Errorf("dial tcp 10.0.0.7:6379: %w", os.ErrDeadlineExceeded)
	err := errs.ErrServiceUnavailable.Wrap(cause)

	res := errs.NewRegistry().Resolve(err)
	fmt.Println(res.Status, res.Code, res.Message)
	fmt.Println(errors.Is(err, errs.ErrServiceUnavailable), errors.Is(err, os.ErrDeadlineExceeded))
	// Output:
	// 503 SERVICE_UNAVAILABLE Service temporarily unavailable. Please try again.
	// true true
}

// Explain tells which registration matched and why.
func ExampleRegistry_Explain() {
	reg := errs.NewRegistry()
	_ = reg.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")

	err := fmt.Errorf("get booking: %w", errs.WithDetails(ErrBookingNotFound, "booking_id", "42"))
	fmt.Print(reg.Explain(err))
	// Output:
	// error: get booking: booking: not found
	// answer: 404 BOOKING_NOT_FOUND "Booking not found" details: booking_id="42"
	// matched: sentinel registration #1 "booking: not found" → 404 BOOKING_NOT_FOUND (the node is the registered sentinel (==)), at node [2] (depth 2), searching the registry
	// details: merged from WithDetails at depth 1 (outermost wins)
	// tree (errors.Is order):
	//   [0] *fmt.wrapError "get booking: booking: not found"
	//   [1]   *errs.detailsError "booking: not found" details=booking_id
	//   [2]     *errors.errorString "booking: not found"  <- match
}

// ForStatus gives a status-only error the catalogue's code and message.
func ExampleForStatus() {
	for _, status := range []int{413, 404, 409} {
		e := errs.ForStatus(status)
		res := errs.Default().Resolve(e)
		fmt.Println(res.Status, res.Code, res.Message)
	}
	// Output:
	// 413 PAYLOAD_TOO_LARGE Request body is too large
	// 404 NOT_FOUND Not found
	// 409 CONFLICT Conflict
}
