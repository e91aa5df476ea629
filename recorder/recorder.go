package recorder

import (
	"io"
	"net/http"
)

// Compile-time checks: a *Recorder always offers every optional interface
// net/http's own writers have. Where the wrapped writer lacks the feature,
// the method says so (http.ErrNotSupported) instead of faking it.
var (
	_ http.ResponseWriter                       = (*Recorder)(nil)
	_ http.Flusher                              = (*Recorder)(nil)
	_ http.Hijacker                             = (*Recorder)(nil)
	_ http.Pusher                               = (*Recorder)(nil)
	_ io.ReaderFrom                             = (*Recorder)(nil)
	_ io.StringWriter                           = (*Recorder)(nil)
	_ interface{ FlushError() error }           = (*Recorder)(nil)
	_ interface{ Unwrap() http.ResponseWriter } = (*Recorder)(nil)
)

// mode is where the recorder's writes go.
type mode uint8

const (
	passing   mode = iota // writes go to the real writer as they happen
	holding               // buffered: everything is kept until Commit
	discarded             // buffered response dropped by Discard
)

// Recorder is an [http.ResponseWriter] that records the status, headers and
// body a handler writes, either passing them on as they are written (the
// default) or holding them until [Recorder.Commit] (see [Buffered]).
//
// A Recorder is not safe for concurrent use. Call its methods from the
// goroutine running the handler (calls made through
// [http.ResponseController] run there too), or after the handler has
// returned, as a middleware does.
type Recorder struct {
	w  http.ResponseWriter
	sw io.StringWriter // w as a StringWriter, or nil

	own    http.Header // buffered mode: the handler's header map until the response is sent
	snap   http.Header // headers as they were when the final status was written
	add    []field     // headers the recorder's owner adds when a held response is sent
	addBuf [1]field    // add's backing array for the usual single header
	buf    *[]byte     // pooled capture buffer, nil until the first body byte

	writeErr error // first error from the real writer

	cfg options

	written int64 // body bytes accepted
	cl      int64 // declared Content-Length, -1 when none
	limit   int   // body bytes to capture
	status  int   // final status, valid when wroteHeader
	ignored int   // WriteHeader calls that had no effect

	mode        mode
	head        bool // the request method is HEAD
	wroteHeader bool // a final status was written (explicitly or implicitly)
	flushed     bool
	hijacked    bool
	truncated   bool // body bytes were not captured because of the limit
	clInvalid   bool // Content-Length header could not be parsed
	clExceeded  bool // a write went past the declared Content-Length
	released    bool

	probe [1]byte // ReadFrom: one byte read to see whether a source has more
}

// New returns a [Recorder] wrapping w. Without options it is in
// pass-through (tee) mode: every write goes to w at once and a copy of the
// body is kept up to the capture limit. [Buffered] selects buffered mode.
//
// New panics if w is nil.
func New(w http.ResponseWriter, opts ...Option) *Recorder {
	r := new(Recorder)
	r.Reset(w, opts...)
	return r
}

// Reset makes r a new Recorder wrapping w, as [New] does, in r's own
// memory: a middleware can keep the Recorder inside a larger per-request
// struct, or in a pool, instead of allocating one per response. The zero
// Recorder is ready for Reset. Resetting a Recorder that was not released
// releases it first (see [Recorder.Release]); like Release, Reset must not
// be called while a handler may still use r.
//
// In buffered mode Reset reuses the header map the previous response's
// handler was given (cleared) for the new handler: what net/http already
// requires — no use of a ResponseWriter, its header map included, after
// the handler returns — is what makes that safe.
//
// Reset panics if w is nil.
func (r *Recorder) Reset(w http.ResponseWriter, opts ...Option) {
	if w == nil {
		panic("recorder: nil http.ResponseWriter")
	}
	if r.w != nil && !r.released {
		r.Release()
	}
	own := r.own
	*r = Recorder{w: w, cl: -1, cfg: options{limit: DefaultCaptureLimit}}
	for _, opt := range opts {
		opt(&r.cfg) // r is on the heap anyway, so options cost no allocation
	}
	r.limit = r.cfg.limit
	r.head = r.cfg.method == http.MethodHead
	r.sw, _ = w.(io.StringWriter)
	if r.cfg.buffered {
		r.mode = holding
		r.own = copyInto(own, w.Header())
	}
}

// Unwrap returns the wrapped [http.ResponseWriter]. [http.ResponseController]
// uses it to reach features the Recorder does not intercept, such as
// SetReadDeadline, SetWriteDeadline and EnableFullDuplex.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.w }

