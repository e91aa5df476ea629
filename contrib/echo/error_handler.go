package idemecho

import (
	"errors"
	"net/http"

	"github.com/idemkit/idemkit/errs"
	"github.com/labstack/echo/v4"
)

// ErrorHandler returns an echo.HTTPErrorHandler that answers every error in
// idemkit's standard body, mapped as the package documentation says:
// echo's own (404 for an unknown route, 405, a binder's 400, ...), a
// handler's returned error outside [Middleware], and a panic that echo's
// Recover middleware turned into an error. It does nothing when the
// response is already committed.
//
//	e.HTTPErrorHandler = idemecho.ErrorHandler()
func ErrorHandler(opts ...Option) echo.HTTPErrorHandler {
	o := newOptions(opts)
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		o.ew.Write(c.Response(), c.Request(), o.public(err))
	}
}

// public returns the error to answer for err: err itself, unless an
// *echo.HTTPError decides the status (see the package documentation).
func (o *options) public(err error) error {
	he, ok := err.(*echo.HTTPError)
	if !ok {
		if o.ew.Resolve(err).Matched || !errors.As(err, &he) {
			return err
		}
	}
	if inner, ok := he.Internal.(*echo.HTTPError); ok {
		he = inner // as echo's own error handler does
	}
	// The catalogue's code for the status (404 NOT_FOUND for the router's
	// own, 413 PAYLOAD_TOO_LARGE for BodyLimit's: the same answer as on any
	// router), with the HTTPError's own message when it has one of its own
	// and the status is not a 5xx.
	base := errs.ForStatus(he.Code)
	msg, _ := he.Message.(string)
	if he.Code >= 500 || msg == "" || msg == http.StatusText(he.Code) {
		return base.Wrap(err)
	}
	return &errs.Error{Status: base.Status, Code: base.Code, Message: msg, Err: err}
}
