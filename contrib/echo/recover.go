package idemecho

import (
	"github.com/idemkit/idemkit/middleware"
	"github.com/labstack/echo/v4"
)

// Recover returns [middleware.RecoverWith] on opts as echo middleware: a
// panic in the rest of the chain is logged with its stack and answered 500
// INTERNAL_ERROR in the standard body, with the trace id and nothing of the
// panic value; a panic after the response started aborts the connection
// (http.ErrAbortHandler), so the client never takes a truncated answer for a
// complete one. Errors the chain returns pass through to echo untouched.
//
// The chain writes through an echo.Response of its own over the recorder
// Recover uses to know whether the response started; the context's own
// Response is restored afterwards and sees everything written.
func Recover(opts ...middleware.RecoverOption) echo.MiddlewareFunc {
	rec := middleware.RecoverWith(opts...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			return around(c, rec, next, false, nil)
		}
	}
}
