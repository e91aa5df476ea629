package booking_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/booking"
)

func TestReserveErrors(t *testing.T) {
	tests := []struct {
		name        string
		setup       func(t *testing.T, s *booking.Service)
		zone        string
		quantity    int
		wantIs      error
		wantStatus  int
		wantCode    string
		wantDetails map[string]string
	}{
		{
			name: "zero quantity", zone: "zone-a", quantity: 0,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_ERROR",
			wantDetails: map[string]string{"quantity": "must be positive"},
		},
		{
			name: "negative quantity", zone: "zone-a", quantity: -3,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_ERROR",
			wantDetails: map[string]string{"quantity": "must be positive"},
		},
		{
			name: "missing zone and quantity", zone: "", quantity: 0,
			wantStatus: http.StatusBadRequest, wantCode: "VALIDATION_ERROR",
			wantDetails: map[string]string{"quantity": "must be positive", "zone_id": "required"},
		},
		{
			name: "unknown zone", zone: "zone-x", quantity: 1, wantIs: booking.ErrZoneNotFound,
			wantStatus: http.StatusNotFound, wantCode: "ZONE_NOT_FOUND",
		},
		{
			name: "over the limit in one request", zone: "zone-a", quantity: 11, wantIs: booking.ErrLimitExceeded,
			wantStatus: http.StatusBadRequest, wantCode: "LIMIT_EXCEEDED",
			wantDetails: map[string]string{"limit": "10", "held": "0", "requested": "11"},
		},
		{
			name: "over the limit with seats held",
			setup: func(t *testing.T, s *booking.Service) {
				mustReserve(t, s, "alice", "zone-a", 8)
			},
			zone: "zone-b", quantity: 3, wantIs: booking.ErrLimitExceeded,
			wantStatus: http.StatusBadRequest, wantCode: "LIMIT_EXCEEDED",
			wantDetails: map[string]string{"limit": "10", "held": "8", "requested": "3"},
		},
		{
			name: "limit is checked before stock",
			setup: func(t *testing.T, s *booking.Service) {
				mustReserve(t, s, "bob", "zone-b", 10)
			},
			zone: "zone-b", quantity: 11, wantIs: booking.ErrLimitExceeded,
			wantStatus: http.StatusBadRequest, wantCode: "LIMIT_EXCEEDED",
			wantDetails: map[string]string{"limit": "10", "held": "0", "requested": "11"},
		},
		{
			name: "insufficient stock",
			setup: func(t *testing.T, s *booking.Service) {
				mustReserve(t, s, "bob", "zone-b", 8)
			},
			zone: "zone-b", quantity: 5, wantIs: booking.ErrInsufficientStock,
			wantStatus: http.StatusConflict, wantCode: "INSUFFICIENT_STOCK",
			wantDetails: map[string]string{"available": "2", "requested": "5", "zone_id": "zone-b"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := booking.New(booking.DemoZones())
			if tt.setup != nil {
				tt.setup(t, s)
			}
			_, err := s.Reserve(context.Background(), "alice", tt.zone, tt.quantity)
			if err == nil {
				t.Fatalf("Reserve(alice, %q, %d) = nil error, want %s", tt.zone, tt.quantity, tt.wantCode)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Reserve(alice, %q, %d) = %v, want errors.Is %v", tt.zone, tt.quantity, err, tt.wantIs)
			}
			res := errs.Resolve(err)
			if res.Status != tt.wantStatus || res.Code != tt.wantCode {
				t.Errorf("Resolve(%v) = %d %s, want %d %s", err, res.Status, res.Code, tt.wantStatus, tt.wantCode)
			}
			if !maps.Equal(res.Details, tt.wantDetails) {
				t.Errorf("Resolve(%v).Details = %v, want %v", err, res.Details, tt.wantDetails)
			}
		})
	}
}

func TestInsufficientStockErrorAs(t *testing.T) {
	s := booking.New(booking.DemoZones())
	mustReserve(t, s, "bob", "zone-b", 9)
	_, err := s.Reserve(context.Background(), "alice", "zone-b", 2)
	var stock *booking.InsufficientStockError
	if !errors.As(err, &stock) {
		t.Fatalf("Reserve(alice, zone-b, 2) = %v, want *InsufficientStockError", err)
	}
	want := booking.InsufficientStockError{ZoneID: "zone-b", Available: 1, Requested: 2}
	if *stock != want {
		t.Errorf("Reserve(alice, zone-b, 2) error = %+v, want %+v", *stock, want)
	}
}

