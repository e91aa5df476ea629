// Command gin is the booking demo's write API on gin through the idemgin
// adapter (contrib/gin): reservations, confirmations and cancellations that
// are safe to retry, every error in idemkit's standard body, and the
// idempotency middleware on the whole engine with the probes skipped.
//
//	cd examples && go run ./gin                      # in-memory store
//	VALKEY_ADDR=localhost:6379 go run ./gin          # Valkey store
//
//	curl -i -X POST localhost:8080/api/v1/bookings/reserve -H 'X-User-ID: alice' \
//	     -H 'Content-Type: application/json' -H 'Idempotency-Key: reserve-42' \
//	     -d '{"zone_id":"zone-a","quantity":2}'
//
// Send it twice: the second answer is the first one replayed, with
// Idempotent-Replayed: true, and the seats are reserved once.
//
// The routes (the user is whoever X-User-ID says, a demo stand-in for
// authentication, and is the idempotency scope):
//
//	POST /api/v1/bookings/reserve      {"zone_id","quantity"} -> 200 the booking, RESERVED
//	POST /api/v1/bookings/:id/confirm  -> 200 CONFIRMED
//	POST /api/v1/bookings/:id/cancel   -> 200 CANCELLED, the seats return
//	GET  /api/v1/bookings/:id          -> 200 the booking
//	GET  /api/v1/zones/:id             -> 200 {"zone_id","capacity","available"}
//	GET  /health, /ready, /metrics     -> liveness, readiness (store ping), event counters
//
// The booking rules are the demo's own (examples/internal/booking): zone-a
// has 1000 seats and zone-b 10, a reservation holds its seats for 10
// minutes unless confirmed, and a user holds at most 10 seats.
package main

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	idemgin "github.com/idemkit/idemkit/contrib/gin"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/booking"
	"github.com/idemkit/idemkit/examples/internal/serve"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// ErrUnauthenticated is 401 UNAUTHENTICATED: no valid X-User-ID header.
var ErrUnauthenticated = errs.New(http.StatusUnauthorized, "UNAUTHENTICATED", "Missing or invalid X-User-ID header")

// probes are the paths the idempotency middleware skips.
var probes = []string{"/health", "/ready", "/metrics"}

// newHandler returns the application on store.
func newHandler(store middleware.Store) http.Handler {
	svc := bookings{svc: booking.New(booking.DemoZones())}
	events := newEventCounts()

	cfg := middleware.DefaultIdempotencyConfig(store)
	// The user is the scope. The middleware runs on the whole engine, in
	// front of the /api/v1 group's requireUser, so it reads the header that
	// requireUser validates; a request without a valid one is answered 401,
	// which is never stored.
	cfg.Scope = func(r *http.Request) string { return r.Header.Get(headerUserID) }
	cfg.SkipPaths = probes
	cfg.OnEvent = events.count

	r := gin.New()
	r.Use(idemgin.RequestID(), idemgin.Recover(), idemgin.Middleware(cfg))
	r.NoRoute(idemgin.NoRoute())
	r.HandleMethodNotAllowed = true
	r.NoMethod(idemgin.NoMethod())

	r.GET("/health", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/ready", ready(store))
	r.GET("/metrics", events.serve)

	api := r.Group("/api/v1", requireUser)
	api.POST("/bookings/reserve", svc.reserve)
	api.POST("/bookings/:id/confirm", svc.confirm)
	api.POST("/bookings/:id/cancel", svc.cancel)
	api.GET("/bookings/:id", svc.get)
	api.GET("/zones/:id", svc.zone)
	return r
}

// headerUserID identifies the user; the demo trusts it as is.
const headerUserID = "X-User-ID"

// requireUser answers 401 unless X-User-ID holds 1 to 128 printable ASCII
// characters without spaces.
func requireUser(c *gin.Context) {
	id := c.GetHeader(headerUserID)
	valid := id != "" && len(id) <= 128
	for i := 0; valid && i < len(id); i++ {
		valid = id[i] > 0x20 && id[i] < 0x7f
	}
	if !valid {
		c.Error(ErrUnauthenticated)
		c.Abort()
		return
	}
	c.Set(headerUserID, id)
}

// ready answers 200 when the store answers a ping, else 503.
func ready(store middleware.Store) gin.HandlerFunc {
	return func(c *gin.Context) {
		if p, ok := store.(middleware.Pinger); ok {
			ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
			defer cancel()
			if err := p.Ping(ctx); err != nil {
				c.Error(errs.ErrServiceUnavailable.Wrap(err))
				return
			}
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	}
}

func main() {
	gin.SetMode(gin.ReleaseMode)
	serve.Main("gin", newHandler)
}

// decode reads the request's JSON body into v, answering the standard 400
// or 415 on failure.
func decode(c *gin.Context, v any) bool {
	if err := httpx.DecodeJSON(c.Request, v, httpx.WithDisallowUnknownFields()); err != nil {
		c.Error(err)
		return false
	}
	return true
}
