package booking_test

import (
	"context"
	"fmt"
	"time"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/booking"
)

// A reservation holds seats until it is confirmed; an error resolves to the
// public answer an HTTP handler writes.
func Example() {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := booking.New(booking.DemoZones(), booking.WithClock(func() time.Time { return now }))

	b, _ := s.Reserve(ctx, "alice", "zone-b", 4)
	fmt.Println(b.Status, b.Quantity, b.ExpiresAt.Format(time.RFC3339))

	b, _ = s.Confirm(ctx, "alice", b.ID)
	z, _ := s.Zone(ctx, "zone-b")
	fmt.Println(b.Status, z.Available)

	_, err := s.Reserve(ctx, "bob", "zone-b", 8)
	res := errs.Resolve(err)
	fmt.Println(res.Status, res.Code, res.Details)
	// Output:
	// RESERVED 4 2026-03-01T12:10:00Z
	// CONFIRMED 6
	// 409 INSUFFICIENT_STOCK map[available:6 requested:8 zone_id:zone-b]
}
