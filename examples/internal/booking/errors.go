package booking

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/idemkit/idemkit/errs"
)

// Errors of the booking domain. Each is registered with errs, so an HTTP
// handler that returns one (wrapped or not) answers with its status and code.
var (
	// ErrZoneNotFound is 404 ZONE_NOT_FOUND.
	ErrZoneNotFound = errors.New("booking: zone not found")
	// ErrBookingNotFound is 404 BOOKING_NOT_FOUND. It is also the answer for
	// another user's booking, so that ids of other users cannot be probed.
	ErrBookingNotFound = errors.New("booking: booking not found")
	// ErrBookingExpired is 410 BOOKING_EXPIRED: the reservation was not
	// confirmed in time and its seats are released.
	ErrBookingExpired = errors.New("booking: reservation expired")
	// ErrInvalidBookingState is 409 INVALID_BOOKING_STATE: the booking's
	// status does not allow the change (e.g. confirming a cancelled booking).
	ErrInvalidBookingState = errors.New("booking: invalid booking state")
	// ErrLimitExceeded is 400 LIMIT_EXCEEDED: the reservation would take the
	// user over the per-user seat limit.
	ErrLimitExceeded = errors.New("booking: per-user seat limit exceeded")
	// ErrInsufficientStock is matched by every *InsufficientStockError with
	// errors.Is, for callers that do not need the numbers.
	ErrInsufficientStock = errors.New("booking: insufficient stock")
)

// InsufficientStockError reports that a zone has fewer seats available than
// requested. It answers 409 INSUFFICIENT_STOCK with details available,
// requested and zone_id.
type InsufficientStockError struct {
	// ZoneID is the zone asked for.
	ZoneID string
	// Available is the number of seats that were available.
	Available int
	// Requested is the number of seats asked for.
	Requested int
}

// Error returns a text for logs.
func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("booking: insufficient stock in %s: %d available, %d requested",
		e.ZoneID, e.Available, e.Requested)
}

// Is reports whether target is ErrInsufficientStock.
func (e *InsufficientStockError) Is(target error) bool {
	return target == ErrInsufficientStock
}

func init() {
	errs.Register(ErrZoneNotFound, http.StatusNotFound, "ZONE_NOT_FOUND", "Zone not found")
	errs.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")
	errs.Register(ErrBookingExpired, http.StatusGone, "BOOKING_EXPIRED", "The reservation has expired")
	errs.Register(ErrInvalidBookingState, http.StatusConflict, "INVALID_BOOKING_STATE",
		"The booking's status does not allow this action")
	errs.Register(ErrLimitExceeded, http.StatusBadRequest, "LIMIT_EXCEEDED",
		"Per-user seat limit exceeded")
	errs.RegisterType(http.StatusConflict, "INSUFFICIENT_STOCK",
		func(e *InsufficientStockError) (string, map[string]string) {
			return "Not enough seats available", map[string]string{
				"available": strconv.Itoa(e.Available),
				"requested": strconv.Itoa(e.Requested),
				"zone_id":   e.ZoneID,
			}
		})
}

// invalidState returns ErrInvalidBookingState for action on b, with details.
func invalidState(b *Booking, action string) error {
	return errs.WithDetails(
		fmt.Errorf("%w: cannot %s booking %s in status %s", ErrInvalidBookingState, action, b.ID, b.Status),
		"status", string(b.Status), "action", action)
}

// expired returns ErrBookingExpired for b, with its deadline as detail.
func expired(b *Booking) error {
	return errs.WithDetails(fmt.Errorf("%w: booking %s", ErrBookingExpired, b.ID),
		"expired_at", b.ExpiresAt.UTC().Format(time.RFC3339))
}
