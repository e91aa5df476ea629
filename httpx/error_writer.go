package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/idemkit/idemkit/errs"
)

// ErrorWriter answers errors with the standard body. Its zero value is ready
// to use and is what [WriteError] uses: the default registry, slog.Default()
// and problem+json negotiation on. Configure one when an application or a
// test wants no global state:
//
//	ew := &httpx.ErrorWriter{Registry: reg, Logger: logger}
//	mux.Handle("POST /bookings", ew.Handler(createBooking))
//
// An ErrorWriter must not be modified while it is in use; it is safe for
// concurrent use otherwise.
type ErrorWriter struct {
	// Registry resolves errors to status, code, message and details.
	// Nil means errs.Default().
	Registry *errs.Registry
	// Logger receives one record per error. Nil means slog.Default().
	Logger *slog.Logger
	// DisableProblemDetails turns RFC 9457 negotiation off: every client
	// gets the standard body even when its Accept header prefers
	// application/problem+json. False by default.
	DisableProblemDetails bool
}

// WriteError answers err with the standard error body, using the default
// registry and slog.Default(); see [ErrorWriter.Write].
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var ew ErrorWriter
	ew.Write(w, r, err)
}

// Write resolves err, logs it once and writes the answer:
//
//   - The status, code, message and details come from the registry (see
//     errs.Registry.Resolve). The error's own text is never written: an
//     unregistered error is answered 500 INTERNAL_ERROR "Something went
//     wrong. Please try again.".
//   - trace_id is [TraceID] of the request's context, when set.
//   - The body is the standard [ErrorResponse] as
//     "application/json; charset=utf-8", or RFC 9457 problem details as
//     "application/problem+json" when the request's Accept header names
//     application/problem+json explicitly with a quality at least that of
//     application/json (wildcards do not count). Vary: Accept is added
//     unless negotiation is disabled. Headers in w's map that describe
//     another body (Content-Encoding, Content-Length, Content-Range,
//     Content-Disposition, ETag, Last-Modified and the digest headers) are
//     removed, so that no router or framework can send the error with a
//     failed handler's gzip encoding or ETag; Write keeps the other
//     headers in it.
//     [HandlerFunc], [ErrorWriter.Handler] and middleware.Recover first put
//     back the headers from before the handler ran (see [HeaderSnapshot]),
//     so a failed handler's headers never reach its error answer.
//   - One log record: level Error for 5xx, Info for 499 (the client went
//     away), Debug for other 4xx; attributes trace_id, method, path,
//     status, code and error (the error value, whose text is the full
//     chain).
//
// Write never writes twice. When w, or a writer it wraps (a chain of
// Unwrap() http.ResponseWriter methods), reports through a Written() bool
// method that the response has started, as idemkit's recorder does, Write
// only logs, at level Warn or above, with started=true. A plain
// net/http ResponseWriter cannot tell: Write then writes, and net/http logs
// "superfluous response.WriteHeader call" if the handler had written.
//
// r may be nil (no trace id, no negotiation); err may be nil, which is
// answered 500 and logged as a programming error.
func (ew *ErrorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	logger, problem := slog.Default(), true
	if ew != nil {
		if ew.Logger != nil {
			logger = ew.Logger
		}
		problem = !ew.DisableProblemDetails
	}
	res := ew.Resolve(err)

	ctx := context.Background()
	var traceID, method, path string
	if r != nil {
		ctx = r.Context()
		traceID = TraceID(ctx)
		method = r.Method
		if r.URL != nil {
			path = r.URL.Path
		}
	}
	started := ResponseStarted(w)
	logError(ctx, logger, res, err, traceID, method, path, started)
	if started {
		return
	}

	h := w.Header()
	asProblem := false
	if problem {
		if r != nil {
			asProblem = prefersProblem(r.Header.Values("Accept"))
		}
		addVary(h, "Accept")
	}
	dropRepresentation(h)

	bp := bodyPool.Get().(*[]byte)
	b := (*bp)[:0]
	if asProblem {
		h.Set("Content-Type", contentTypeProblem)
		b = appendProblem(b, res, traceID)
	} else {
		h.Set("Content-Type", contentTypeJSON)
		resp := ErrorResponse{Error: res.Code, Message: res.Message, Details: res.Details, TraceID: traceID}
		b = resp.appendJSON(b)
	}
	b = append(b, '\n')
	w.WriteHeader(res.Status)
	_, _ = w.Write(b) // the client may be gone; nothing useful to do
	if cap(b) <= maxPooledBuffer {
		*bp = b
		bodyPool.Put(bp)
	}
}

