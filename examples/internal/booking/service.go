package booking

import (
	"container/heap"
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idemkit/idemkit/errs"
)

// Service books seats. It is safe for concurrent use.
type Service struct {
	opts options

	mu        sync.Mutex
	zones     map[string]*Zone
	bookings  map[string]*Booking
	held      map[string]int // seats held per user in active bookings
	deadlines deadlines      // reservations by deadline
}

// New returns a Service with the given zones, each starting with all its
// seats available. It panics when a zone has an empty or duplicate id or a
// negative capacity.
func New(zones []Zone, opts ...Option) *Service {
	s := &Service{
		opts:     options{ttl: DefaultReservationTTL, userLimit: DefaultUserLimit},
		zones:    make(map[string]*Zone, len(zones)),
		bookings: make(map[string]*Booking),
		held:     make(map[string]int),
	}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.now == nil {
		s.opts.now = time.Now
	}
	for _, z := range zones {
		if z.ID == "" || z.Capacity < 0 {
			panic(fmt.Sprintf("booking: New: invalid zone %+v", z))
		}
		if _, dup := s.zones[z.ID]; dup {
			panic(fmt.Sprintf("booking: New: duplicate zone %q", z.ID))
		}
		s.zones[z.ID] = &Zone{ID: z.ID, Capacity: z.Capacity, Available: z.Capacity}
	}
	return s
}

// Reserve reserves quantity seats in zone zoneID for userID. The seats are
// held until the reservation is confirmed, cancelled or expires.
//
// Errors, checked in this order: errs.FieldErrors for a missing zone_id or a
// quantity that is not positive; ErrZoneNotFound; ErrLimitExceeded when the
// user would hold more than the user limit; *InsufficientStockError when the
// zone has fewer seats available. ctx's error is returned when it is done.
func (s *Service) Reserve(ctx context.Context, userID, zoneID string, quantity int) (Booking, error) {
	var problems errs.FieldErrors
	if zoneID == "" {
		problems.Add("zone_id", "required")
	}
	if quantity <= 0 {
		problems.Add("quantity", "must be positive")
	}
	if err := problems.Err(); err != nil {
		return Booking{}, err
	}
	if err := ctx.Err(); err != nil {
		return Booking{}, err
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.now()
	s.expireDue(now)

	z, ok := s.zones[zoneID]
	if !ok {
		return Booking{}, fmt.Errorf("%w: %q", ErrZoneNotFound, zoneID)
	}
	if held := s.held[userID]; quantity > s.opts.userLimit-held {
		return Booking{}, errs.WithDetails(
			fmt.Errorf("%w: user %s holds %d, requested %d", ErrLimitExceeded, userID, held, quantity),
			"limit", strconv.Itoa(s.opts.userLimit),
			"held", strconv.Itoa(held),
			"requested", strconv.Itoa(quantity))
	}
	if z.Available < quantity {
		return Booking{}, &InsufficientStockError{ZoneID: z.ID, Available: z.Available, Requested: quantity}
	}

	b := &Booking{
		ID:        newID(),
		UserID:    userID,
		ZoneID:    z.ID,
		Quantity:  quantity,
		Status:    StatusReserved,
		CreatedAt: now,
		ExpiresAt: now.Add(s.opts.ttl),
	}
	z.Available -= quantity
	s.held[userID] += quantity
	s.bookings[b.ID] = b
	heap.Push(&s.deadlines, deadline{at: b.ExpiresAt, b: b})
	return *b, nil
}

// Confirm confirms userID's reservation bookingID, which keeps its seats
// for good. Errors: ErrBookingNotFound (also for another user's booking),
// ErrBookingExpired, ErrInvalidBookingState when the booking is not RESERVED.
func (s *Service) Confirm(ctx context.Context, userID, bookingID string) (Booking, error) {
	return s.change(ctx, userID, bookingID, "confirm", func(b *Booking) error {
		if b.Status != StatusReserved {
			return invalidState(b, "confirm")
		}
		b.Status = StatusConfirmed
		return nil
	})
}

// Cancel cancels userID's booking bookingID, reserved or confirmed, and
// returns its seats. Errors: ErrBookingNotFound (also for another user's
// booking), ErrBookingExpired, ErrInvalidBookingState when the booking is
// already cancelled.
func (s *Service) Cancel(ctx context.Context, userID, bookingID string) (Booking, error) {
	return s.change(ctx, userID, bookingID, "cancel", func(b *Booking) error {
		if b.Status != StatusReserved && b.Status != StatusConfirmed {
			return invalidState(b, "cancel")
		}
		b.Status = StatusCancelled
		s.release(b)
		return nil
	})
}

// change applies apply to userID's booking bookingID under the lock, after
// expiring what is due. An expired booking is ErrBookingExpired.
func (s *Service) change(ctx context.Context, userID, bookingID, action string, apply func(*Booking) error) (Booking, error) {
	if err := ctx.Err(); err != nil {
		return Booking{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.opts.now())
	b, err := s.owned(userID, bookingID)
	if err != nil {
		return Booking{}, err
	}
	if b.Status == StatusExpired {
		return Booking{}, expired(b)
	}
	if err := apply(b); err != nil {
		return Booking{}, err
	}
	return *b, nil
}

// Booking returns userID's booking bookingID in its current status, or
// ErrBookingNotFound (also for another user's booking).
func (s *Service) Booking(ctx context.Context, userID, bookingID string) (Booking, error) {
	if err := ctx.Err(); err != nil {
		return Booking{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.opts.now())
	b, err := s.owned(userID, bookingID)
	if err != nil {
		return Booking{}, err
	}
	return *b, nil
}

// Zone returns zone zoneID with its current availability, or
// ErrZoneNotFound.
func (s *Service) Zone(ctx context.Context, zoneID string) (Zone, error) {
	if err := ctx.Err(); err != nil {
		return Zone{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireDue(s.opts.now())
	z, ok := s.zones[zoneID]
	if !ok {
		return Zone{}, fmt.Errorf("%w: %q", ErrZoneNotFound, zoneID)
	}
	return *z, nil
}

// owned returns the booking bookingID when it belongs to userID. The caller
// holds s.mu.
func (s *Service) owned(userID, bookingID string) (*Booking, error) {
	b, ok := s.bookings[bookingID]
	if !ok || b.UserID != userID {
		return nil, fmt.Errorf("%w: %q", ErrBookingNotFound, bookingID)
	}
	return b, nil
}

// release returns b's seats to its zone and to its user's allowance. The
// caller holds s.mu and has just moved b out of an active status.
func (s *Service) release(b *Booking) {
	s.zones[b.ZoneID].Available += b.Quantity
	if s.held[b.UserID] -= b.Quantity; s.held[b.UserID] <= 0 {
		delete(s.held, b.UserID)
	}
}

// newID returns a random booking id of 80 bits, such as "bk_qh3v7d2mzc4k5x6a".
func newID() string {
	return "bk_" + strings.ToLower(rand.Text()[:16])
}
