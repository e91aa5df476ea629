package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/examples/internal/booking"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// New returns the demo's HTTP handler: the routes of the package
// documentation on svc, with idempotency records kept in store. When store
// implements middleware.Pinger, /ready pings it.
func New(svc *booking.Service, store middleware.Store) http.Handler {
	h := &handlers{svc: svc, store: store}

	idemCfg := middleware.DefaultIdempotencyConfig(store)
	idemCfg.Scope = func(r *http.Request) string { return UserID(r.Context()) }
	idemCfg.OnEvent = logEvent
	idempotent := middleware.Idempotency(idemCfg)

	r := chi.NewRouter()
	r.Use(middleware.RequestID, middleware.Recover)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { httpx.WriteError(w, r, errs.ErrNotFound) })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) { httpx.WriteError(w, r, errs.ErrMethodNotAllowed) })

	r.Method(http.MethodGet, "/health", httpx.HandlerFunc(h.health))
	r.Method(http.MethodGet, "/ready", httpx.HandlerFunc(h.ready))

	r.Route("/api/v1", func(r chi.Router) {
		r.Use(RequireUser)
		r.With(idempotent).Method(http.MethodPost, "/bookings/reserve", httpx.HandlerFunc(h.reserve))
		r.With(idempotent).Method(http.MethodPost, "/bookings/{id}/confirm", httpx.HandlerFunc(h.confirm))
		r.With(idempotent).Method(http.MethodPost, "/bookings/{id}/cancel", httpx.HandlerFunc(h.cancel))
		r.Method(http.MethodGet, "/bookings/{id}", httpx.HandlerFunc(h.getBooking))
		r.Method(http.MethodGet, "/zones/{id}", httpx.HandlerFunc(h.getZone))
	})
	return r
}

// handlers holds what the route handlers need.
type handlers struct {
	svc   *booking.Service
	store middleware.Store
}