// representationHeaders describe a body other than the error's: left on an
// error answer (a handler set them, then failed), they make it unreadable
// (Content-Encoding: gzip on a plain JSON body), truncate it
// (Content-Length), or let caches and downloads take it for the resource
// (ETag, Last-Modified, Content-Range, Content-Disposition, Digest).
var representationHeaders = [...]string{
	"Content-Encoding", "Content-Length", "Content-Range", "Content-Disposition",
	"Etag", "Last-Modified", "Digest", "Content-Digest", "Repr-Digest",
}

// dropRepresentation removes representationHeaders from h.
func dropRepresentation(h http.Header) {
	for _, k := range representationHeaders {
		delete(h, k) // canonical names: no CanonicalMIMEHeaderKey per call
	}
}

// Resolve returns what Write answers err with: the mapping of ew's
// Registry, or of the default registry when ew or its Registry is nil.
// Adapters that must know an error's status before writing it use it.
func (ew *ErrorWriter) Resolve(err error) errs.Resolution {
	if ew != nil && ew.Registry != nil {
		return ew.Registry.Resolve(err)
	}
	return errs.Default().Resolve(err)
}

// Handler adapts f to an http.Handler that answers f's error with ew. As
// with [HandlerFunc], the error answer carries the headers from before f
// ran, not the ones f set.
func (ew *ErrorWriter) Handler(f HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serveErrorFunc(ew, f, w, r)
	})
}

var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func logError(ctx context.Context, logger *slog.Logger, res errs.Resolution, err error, traceID, method, path string, started bool) {
	level := slog.LevelDebug
	switch {
	case res.Status >= 500:
		level = slog.LevelError
	case res.Status == errs.StatusClientClosedRequest:
		level = slog.LevelInfo
	}
	if started && level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	msg := "request failed"
	if started {
		msg = "request failed after the response started; error not written"
	}
	attrs := [8]slog.Attr{
		slog.String("trace_id", traceID),
		slog.String("method", method),
		slog.String("path", path),
		slog.Int("status", res.Status),
		slog.String("code", res.Code),
	}
	n := 5
	if err == nil {
		attrs[n] = slog.String("error", "httpx: WriteError called with a nil error")
	} else {
		attrs[n] = slog.Any("error", err)
	}
	n++
	if started {
		attrs[n] = slog.Bool("started", true)
		n++
	}
	logger.LogAttrs(ctx, level, msg, attrs[:n]...)
}

// ResponseStarted reports whether w, or a writer it wraps through a chain of
// Unwrap() http.ResponseWriter methods, reports through a Written() bool
// method that the response has started. It returns false when no writer in
// the chain can tell, as for net/http's own ResponseWriter.
func ResponseStarted(w http.ResponseWriter) bool {
	for range 32 { // bounded: a broken Unwrap chain must not loop forever
		if x, ok := w.(interface{ Written() bool }); ok && x.Written() {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		if w = u.Unwrap(); w == nil {
			return false
		}
	}
	return false
}

// addVary adds value to the Vary header unless it is already listed.
func addVary(h http.Header, value string) {
	for _, v := range h.Values("Vary") {
		if containsToken(v, value) {
			return
		}
	}
	h.Add("Vary", value)
}

func containsToken(list, token string) bool {
	for len(list) > 0 {
		var item string
		item, list = cutComma(list)
		if item == "*" || equalFoldASCII(item, token) {
			return true
		}
	}
	return false
}

// statusTitle is the RFC 9457 title for status.
func statusTitle(status int) string {
	if status == errs.StatusClientClosedRequest {
		return "Client Closed Request"
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Status " + strconv.Itoa(status)
}
