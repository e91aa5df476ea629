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
type HandlerFunc func(http.ResponseWriter, *http.Request) error

// ServeHTTP calls f(w, r) and answers its error with [WriteError].
func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}
