package idemgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/middleware"
)

// Middleware returns gin middleware that runs [middleware.Idempotency] on
// cfg around the rest of the chain (c.Next()), and answers inside the
// idempotency boundary, in the standard body, what gin would otherwise leave
// empty or write too late (see the package documentation): an error
// recorded with c.Error and a header-only c.AbortWithStatus. A failed
// request is therefore never stored and never replayed as a success, and a
// retry with its key runs the handler again. It panics, as
// middleware.Idempotency does, when cfg.Store is nil.
//
// Use it on a route, a group or the whole engine:
//
//	r.POST("/orders", idemgin.Middleware(cfg), createOrder)
//	api := r.Group("/api", idemgin.Middleware(cfg))
//	r.Use(idemgin.Middleware(cfg))
//
// What the chain leaves unwritten is answered on every request that runs
// it, also those the idempotency middleware lets through untouched (no
// key, a GET, a skipped path). When the middleware answers without running
// the chain (a replay, an in-progress 202, a 422 or 503) it aborts it
// (c.Abort), so the handlers after it do not run.
//
// cfg.Scope sees c.Request as it is when Middleware runs: put the
// authenticated user in its context in a middleware in front. A panic
// releases the key and goes on to the recovery middleware in front.
func Middleware(cfg middleware.IdempotencyConfig, opts ...Option) gin.HandlerFunc {
	o := newOptions(opts)
	idem := middleware.Idempotency(cfg)
	return func(c *gin.Context) {
		around(c, idem, true, o.finish)
	}
}

// finish answers, inside the boundary, what the chain left unwritten (a
// header that went out, a body or a hijack is left as it is):
//
//	status >= 400, held or only recorded -> the standard body for that status
//	nothing written, c.Errors not empty  -> c.Errors.Last().Err
//	a status recorded, not the outer one -> that header, as gin would send it
//	nothing at all                       -> nothing: net/http's empty 200
func (o *options) finish(c *gin.Context, rw *responseWriter, r *http.Request) {
	if rw.sent() {
		return
	}
	var last error
	if e := c.Errors.Last(); e != nil {
		last = e.Err
	}
	switch {
	case rw.status >= http.StatusBadRequest:
		o.ew.Write(rw.w, r, o.statusError(rw.status, last))
	case !rw.Written() && last != nil:
		o.ew.Write(rw.w, r, last)
	case rw.status != rw.inherited:
		rw.w.WriteHeader(rw.status)
	}
}

// statusError is the error answered for a header-only answer of status
// (400 or more) that the chain left without a body: last, the chain's last
// c.Error, when the registry maps it to that very status (so its code,
// message and details are kept), else the standard body for the status,
// with last as the internal cause (logged, never written), with the
// catalogue's code where it has one (errs.ForStatus: 404 and 405 as
// [NoRoute] and [NoMethod] answer them, 413 PAYLOAD_TOO_LARGE, ...).
func (o *options) statusError(status int, last error) error {
	if last != nil && o.ew.Resolve(last).Status == status {
		return last
	}
	return errs.ForStatus(status).Wrap(last)
}

// around runs the rest of c's chain inside the net/http middleware mw:
// mw gets c.Writer as its writer, the chain gets a gin.ResponseWriter over
// the writer mw hands on (holding header-only error answers when
// holdErrors is set) and the request mw passes. finish runs inside the
// boundary after the chain. c.Writer is restored afterwards, also after a
// panic, and so is c.Request when holdErrors is set (the idempotency
// middleware's request carries its pooled body). When mw answered without
// running the chain, or recovered a panic in it, around aborts the chain.
func around(c *gin.Context, mw func(http.Handler) http.Handler, holdErrors bool, finish func(*gin.Context, *responseWriter, *http.Request)) {
	outer, req := c.Writer, c.Request
	done := false
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := newResponseWriter(w, req.Context(), outer.Status(), holdErrors)
		c.Writer, c.Request = rw, r
		defer func() {
			c.Writer = outer
			if holdErrors {
				c.Request = req
			}
		}()
		c.Next()
		finish(c, rw, r)
		done = true
	})).ServeHTTP(outer, req)
	if !done {
		c.Abort()
	}
}
