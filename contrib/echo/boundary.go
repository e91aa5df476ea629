package idemecho

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// around runs next inside the net/http middleware mw. mw gets the
// context's Response as its writer, so echo sees what mw writes; next gets a
// Response of its own over the writer mw hands on, and the request mw
// passes. The context's Response is restored when next returns or panics,
// and so is its request when restoreRequest is set. answer, when not nil,
// answers next's error inside the boundary. around returns next's error,
// or nil when mw answered without running next.
func around(c echo.Context, mw func(http.Handler) http.Handler, next echo.HandlerFunc, restoreRequest bool, answer func(http.ResponseWriter, *http.Request, error)) (err error) {
	outer, req := c.Response(), c.Request()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner := echo.NewResponse(w, c.Echo())
		c.SetResponse(inner)
		c.SetRequest(r)
		defer func() {
			c.SetResponse(outer)
			if restoreRequest {
				c.SetRequest(req)
			}
		}()
		err = next(c)
		if err != nil && answer != nil {
			answer(inner, r, err)
		}
	})).ServeHTTP(outer, req)
	return err
}
