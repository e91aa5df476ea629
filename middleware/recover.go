package middleware

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/recorder"
)

// RecoverOption configures [RecoverWith].
type RecoverOption func(*recoverOptions)

type recoverOptions struct {
	logger *slog.Logger
	ew     httpx.ErrorWriter
}

// WithRecoverLogger sets the logger for recovered panics; the default is
// slog.Default().
func WithRecoverLogger(l *slog.Logger) RecoverOption {
	return func(o *recoverOptions) { o.logger = l }
}

// WithRecoverErrorWriter sets the writer of the 500 answer, e.g. to share an
// application's DisableProblemDetails setting; its Logger is not used (the
// panic is logged once, by Recover). The default is a zero
// httpx.ErrorWriter. ew is copied.
func WithRecoverErrorWriter(ew *httpx.ErrorWriter) RecoverOption {
	return func(o *recoverOptions) {
		if ew != nil {
			o.ew = *ew
		}
	}
}

// Recover turns a panic in next into a 500 INTERNAL_ERROR standard body
// (with trace_id) and one Error log record with the stack, using
// slog.Default(). See [RecoverWith].
func Recover(next http.Handler) http.Handler {
	return RecoverWith()(next)
}

// RecoverWith returns a Recover middleware configured by opts.
//
// On a panic in the handler it logs, at level Error, "panic recovered" with
// trace_id, method, path, panic (the value) and stack, then answers 500
// INTERNAL_ERROR through httpx (standard body or problem details). The panic
// value is never written to the client.
//
// http.ErrAbortHandler is re-panicked untouched, as net/http expects: it is
// how a handler aborts a response on purpose.
//
// When the response had already started, a second answer would corrupt it,
// so Recover logs (with started=true) and then panics with
// http.ErrAbortHandler: net/http closes the connection (HTTP/1) or resets
// the stream (HTTP/2), and the client sees a broken response instead of a
// truncated one that looks complete. To know whether it started, Recover
// passes the handler a pass-through [recorder.Recorder] that captures no
// body (all optional interfaces keep working through it).
//
// The 500 answer carries the headers the response had when Recover was
// called (those outer middleware set, such as CORS headers and the request
// id, with their values from then) plus the error writer's own; none of the
// headers the panicking handler set, such as a Content-Encoding that would
// make the body unreadable or a Cache-Control that would let a cache keep
// it (see [httpx.HeaderSnapshot]).
//
// Put RequestID before Recover so that the answer and the log carry the
// request's id.
func RecoverWith(opts ...RecoverOption) func(http.Handler) http.Handler {
	o := recoverOptions{logger: slog.Default()}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	logger := o.logger
	ew := o.ew
	ew.Logger = slog.New(slog.DiscardHandler) // the panic is logged once, below
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var saved httpx.HeaderSnapshot // the headers outer middleware set
			saved.Save(w.Header())
			rec := recorder.New(w, recorder.WithCaptureLimit(0), recorder.WithMethod(r.Method))
			defer rec.Release()
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				started := rec.Written()
				attrs := []slog.Attr{
					slog.String("trace_id", httpx.TraceID(r.Context())),
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())),
				}
				if started {
					attrs = append(attrs, slog.Bool("started", true))
				}
				logger.LogAttrs(r.Context(), slog.LevelError, "panic recovered", attrs...)
				if started {
					panic(http.ErrAbortHandler)
				}
				saved.Restore(rec.Header())
				ew.Write(rec, r, errs.ErrInternal.Wrap(panicError{v}))
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// panicError carries a panic value as the internal cause of the answer.
type panicError struct{ value any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }
