package api

import (
	"context"
	"net/http"
	"time"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// readyTimeout bounds the store ping of /ready.
const readyTimeout = time.Second

// health answers liveness: the process serves HTTP.
func (h *handlers) health(w http.ResponseWriter, _ *http.Request) error {
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers readiness: 200 when the idempotency store answers a ping,
// 503 SERVICE_UNAVAILABLE when it does not (the POST routes would fail closed
// with 503 too). A store without a Ping method is assumed ready.
func (h *handlers) ready(w http.ResponseWriter, r *http.Request) error {
	if p, ok := h.store.(middleware.Pinger); ok {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			return errs.ErrServiceUnavailable.Wrap(err)
		}
	}
	return httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