// Status returns the final status code: the one the handler wrote, or 200
// when it has written none, since that is what net/http sends. 1xx
// informational codes are never the final status. After a successful
// [Recorder.Hijack] with no status written it returns 0: no HTTP response
// was sent.
func (r *Recorder) Status() int {
	switch {
	case r.wroteHeader:
		return r.status
	case r.hijacked:
		return 0
	}
	return http.StatusOK
}

// Written reports whether a final status has been written, explicitly with
// WriteHeader or implicitly by Write, WriteString, ReadFrom or Flush. 1xx
// informational responses do not count.
func (r *Recorder) Written() bool { return r.wroteHeader }

// Body returns the captured body: the whole body when it fits in the
// capture limit, otherwise its first bytes with [Recorder.Truncated]
// reporting true. It is empty for a HEAD request and after
// [Recorder.Discard].
//
// The slice aliases a pooled buffer: it is valid until [Recorder.Release],
// and after that Body returns nil. Copy it to keep it.
func (r *Recorder) Body() []byte {
	if r.buf == nil || r.head || r.released {
		return nil
	}
	return *r.buf
}

// Snapshot returns a copy of the response headers as they were when the
// final status was written; later header changes are not in it. Before a
// final status is written it returns a copy of the current header map,
// which is what net/http would send if the handler returned now. In
// buffered mode, Commit with no status written fixes the snapshot at that
// moment. Each call returns a new copy, so changing it (say, to drop
// headers before storing) changes neither the Recorder nor what Commit
// sends.
//
// The snapshot holds exactly what is in the header map, including headers
// an outer middleware set on the real writer before New (a request id, for
// example): net/http adds Date, Content-Length and a sniffed Content-Type on
// the wire, the Recorder adds nothing.
//
// After [Recorder.Release] the snapshot's map is recycled: once a final
// status was written, Snapshot and SnapshotView return nil.
func (r *Recorder) Snapshot() http.Header {
	if r.wroteHeader {
		return r.snap.Clone()
	}
	return r.Header().Clone()
}

// SnapshotView is [Recorder.Snapshot] without the copy: the snapshot
// itself, or the live header map before a final status was written. It is
// for callers that only read it (to filter or store it) before the next
// write to the Recorder; modifying it, or keeping it past Release, is a bug.
func (r *Recorder) SnapshotView() http.Header {
	if r.wroteHeader {
		return r.snap
	}
	return r.Header()
}

// BytesWritten returns the number of body bytes accepted: written to the
// real writer in pass-through mode, held in buffered mode. Each byte counts
// once, however it arrived (Write, WriteString or ReadFrom). For a HEAD
// request it counts the bytes the handler wrote even though none are sent.
func (r *Recorder) BytesWritten() int64 { return r.written }

// Flushed reports whether the response was flushed (streamed) to the client.
func (r *Recorder) Flushed() bool { return r.flushed }

// Hijacked reports whether the connection was hijacked through the Recorder.
func (r *Recorder) Hijacked() bool { return r.hijacked }

// Truncated reports whether body bytes went past the capture limit, so
// [Recorder.Body] holds only a prefix of what the handler wrote.
func (r *Recorder) Truncated() bool { return r.truncated }

// Holding reports whether the Recorder is in buffered mode and still holds
// the response: nothing but 1xx informational responses has reached the
// real writer yet.
func (r *Recorder) Holding() bool { return r.mode == holding }

// IgnoredWriteHeaders returns how many WriteHeader calls had no effect: a
// second final status, a status after the body started, or a status after
// Hijack or Discard. net/http logs a "superfluous response.WriteHeader
// call" for such calls; the Recorder does not pass them on, so nothing is
// logged, and counts them here instead.
func (r *Recorder) IgnoredWriteHeaders() int { return r.ignored }

// Release returns the Recorder's pooled buffer and snapshot map. Call it
// once the body and snapshot are no longer needed, typically deferred by
// the middleware that called [New]: afterwards [Recorder.Body] returns nil,
// a slice it returned earlier may be overwritten by another response, the
// snapshot is gone (see [Recorder.Snapshot]), and the response is not
// storable. A
// response still held in buffered mode is discarded. Writes after Release
// still reach the client but are not captured. Release is idempotent.
func (r *Recorder) Release() {
	if r.mode == holding {
		r.Discard()
	}
	if r.buf != nil {
		putBuf(r.buf)
		r.buf = nil
	}
	if r.snap != nil {
		putSnapshot(r.snap)
		r.snap = nil
	}
	r.released = true
}
