package api

import (
	"net/http"
	"time"

	"github.com/idemkit/idemkit/examples/internal/booking"
	"github.com/idemkit/idemkit/httpx"
)

// reserveRequest is the body of POST /api/v1/bookings/reserve.
type reserveRequest struct {
	ZoneID   string `json:"zone_id"`
	Quantity int    `json:"quantity"`
}

// bookingResponse is a booking as the API shows it. expires_at is set while
// the booking is RESERVED (when the seats will be released) or EXPIRED.
type bookingResponse struct {
	BookingID string  `json:"booking_id"`
	ZoneID    string  `json:"zone_id"`
	Quantity  int     `json:"quantity"`
	Status    string  `json:"status"`
	ExpiresAt *string `json:"expires_at,omitempty"`
}

func newBookingResponse(b booking.Booking) bookingResponse {
	resp := bookingResponse{BookingID: b.ID, ZoneID: b.ZoneID, Quantity: b.Quantity, Status: string(b.Status)}
	if b.Status == booking.StatusReserved || b.Status == booking.StatusExpired {
		// Whole seconds, rounded down: a client never believes a
		// reservation lives longer than it does.
		at := b.ExpiresAt.UTC().Format(time.RFC3339)
		resp.ExpiresAt = &at
	}
	return resp
}

func (h *handlers) reserve(w http.ResponseWriter, r *http.Request) error {
	var req reserveRequest
	if err := httpx.DecodeJSON(r, &req, httpx.WithDisallowUnknownFields()); err != nil {
		return err
	}
	b, err := h.svc.Reserve(r.Context(), UserID(r.Context()), req.ZoneID, req.Quantity)
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBookingResponse(b))
}

func (h *handlers) confirm(w http.ResponseWriter, r *http.Request) error {
	b, err := h.svc.Confirm(r.Context(), UserID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBookingResponse(b))
}

func (h *handlers) cancel(w http.ResponseWriter, r *http.Request) error {
	b, err := h.svc.Cancel(r.Context(), UserID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBookingResponse(b))
}

func (h *handlers) getBooking(w http.ResponseWriter, r *http.Request) error {
	b, err := h.svc.Booking(r.Context(), UserID(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return httpx.WriteJSON(w, http.StatusOK, newBookingResponse(b))
}
