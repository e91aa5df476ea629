package httpx

import "net/http"

// HandlerFunc is a handler that returns its error instead of writing it:
//
//	func getBooking(w http.ResponseWriter, r *http.Request) error {
//		b, err := store.Get(r.Context(), r.PathValue("id"))
//		if err != nil {
//			return err // e.g. 404 BOOKING_NOT_FOUND, or 500 for a database error
//		}
//		return httpx.WriteJSON(w, http.StatusOK, b)
//	}
//
//	mux.Handle("GET /bookings/{id}", httpx.HandlerFunc(getBooking))
//
// Its ServeHTTP answers a non-nil error with [WriteError]. Use
// [ErrorWriter.Handler] for a configured writer.
//
// The error answer carries the headers the response had before the
// function ran (those outer middleware set, with their values from then)
// plus the error writer's own, and none of the headers the function set:
// a Content-Encoding, Cache-Control, ETag or debug header meant for the
// success answer never goes out with the error (see [HeaderSnapshot]).
// To send a header with an error answer (a Retry-After, a
// WWW-Authenticate), set it and call [WriteError] yourself, then return
// nil. Return an error only before writing the response: once it has
// started the error cannot be answered (see [ErrorWriter.Write]).
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ServeHTTP calls f(w, r) and answers its error with [WriteError].
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	serveErrorFunc(nil, f, w, r)
}

// serveErrorFunc calls f(w, r) and answers its error with ew, restoring
// the headers from before f ran unless the response has started.
func serveErrorFunc(ew *ErrorWriter, f HandlerFunc, w http.ResponseWriter, r *http.Request) {
	var saved HeaderSnapshot
	saved.Save(w.Header())
	err := f(w, r)
	if err == nil {
		return
	}
	if !ResponseStarted(w) {
		saved.Restore(w.Header())
	}
	ew.Write(w, r, err)
}
