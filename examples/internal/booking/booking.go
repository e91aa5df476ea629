package booking

import "time"

// Status is the lifecycle state of a booking.
type Status string

// The statuses of a booking.
const (
	// StatusReserved: seats are held until the reservation expires.
	StatusReserved Status = "RESERVED"
	// StatusConfirmed: seats are kept for good.
	StatusConfirmed Status = "CONFIRMED"
	// StatusCancelled: the booking was cancelled and its seats returned.
	StatusCancelled Status = "CANCELLED"
	// StatusExpired: the reservation was not confirmed in time; its seats
	// returned.
	StatusExpired Status = "EXPIRED"
)

// Booking is a user's booking of seats in one zone. Service methods return
// copies: changing one has no effect on the service.
type Booking struct {
	// ID identifies the booking.
	ID string
	// UserID is the user who made the booking; only they can see or
	// change it.
	UserID string
	// ZoneID is the zone the seats are in.
	ZoneID string
	// Quantity is the number of seats.
	Quantity int
	// Status is the booking's current status.
	Status Status
	// CreatedAt is when the reservation was made.
	CreatedAt time.Time
	// ExpiresAt is when the reservation expires unless confirmed.
	ExpiresAt time.Time
}

// Zone is a seating zone.
type Zone struct {
	// ID identifies the zone.
	ID string
	// Capacity is the number of seats in the zone.
	Capacity int
	// Available is the number of seats not held by an active booking. It is
	// ignored by New, which starts every zone with all its seats available.
	Available int
}

// DemoZones returns the zones the demo starts with: zone-a with 1000 seats
// and zone-b with 10.
func DemoZones() []Zone {
	return []Zone{
		{ID: "zone-a", Capacity: 1000},
		{ID: "zone-b", Capacity: 10},
	}
}
