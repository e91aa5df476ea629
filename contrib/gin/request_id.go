package idemgin

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/middleware"
)

// RequestID returns [middleware.RequestID] as gin middleware: every request
// gets an id (the caller's valid X-Request-ID, a traceparent's trace-id or
// a new random one), echoed in the X-Request-ID response header and stored
// in the request's context, where the standard error body's trace_id and
// the error log find it. c.Request keeps the id after the chain returns.
// Put it first: r.Use(idemgin.RequestID(), idemgin.Recover()).
func RequestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
	}
}
