package idemecho

import (
	"net/http"

	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
)

// RequestID returns [middleware.RequestID] as echo middleware: every request
// gets an id (the caller's valid X-Request-ID, a traceparent's trace-id or
// a new random one), echoed in the X-Request-ID response header and stored
// in the request's context, where the standard error body's trace_id and
// the error log find it. The request with the id stays the context's
// request after the chain returns, so echo's HTTPErrorHandler sees it too.
// Put it first: e.Use(idemecho.RequestID(), idemecho.Recover()).
func RequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var err error
			middleware.RequestID(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				c.SetRequest(r)
				err = next(c)
			})).ServeHTTP(c.Response(), c.Request())
			return err
		}
	}
}
