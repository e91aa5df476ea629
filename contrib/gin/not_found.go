package idemgin

import (
	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/errs"
)

// NoRoute returns a handler for engine.NoRoute that answers 404 NOT_FOUND in
// the standard body:
//
//	r.NoRoute(idemgin.NoRoute())
func NoRoute(opts ...Option) gin.HandlerFunc {
	o := newOptions(opts)
	return func(c *gin.Context) {
		o.ew.Write(c.Writer, c.Request, errs.ErrNotFound)
	}
}

// NoMethod returns a handler for engine.NoMethod that answers 405
// METHOD_NOT_ALLOWED in the standard body, with the Allow header gin sets.
// gin calls it only with engine.HandleMethodNotAllowed set; otherwise such a
// request is a 404:
//
//	r.HandleMethodNotAllowed = true
//	r.NoMethod(idemgin.NoMethod())
func NoMethod(opts ...Option) gin.HandlerFunc {
	o := newOptions(opts)
	return func(c *gin.Context) {
		o.ew.Write(c.Writer, c.Request, errs.ErrMethodNotAllowed)
	}
}
