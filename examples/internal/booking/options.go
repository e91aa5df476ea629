package booking

import (
	"fmt"
	"time"
)

// Defaults of New.
const (
	// DefaultReservationTTL is how long a reservation holds its seats.
	DefaultReservationTTL = 10 * time.Minute
	// DefaultUserLimit is the most seats one user may hold across active
	// bookings.
	DefaultUserLimit = 10
)

// Option configures New.
type Option func(*options)

type options struct {
	now       func() time.Time
	ttl       time.Duration
	userLimit int
}

// WithClock sets the clock used for reservation deadlines and expiry; the
// default is time.Now. Tests pass a clock they can move. It panics if now is
// nil.
func WithClock(now func() time.Time) Option {
	if now == nil {
		panic("booking: WithClock: nil clock")
	}
	return func(o *options) { o.now = now }
}

// WithReservationTTL sets how long a reservation holds its seats; the default
// is DefaultReservationTTL. It panics if d is not positive.
func WithReservationTTL(d time.Duration) Option {
	if d <= 0 {
		panic(fmt.Sprintf("booking: WithReservationTTL: %v is not positive", d))
	}
	return func(o *options) { o.ttl = d }
}

// WithUserLimit sets the most seats one user may hold across active bookings;
// the default is DefaultUserLimit. It panics if n is not positive.
func WithUserLimit(n int) Option {
	if n <= 0 {
		panic(fmt.Sprintf("booking: WithUserLimit: %d is not positive", n))
	}
	return func(o *options) { o.userLimit = n }
}
