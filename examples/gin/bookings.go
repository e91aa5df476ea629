package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/errs"
)

// Errors of the booking domain, registered with errs: a handler records one
// with c.Error and idemgin answers it with its status and code.
var (
	// ErrZoneNotFound is 404 ZONE_NOT_FOUND.
	ErrZoneNotFound = errors.New("booking: zone not found")
	// ErrBookingNotFound is 404 BOOKING_NOT_FOUND, also for another user's
	// booking, so that ids cannot be probed.
	ErrBookingNotFound = errors.New("booking: booking not found")
	// ErrInvalidBookingState is 409 INVALID_BOOKING_STATE.
	ErrInvalidBookingState = errors.New("booking: invalid booking state")
)

// InsufficientStockError is 409 INSUFFICIENT_STOCK with details available,
// requested and zone_id.
type InsufficientStockError struct {
	ZoneID               string
	Available, Requested int
}

func (e *InsufficientStockError) Error() string {
	return fmt.Sprintf("booking: %s has %d seats, %d requested", e.ZoneID, e.Available, e.Requested)
}

func init() {
	errs.Register(ErrZoneNotFound, http.StatusNotFound, "ZONE_NOT_FOUND", "Zone not found")
	errs.Register(ErrBookingNotFound, http.StatusNotFound, "BOOKING_NOT_FOUND", "Booking not found")
	errs.Register(ErrInvalidBookingState, http.StatusConflict, "INVALID_BOOKING_STATE",
		"The booking's status does not allow this action")
	errs.RegisterType(http.StatusConflict, "INSUFFICIENT_STOCK",
		func(e *InsufficientStockError) (string, map[string]string) {
			return "Not enough seats available", map[string]string{
				"available": strconv.Itoa(e.Available),
				"requested": strconv.Itoa(e.Requested),
				"zone_id":   e.ZoneID,
			}
		})
}

// The statuses of a booking.
const (
	statusReserved  = "RESERVED"
	statusConfirmed = "CONFIRMED"
	statusCancelled = "CANCELLED"
)

type booking struct {
	BookingID string `json:"booking_id"`
	ZoneID    string `json:"zone_id"`
	Quantity  int    `json:"quantity"`
	Status    string `json:"status"`
	user      string
}

type zone struct {
	ZoneID    string `json:"zone_id"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
}

// service books seats; it is safe for concurrent use.
type service struct {
	mu       sync.Mutex
	zones    map[string]*zone
	bookings map[string]*booking
}

func newService() *service {
	return &service{
		zones: map[string]*zone{
			"zone-a": {ZoneID: "zone-a", Capacity: 1000, Available: 1000},
			"zone-b": {ZoneID: "zone-b", Capacity: 10, Available: 10},
		},
		bookings: make(map[string]*booking),
	}
}

// POST /api/v1/bookings/reserve {"zone_id","quantity"}
func (s *service) reserve(c *gin.Context) {
	var req struct {
		ZoneID   string `json:"zone_id"`
		Quantity int    `json:"quantity"`
	}
	if !decode(c, &req) {
		return
	}
	var problems errs.FieldErrors
	if req.ZoneID == "" {
		problems.Add("zone_id", "required")
	}
	if req.Quantity <= 0 {
		problems.Add("quantity", "must be positive")
	}
	if err := problems.Err(); err != nil {
		c.Error(err)
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[req.ZoneID]
	switch {
	case !ok:
		c.Error(fmt.Errorf("%w: %q", ErrZoneNotFound, req.ZoneID))
		return
	case z.Available < req.Quantity:
		c.Error(&InsufficientStockError{ZoneID: z.ZoneID, Available: z.Available, Requested: req.Quantity})
		return
	}
	z.Available -= req.Quantity
	b := &booking{BookingID: "bk_" + strings.ToLower(rand.Text()[:16]), ZoneID: z.ZoneID,
		Quantity: req.Quantity, Status: statusReserved, user: c.GetString(headerUserID)}
	s.bookings[b.BookingID] = b
	c.JSON(http.StatusOK, b)
}

// POST /api/v1/bookings/:id/confirm: RESERVED -> CONFIRMED.
func (s *service) confirm(c *gin.Context) {
	s.change(c, "confirm", func(b *booking) bool {
		if b.Status != statusReserved {
			return false
		}
		b.Status = statusConfirmed
		return true
	})
}

// POST /api/v1/bookings/:id/cancel: RESERVED or CONFIRMED -> CANCELLED,
// the seats return.
func (s *service) cancel(c *gin.Context) {
	s.change(c, "cancel", func(b *booking) bool {
		if b.Status == statusCancelled {
			return false
		}
		b.Status = statusCancelled
		s.zones[b.ZoneID].Available += b.Quantity
		return true
	})
}

// change applies apply to the caller's booking :id under the lock; apply
// reports whether the booking's status allows action.
func (s *service) change(c *gin.Context, action string, apply func(*booking) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.owned(c)
	if err != nil {
		c.Error(err)
		return
	}
	if !apply(b) {
		c.Error(errs.WithDetails(fmt.Errorf("%w: cannot %s %s", ErrInvalidBookingState, action, b.BookingID),
			"status", b.Status, "action", action))
		return
	}
	c.JSON(http.StatusOK, b)
}

// GET /api/v1/bookings/:id
func (s *service) get(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.owned(c)
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, b)
}

// GET /api/v1/zones/:id
func (s *service) zone(c *gin.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z, ok := s.zones[c.Param("id")]
	if !ok {
		c.Error(fmt.Errorf("%w: %q", ErrZoneNotFound, c.Param("id")))
		return
	}
	c.JSON(http.StatusOK, z)
}

// owned returns the booking :id when it belongs to the caller. The caller
// holds s.mu.
func (s *service) owned(c *gin.Context) (*booking, error) {
	id := c.Param("id")
	b, ok := s.bookings[id]
	if !ok || b.user != c.GetString(headerUserID) {
		return nil, fmt.Errorf("%w: %q", ErrBookingNotFound, id)
	}
	return b, nil
}
