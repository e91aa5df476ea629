package idemgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/middleware"
)

// Recover returns [middleware.RecoverWith] on opts as gin middleware, in
// place of gin.Recovery: a panic in the rest of the chain is logged with
// its stack and answered 500 INTERNAL_ERROR in the standard body, with the
// trace id and nothing of the panic value, and the chain is aborted; a
// panic after the response started aborts the connection
// (http.ErrAbortHandler), so the client never takes a truncated answer for a
// complete one.
//
// The chain writes through a gin.ResponseWriter over the recorder Recover
// uses to know whether the response started; c.Writer is restored
// afterwards and sees everything written.
func Recover(opts ...middleware.RecoverOption) gin.HandlerFunc {
	rec := middleware.RecoverWith(opts...)
	return func(c *gin.Context) {
		around(c, rec, false, propagate)
	}
}

// propagate hands on a status the chain set but did not write (gin writes
// it after the chain), so that the writer outside records it.
func propagate(_ *gin.Context, rw *responseWriter, _ *http.Request) {
	if !rw.Written() && rw.status != rw.inherited {
		rw.w.WriteHeader(rw.status)
	}
}