// action is one step of a state-machine case.
type action struct {
	do         string // "confirm", "cancel", "get", "advance"
	user       string // default "alice"
	wantStatus booking.Status
	wantErr    error
}

func TestStateMachine(t *testing.T) {
	const ttl = 10 * time.Minute
	tests := []struct {
		name          string
		steps         []action
		wantAvailable int // zone-b after the steps
	}{
		{name: "reserved holds seats", steps: []action{{do: "get", wantStatus: booking.StatusReserved}}, wantAvailable: 7},
		{name: "confirm", steps: []action{{do: "confirm", wantStatus: booking.StatusConfirmed}}, wantAvailable: 7},
		{name: "cancel returns seats", steps: []action{{do: "cancel", wantStatus: booking.StatusCancelled}}, wantAvailable: 10},
		{name: "cancel confirmed returns seats", steps: []action{
			{do: "confirm", wantStatus: booking.StatusConfirmed},
			{do: "cancel", wantStatus: booking.StatusCancelled},
		}, wantAvailable: 10},
		{name: "confirm twice", steps: []action{
			{do: "confirm", wantStatus: booking.StatusConfirmed},
			{do: "confirm", wantErr: booking.ErrInvalidBookingState},
		}, wantAvailable: 7},
		{name: "cancel twice", steps: []action{
			{do: "cancel", wantStatus: booking.StatusCancelled},
			{do: "cancel", wantErr: booking.ErrInvalidBookingState},
		}, wantAvailable: 10},
		{name: "confirm cancelled", steps: []action{
			{do: "cancel", wantStatus: booking.StatusCancelled},
			{do: "confirm", wantErr: booking.ErrInvalidBookingState},
		}, wantAvailable: 10},
		{name: "expiry returns seats", steps: []action{
			{do: "advance"},
			{do: "get", wantStatus: booking.StatusExpired},
			{do: "confirm", wantErr: booking.ErrBookingExpired},
			{do: "cancel", wantErr: booking.ErrBookingExpired},
		}, wantAvailable: 10},
		{name: "confirmed never expires", steps: []action{
			{do: "confirm", wantStatus: booking.StatusConfirmed},
			{do: "advance"},
			{do: "get", wantStatus: booking.StatusConfirmed},
		}, wantAvailable: 7},
		{name: "another user's booking", steps: []action{
			{do: "get", user: "mallory", wantErr: booking.ErrBookingNotFound},
			{do: "confirm", user: "mallory", wantErr: booking.ErrBookingNotFound},
			{do: "cancel", user: "mallory", wantErr: booking.ErrBookingNotFound},
			{do: "get", wantStatus: booking.StatusReserved},
		}, wantAvailable: 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := booking.New(booking.DemoZones(), booking.WithClock(clock.Now), booking.WithReservationTTL(ttl))
			ctx := context.Background()
			b := mustReserve(t, s, "alice", "zone-b", 3)
			for i, st := range tt.steps {
				user := st.user
				if user == "" {
					user = "alice"
				}
				var got booking.Booking
				var err error
				switch st.do {
				case "advance":
					clock.Advance(ttl)
					continue
				case "get":
					got, err = s.Booking(ctx, user, b.ID)
				case "confirm":
					got, err = s.Confirm(ctx, user, b.ID)
				case "cancel":
					got, err = s.Cancel(ctx, user, b.ID)
				default:
					t.Fatalf("step %d: unknown action %q", i, st.do)
				}
				if st.wantErr != nil {
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: %s(%s, %s) = %v, want %v", i, st.do, user, b.ID, err, st.wantErr)
					}
					continue
				}
				if err != nil || got.Status != st.wantStatus {
					t.Fatalf("step %d: %s(%s, %s) = %s, %v, want %s, nil", i, st.do, user, b.ID, got.Status, err, st.wantStatus)
				}
			}
			z, err := s.Zone(ctx, "zone-b")
			if err != nil || z.Available != tt.wantAvailable {
				t.Errorf("Zone(zone-b) = %d available, %v, want %d, nil", z.Available, err, tt.wantAvailable)
			}
		})
	}
}

