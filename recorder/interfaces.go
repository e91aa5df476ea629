package recorder

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
)

var (
	errFlushNotSupported  = fmt.Errorf("recorder: flush: %w", http.ErrNotSupported)
	errHijackNotSupported = fmt.Errorf("recorder: hijack: %w", http.ErrNotSupported)
)

// rwUnwrapper is implemented by writers that wrap another, like Recorder.
type rwUnwrapper interface {
	Unwrap() http.ResponseWriter
}

// Flush sends any buffered data to the client, like [Recorder.FlushError]
// without the error. It does nothing when the wrapped writer cannot flush.
func (r *Recorder) Flush() {
	_ = r.FlushError()
}

// FlushError flushes the response to the client and reports failure. It
// looks for a flusher the way [http.ResponseController] does: FlushError,
// then Flush, on the wrapped writer or the writers its Unwrap chain
// reaches. Without one it returns an error matching [http.ErrNotSupported]
// and changes nothing.
//
// Otherwise, as in net/http, a flush with no status written writes 200
// first. In buffered mode the held response is sent before the flush and
// the Recorder switches to pass-through. The response counts as streamed
// and is not storable. The wrapped writer's error is returned as is.
func (r *Recorder) FlushError() error {
	switch {
	case r.hijacked:
		return http.ErrHijacked
	case r.mode == discarded:
		return ErrDiscarded
	}
	fe, f := findFlusher(r.w)
	if fe == nil && f == nil {
		return errFlushNotSupported
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if r.mode == holding {
		if err := r.send(); err != nil {
			return err
		}
	}
	r.flushed = true
	if f != nil {
		f.Flush()
		return nil
	}
	err := fe.FlushError()
	if err != nil && r.writeErr == nil {
		r.writeErr = err
	}
	return err
}

func findFlusher(w http.ResponseWriter) (interface{ FlushError() error }, http.Flusher) {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }:
			return t, nil
		case http.Flusher:
			return nil, t
		case rwUnwrapper:
			w = t.Unwrap()
		default:
			return nil, nil
		}
	}
}

// Hijack lets the caller take over the connection, through the first
// [http.Hijacker] on the wrapped writer's Unwrap chain. Without one (as
// over HTTP/2) it returns an error matching [http.ErrNotSupported].
//
// In buffered mode a held status and body are sent first, as net/http
// flushes what was written before a hijack. After a successful Hijack the
// response is not storable, and the Recorder never calls the real writer's
// WriteHeader or Write again: Write returns [http.ErrHijacked] and
// WriteHeader is ignored.
func (r *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	switch {
	case r.hijacked:
		return nil, nil, http.ErrHijacked
	case r.mode == discarded:
		return nil, nil, ErrDiscarded
	}
	h := findHijacker(r.w)
	if h == nil {
		return nil, nil, errHijackNotSupported
	}
	if r.mode == holding && r.wroteHeader {
		if err := r.send(); err != nil {
			return nil, nil, err
		}
	}
	conn, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	r.hijacked = true
	if r.mode == holding {
		r.mode = passing // nothing was written, so nothing is held
	}
	return conn, rw, nil
}

func findHijacker(w http.ResponseWriter) http.Hijacker {
	for {
		switch t := w.(type) {
		case http.Hijacker:
			return t
		case rwUnwrapper:
			w = t.Unwrap()
		default:
			return nil
		}
	}
}

// Push initiates an HTTP/2 server push through the first [http.Pusher] on
// the wrapped writer's Unwrap chain, and returns [http.ErrNotSupported]
// when there is none. A push does not change what is recorded.
func (r *Recorder) Push(target string, opts *http.PushOptions) error {
	w := r.w
	for {
		switch t := w.(type) {
		case http.Pusher:
			return t.Push(target, opts)
		case rwUnwrapper:
			w = t.Unwrap()
		default:
			return http.ErrNotSupported
		}
	}
}
