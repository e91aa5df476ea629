package idemecho

import (
	"net/http"

	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
)

// Middleware returns echo middleware that runs [middleware.Idempotency] on
// cfg around the rest of the chain, and answers an error the chain returns
// inside the idempotency boundary, in the standard body (see the package
// documentation): a failed request is never stored and never replayed as a
// success, and a retry with its key runs the handler again. It panics, as
// middleware.Idempotency does, when cfg.Store is nil.
//
// Use it on a route, a group or the whole server:
//
//	e.POST("/orders", createOrder, idemecho.Middleware(cfg))
//	api := e.Group("/api", idemecho.Middleware(cfg))
//	e.Use(idemecho.Middleware(cfg))
//
// The chain's returned error is answered on every request that runs it,
// also those the idempotency middleware lets through untouched (no key, a
// GET, a skipped path). It is then returned to echo, so that logging
// middleware in front sees it; echo's HTTPErrorHandler finds the response
// committed and must do nothing, as echo's default and [ErrorHandler] do.
//
// cfg.Scope sees c.Request() as it is when Middleware runs: put the
// authenticated user in its context (c.SetRequest(r.WithContext(...))) in a
// middleware in front. A panic releases the key and goes on to the recovery
// middleware in front.
func Middleware(cfg middleware.IdempotencyConfig, opts ...Option) echo.MiddlewareFunc {
	o := newOptions(opts)
	idem := middleware.Idempotency(cfg)
	answer := func(w http.ResponseWriter, r *http.Request, err error) {
		o.ew.Write(w, r, o.public(err))
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			return around(c, idem, next, true, answer)
		}
	}
}
