package api_test

import (
	"maps"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

func TestErrors(t *testing.T) {
	const reservePath = "/api/v1/bookings/reserve"
	reserveAs := func(user, body string) call {
		return call{method: "POST", path: reservePath, user: user, body: body}
	}
	tests := []struct {
		name       string
		setup      []call // "{id}" is the booking made by the first reserve of the case
		advance    bool   // move the clock past the reservation TTL before req
		req        call
		status     int
		code       string
		details    map[string]string // nil: no details
		anyDetails bool              // details are not checked
	}{
		// validation
		{name: "quantity zero", req: reserveAs("alice", `{"zone_id":"zone-a","quantity":0}`),
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"quantity": "must be positive"}},
		{name: "quantity negative", req: reserveAs("alice", `{"zone_id":"zone-a","quantity":-1}`),
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"quantity": "must be positive"}},
		{name: "quantity missing", req: reserveAs("alice", `{"zone_id":"zone-a"}`),
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"quantity": "must be positive"}},
		{name: "zone_id missing", req: reserveAs("alice", `{"quantity":2}`),
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"zone_id": "required"}},
		{name: "zone_id empty and quantity zero", req: reserveAs("alice", `{"zone_id":"","quantity":0}`),
			status: 400, code: "VALIDATION_ERROR", details: map[string]string{"zone_id": "required", "quantity": "must be positive"}},
		{name: "malformed JSON", req: reserveAs("alice", `{"zone_id":`),
			status: 400, code: "MALFORMED_JSON", anyDetails: true},
		{name: "unknown field", req: reserveAs("alice", `{"zone":"zone-a","quantity":1}`),
			status: 400, code: "MALFORMED_JSON", anyDetails: true},
		{name: "not JSON", req: call{method: "POST", path: reservePath, user: "alice", body: `zone=a`, ctype: "application/x-www-form-urlencoded"},
			status: 415, code: "UNSUPPORTED_MEDIA_TYPE"},

		// reserve
		{name: "unknown zone", req: reserveAs("alice", `{"zone_id":"zone-x","quantity":1}`),
			status: 404, code: "ZONE_NOT_FOUND"},
		{name: "insufficient stock",
			setup:  []call{reserveAs("bob", `{"zone_id":"zone-b","quantity":8}`)},
			req:    reserveAs("alice", `{"zone_id":"zone-b","quantity":5}`),
			status: 409, code: "INSUFFICIENT_STOCK",
			details: map[string]string{"available": "2", "requested": "5", "zone_id": "zone-b"}},
		{name: "over the limit in one request", req: reserveAs("alice", `{"zone_id":"zone-a","quantity":11}`),
			status: 400, code: "LIMIT_EXCEEDED", details: map[string]string{"limit": "10", "held": "0", "requested": "11"}},
		{name: "over the limit with seats held",
			setup:  []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":8}`)},
			req:    reserveAs("alice", `{"zone_id":"zone-b","quantity":3}`),
			status: 400, code: "LIMIT_EXCEEDED", details: map[string]string{"limit": "10", "held": "8", "requested": "3"}},
		{name: "limit is checked before stock",
			setup:  []call{reserveAs("bob", `{"zone_id":"zone-b","quantity":10}`)},
			req:    reserveAs("alice", `{"zone_id":"zone-b","quantity":11}`),
			status: 400, code: "LIMIT_EXCEEDED", details: map[string]string{"limit": "10", "held": "0", "requested": "11"}},

		// bookings
		{name: "unknown booking get", req: call{method: "GET", path: "/api/v1/bookings/bk_nope", user: "alice"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "unknown booking confirm", req: call{method: "POST", path: "/api/v1/bookings/bk_nope/confirm", user: "alice"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "unknown booking cancel", req: call{method: "POST", path: "/api/v1/bookings/bk_nope/cancel", user: "alice"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "another user's booking get",
			setup:  []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`)},
			req:    call{method: "GET", path: "/api/v1/bookings/{id}", user: "mallory"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "another user's booking confirm",
			setup:  []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`)},
			req:    call{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "mallory"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "another user's booking cancel",
			setup:  []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`)},
			req:    call{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "mallory"},
			status: 404, code: "BOOKING_NOT_FOUND"},
		{name: "confirm twice",
			setup: []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`),
				{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "alice"}},
			req:    call{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "alice"},
			status: 409, code: "INVALID_BOOKING_STATE", details: map[string]string{"status": "CONFIRMED", "action": "confirm"}},
		{name: "cancel twice",
			setup: []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`),
				{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "alice"}},
			req:    call{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "alice"},
			status: 409, code: "INVALID_BOOKING_STATE", details: map[string]string{"status": "CANCELLED", "action": "cancel"}},
		{name: "confirm cancelled",
			setup: []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`),
				{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "alice"}},
			req:    call{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "alice"},
			status: 409, code: "INVALID_BOOKING_STATE", details: map[string]string{"status": "CANCELLED", "action": "confirm"}},
		{name: "confirm expired",
			setup:   []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`)},
			advance: true,
			req:     call{method: "POST", path: "/api/v1/bookings/{id}/confirm", user: "alice"},
			status:  410, code: "BOOKING_EXPIRED", details: map[string]string{"expired_at": "2026-03-01T12:10:00Z"}},
		{name: "cancel expired",
			setup:   []call{reserveAs("alice", `{"zone_id":"zone-a","quantity":1}`)},
			advance: true,
			req:     call{method: "POST", path: "/api/v1/bookings/{id}/cancel", user: "alice"},
			status:  410, code: "BOOKING_EXPIRED", details: map[string]string{"expired_at": "2026-03-01T12:10:00Z"}},
		{name: "unknown zone get", req: call{method: "GET", path: "/api/v1/zones/zone-x", user: "alice"},
			status: 404, code: "ZONE_NOT_FOUND"},

		// authentication
		{name: "reserve without X-User-ID", req: reserveAs("", `{"zone_id":"zone-a","quantity":1}`),
			status: 401, code: "UNAUTHENTICATED"},
		{name: "reserve with key without X-User-ID",
			req:    call{method: "POST", path: reservePath, key: "k", body: `{"zone_id":"zone-a","quantity":1}`},
			status: 401, code: "UNAUTHENTICATED"},
		{name: "get zone without X-User-ID", req: call{method: "GET", path: "/api/v1/zones/zone-a"},
			status: 401, code: "UNAUTHENTICATED"},
		{name: "malformed X-User-ID", req: reserveAs("al ice", `{"zone_id":"zone-a","quantity":1}`),
			status: 401, code: "UNAUTHENTICATED"},

		// idempotency middleware
		{name: "malformed idempotency key",
			req:    call{method: "POST", path: reservePath, user: "alice", key: "bad\tkey", body: `{"zone_id":"zone-a","quantity":1}`},
			status: 400, code: "INVALID_IDEMPOTENCY_KEY", anyDetails: true},
		{name: "idempotency key reused for another body",
			setup:  []call{{method: "POST", path: reservePath, user: "alice", key: "k", body: `{"zone_id":"zone-a","quantity":1}`}},
			req:    call{method: "POST", path: reservePath, user: "alice", key: "k", body: `{"zone_id":"zone-a","quantity":2}`},
			status: 422, code: "IDEMPOTENCY_KEY_REUSED"},

		// routing
		{name: "unknown route", req: call{method: "GET", path: "/api/v2/zones/zone-a", user: "alice"},
			status: 404, code: "NOT_FOUND"},
		{name: "wrong method", req: call{method: "DELETE", path: "/api/v1/zones/zone-a", user: "alice"},
			status: 405, code: "METHOD_NOT_ALLOWED"},
	}
	forEachStore(t, func(t *testing.T, open func() middleware.Store) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e := newEnv(t, open())
				var id string
				for _, c := range tt.setup {
					r := e.do(t, c, id)
					b := mustOK[bookingJSON](t, r, "setup "+c.method+" "+c.path)
					if id == "" {
						id = b.BookingID
					}
				}
				if tt.advance {
					e.clock.Advance(ttl)
				}
				r := e.do(t, tt.req, id)
				got := errorBody(t, r)
				if r.status != tt.status || got.Error != tt.code {
					t.Errorf("%s %s = %d %s, want %d %s", tt.req.method, tt.req.path, r.status, r.body, tt.status, tt.code)
				}
				if !tt.anyDetails && !maps.Equal(got.Details, tt.details) {
					t.Errorf("%s %s details = %v, want %v", tt.req.method, tt.req.path, got.Details, tt.details)
				}
			})
		}
	})
}
