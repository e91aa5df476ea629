package main

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/examples/internal/booking"
)

// bookingView is a booking as the API shows it, as the booking demo shows
// it: expires_at is set while the booking is RESERVED or EXPIRED.
type bookingView struct {
	BookingID string  `json:"booking_id"`
	ZoneID    string  `json:"zone_id"`
	Quantity  int     `json:"quantity"`
	Status    string  `json:"status"`
	ExpiresAt *string `json:"expires_at,omitempty"`
}

// zoneView is a zone as the API shows it.
type zoneView struct {
	ZoneID    string `json:"zone_id"`
	Capacity  int    `json:"capacity"`
	Available int    `json:"available"`
}

func viewOf(b booking.Booking) bookingView {
	v := bookingView{BookingID: b.ID, ZoneID: b.ZoneID, Quantity: b.Quantity, Status: string(b.Status)}
	if b.Status == booking.StatusReserved || b.Status == booking.StatusExpired {
		at := b.ExpiresAt.UTC().Format(time.RFC3339)
		v.ExpiresAt = &at
	}
	return v
}

// bookings are the booking routes over the demo's booking service; its
// errors are registered with errs, so a handler records one with c.Error
// and idemgin answers it with its status and code.
type bookings struct{ svc *booking.Service }

// answer writes b, or records err for idemgin to answer.
func answer(c *gin.Context, b booking.Booking, err error) {
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, viewOf(b))
}

// POST /api/v1/bookings/reserve {"zone_id","quantity"}
func (h bookings) reserve(c *gin.Context) {
	var req struct {
		ZoneID   string `json:"zone_id"`
		Quantity int    `json:"quantity"`
	}
	if !decode(c, &req) {
		return
	}
	b, err := h.svc.Reserve(c.Request.Context(), c.GetString(headerUserID), req.ZoneID, req.Quantity)
	answer(c, b, err)
}

// POST /api/v1/bookings/:id/confirm: RESERVED -> CONFIRMED.
func (h bookings) confirm(c *gin.Context) {
	b, err := h.svc.Confirm(c.Request.Context(), c.GetString(headerUserID), c.Param("id"))
	answer(c, b, err)
}

// POST /api/v1/bookings/:id/cancel: the seats return.
func (h bookings) cancel(c *gin.Context) {
	b, err := h.svc.Cancel(c.Request.Context(), c.GetString(headerUserID), c.Param("id"))
	answer(c, b, err)
}

// GET /api/v1/bookings/:id
func (h bookings) get(c *gin.Context) {
	b, err := h.svc.Booking(c.Request.Context(), c.GetString(headerUserID), c.Param("id"))
	answer(c, b, err)
}

// GET /api/v1/zones/:id
func (h bookings) zone(c *gin.Context) {
	z, err := h.svc.Zone(c.Request.Context(), c.Param("id"))
	if err != nil {
		c.Error(err)
		return
	}
	c.JSON(http.StatusOK, zoneView{ZoneID: z.ID, Capacity: z.Capacity, Available: z.Available})
}
