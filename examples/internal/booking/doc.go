// Package booking is the domain of the demo: seating zones, seat
// reservations that expire, confirmations and cancellations, and a limit on
// the seats one user may hold. It knows nothing about HTTP; its errors are
// registered once with package errs, so the API layer simply returns them.
//
// # Rules
//
// A reservation takes seats from a zone at once and holds them until it is
// confirmed, cancelled or expires (after the reservation TTL). Confirming a
// reservation keeps the seats for good; cancelling (a reservation or a
// confirmed booking) returns them; an expired reservation returns them too.
// A user may hold at most the user limit of seats across active bookings
// (RESERVED or CONFIRMED).
//
// Reserve checks, in order: the input (FieldErrors), the zone (ErrZoneNotFound),
// the user's limit (ErrLimitExceeded), then the zone's stock
// (*InsufficientStockError). The limit comes first because it depends only on
// the caller: a request over the limit fails the same way however many seats
// are left, while stock changes with everyone else's bookings.
//
// Status changes:
//
//	RESERVED  --Confirm-->  CONFIRMED
//	RESERVED  --Cancel--->  CANCELLED   (seats return)
//	CONFIRMED --Cancel--->  CANCELLED   (seats return)
//	RESERVED  --TTL------>  EXPIRED     (seats return)
//
// Any other change is ErrInvalidBookingState; confirming or cancelling an
// expired reservation is ErrBookingExpired.
//
// # Expiry
//
// Expiry is lazy: every call first expires the reservations that are due, in
// order of their deadline, so a zone's Available never counts seats of an
// expired reservation. No goroutine runs in the background. The clock is an
// option (WithClock), so tests move time instead of sleeping.
//
// # Errors
//
// Importing the package registers its errors in errs' default registry:
//
//	ErrZoneNotFound          404 ZONE_NOT_FOUND
//	ErrBookingNotFound       404 BOOKING_NOT_FOUND (also another user's booking)
//	ErrBookingExpired        410 BOOKING_EXPIRED
//	ErrInvalidBookingState   409 INVALID_BOOKING_STATE, details status and action
//	ErrLimitExceeded         400 LIMIT_EXCEEDED, details limit, held and requested
//	*InsufficientStockError  409 INSUFFICIENT_STOCK, details available, requested and zone_id
//	errs.FieldErrors         400 VALIDATION_ERROR, one detail per field
//
// A Service is safe for concurrent use; one mutex guards its state, which is
// kept in memory. A real service would keep it in a database, and the same
// errors would carry over unchanged.
package booking