func TestExpiryFreesTheUserLimit(t *testing.T) {
	clock := newFakeClock()
	s := booking.New(booking.DemoZones(), booking.WithClock(clock.Now), booking.WithReservationTTL(time.Minute))
	mustReserve(t, s, "alice", "zone-a", 10)
	if _, err := s.Reserve(context.Background(), "alice", "zone-a", 1); !errors.Is(err, booking.ErrLimitExceeded) {
		t.Fatalf("Reserve(alice, zone-a, 1) with 10 held = %v, want ErrLimitExceeded", err)
	}
	clock.Advance(time.Minute - time.Nanosecond)
	if _, err := s.Reserve(context.Background(), "alice", "zone-a", 1); !errors.Is(err, booking.ErrLimitExceeded) {
		t.Fatalf("Reserve(alice, zone-a, 1) just before expiry = %v, want ErrLimitExceeded", err)
	}
	clock.Advance(time.Nanosecond)
	b := mustReserve(t, s, "alice", "zone-a", 10)
	if want := clock.Now().Add(time.Minute); !b.ExpiresAt.Equal(want) {
		t.Errorf("Reserve(alice, zone-a, 10).ExpiresAt = %v, want %v", b.ExpiresAt, want)
	}
	z, _ := s.Zone(context.Background(), "zone-a")
	if z.Available != 990 {
		t.Errorf("Zone(zone-a).Available = %d, want 990", z.Available)
	}
}

func TestExpiryOrder(t *testing.T) {
	clock := newFakeClock()
	s := booking.New(booking.DemoZones(), booking.WithClock(clock.Now), booking.WithReservationTTL(10*time.Minute))
	first := mustReserve(t, s, "alice", "zone-b", 2)
	clock.Advance(5 * time.Minute)
	second := mustReserve(t, s, "bob", "zone-b", 3)
	clock.Advance(5 * time.Minute) // first is due, second is not

	ctx := context.Background()
	if z, _ := s.Zone(ctx, "zone-b"); z.Available != 7 {
		t.Errorf("Zone(zone-b).Available = %d, want 7", z.Available)
	}
	if b, _ := s.Booking(ctx, "alice", first.ID); b.Status != booking.StatusExpired {
		t.Errorf("Booking(alice, first).Status = %s, want EXPIRED", b.Status)
	}
	if b, _ := s.Booking(ctx, "bob", second.ID); b.Status != booking.StatusReserved {
		t.Errorf("Booking(bob, second).Status = %s, want RESERVED", b.Status)
	}
}

func TestCanceledContext(t *testing.T) {
	s := booking.New(booking.DemoZones())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Reserve(ctx, "alice", "zone-a", 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Reserve(canceled ctx) = %v, want context.Canceled", err)
	}
	if z, _ := s.Zone(context.Background(), "zone-a"); z.Available != 1000 {
		t.Errorf("Zone(zone-a).Available = %d after a canceled Reserve, want 1000", z.Available)
	}
}

func TestConcurrentReserveNeverOversells(t *testing.T) {
	s := booking.New(booking.DemoZones())
	const users = 50
	var wg sync.WaitGroup
	var mu sync.Mutex
	booked, rejected := 0, 0
	for i := range users {
		wg.Go(func() {
			_, err := s.Reserve(context.Background(), string(rune('A'+i)), "zone-b", 1)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				booked++
			case errors.Is(err, booking.ErrInsufficientStock):
				rejected++
			default:
				t.Errorf("Reserve(zone-b, 1) = %v, want nil or ErrInsufficientStock", err)
			}
		})
	}
	wg.Wait()
	if booked != 10 || rejected != users-10 {
		t.Errorf("%d concurrent reservations of 1 seat in zone-b: %d booked, %d rejected, want 10, %d", users, booked, rejected, users-10)
	}
	if z, _ := s.Zone(context.Background(), "zone-b"); z.Available != 0 {
		t.Errorf("Zone(zone-b).Available = %d, want 0", z.Available)
	}
}

func TestNewPanics(t *testing.T) {
	tests := []struct {
		name  string
		zones []booking.Zone
	}{
		{name: "empty id", zones: []booking.Zone{{Capacity: 1}}},
		{name: "negative capacity", zones: []booking.Zone{{ID: "z", Capacity: -1}}},
		{name: "duplicate", zones: []booking.Zone{{ID: "z", Capacity: 1}, {ID: "z", Capacity: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%+v) did not panic", tt.zones)
				}
			}()
			booking.New(tt.zones)
		})
	}
}

func mustReserve(t *testing.T, s *booking.Service, user, zone string, quantity int) booking.Booking {
	t.Helper()
	b, err := s.Reserve(context.Background(), user, zone, quantity)
	if err != nil {
		t.Fatalf("Reserve(%s, %s, %d) = %v", user, zone, quantity, err)
	}
	return b
}
