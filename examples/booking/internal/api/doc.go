// Package api is the HTTP layer of the booking demo: a chi router whose
// handlers decode requests, call the booking service and return its errors,
// which httpx answers in the standard error body.
//
// # Routes
//
//	GET  /health                          liveness, always 200
//	GET  /ready                           readiness: pings the idempotency store, 503 when it fails
//	POST /api/v1/bookings/reserve         {"zone_id":"zone-a","quantity":2} -> the booking
//	POST /api/v1/bookings/{id}/confirm    -> the booking, status CONFIRMED
//	POST /api/v1/bookings/{id}/cancel     -> the booking, status CANCELLED
//	GET  /api/v1/bookings/{id}            -> the booking in its current status
//	GET  /api/v1/zones/{id}               -> the zone with its available seats
//
// # Middleware
//
// Every request goes through middleware.RequestID (trace id in the error body
// and the logs), then middleware.Recover. Routes under /api/v1 require the
// X-User-ID header (401 UNAUTHENTICATED without it); the three POST routes
// then go through middleware.Idempotency, scoped by that user, so a retried
// reservation is replayed instead of booking twice. The probes are neither
// authenticated nor idempotent.
package api
