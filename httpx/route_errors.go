package httpx

import (
	"net/http"

	"github.com/idemkit/idemkit/errs"
)

// RouteErrors returns mux behind a handler that answers the mux's own
// errors in the standard error body: a path no pattern matches is 404
// NOT_FOUND, and a path matched for other methods only is 405
// METHOD_NOT_ALLOWED with the mux's Allow header, instead of
// http.ServeMux's plain-text "404 page not found". Everything else,
// redirects included, is the mux's as it is. Headers set in front of it
// (a request id, CORS) stay on the error answers. Errors are written with
// [WriteError]; use [ErrorWriter.RouteErrors] for a configured writer.
//
//	mux := http.NewServeMux()
//	mux.Handle("POST /bookings", ...)
//	http.ListenAndServe(":8080", httpx.RouteErrors(mux))
func RouteErrors(mux *http.ServeMux) http.Handler {
	return (*ErrorWriter)(nil).RouteErrors(mux)
}

// RouteErrors is [RouteErrors] with ew writing the answers; a nil ew is
// the default writer.
func (ew *ErrorWriter) RouteErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// No pattern matched: the mux answers 404, or 405 with Allow.
		rw := &routeErrorWriter{ResponseWriter: w, r: r, ew: ew}
		rw.saved.Save(w.Header())
		mux.ServeHTTP(rw, r)
	})
}

// routeErrorWriter turns the mux's plain-text 404 and 405 into the
// standard body and drops the text the mux writes after them.
type routeErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	ew       *ErrorWriter
	saved    HeaderSnapshot // the headers outer middleware set
	answered bool
}

func (w *routeErrorWriter) WriteHeader(code int) {
	var err error
	switch code {
	case http.StatusNotFound:
		err = errs.ErrNotFound
	case http.StatusMethodNotAllowed:
		err = errs.ErrMethodNotAllowed
	default:
		w.ResponseWriter.WriteHeader(code)
		return
	}
	w.answered = true
	h := w.Header()
	allow := h.Values("Allow")
	w.saved.Restore(h) // drops http.Error's Content-Type and X-Content-Type-Options
	if len(allow) > 0 {
		h["Allow"] = allow
	}
	w.ew.Write(w.ResponseWriter, w.r, err)
}

func (w *routeErrorWriter) Write(b []byte) (int, error) {
	if w.answered {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap returns the underlying writer, for http.ResponseController.
func (w *routeErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
