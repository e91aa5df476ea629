package recorder

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Reasons a recorded response is not storable, as returned (joined) by
// [Recorder.Unstorable]. Test for them with [errors.Is].
var (
	// ErrStreamed means the response was flushed to the client while the
	// handler ran, so it was streamed rather than answered in one piece.
	ErrStreamed = errors.New("recorder: response was streamed (flushed)")
	// ErrHijacked means the handler took over the connection.
	ErrHijacked = errors.New("recorder: connection was hijacked")
	// ErrTruncated means the body went past the capture limit.
	ErrTruncated = errors.New("recorder: body exceeds the capture limit")
	// ErrTrailers means the response declares or sets trailers.
	ErrTrailers = errors.New("recorder: response has trailers")
	// ErrLengthMismatch means the body does not match the declared
	// Content-Length, or the header is not a valid length.
	ErrLengthMismatch = errors.New("recorder: body length does not match Content-Length")
	// ErrWriteFailed means the real writer failed or wrote short, so the client
	// did not get the whole response. It wraps the writer's error.
	ErrWriteFailed = errors.New("recorder: write to the client failed")
	// ErrHeadResponse means the response answers a HEAD request and has no body.
	ErrHeadResponse = errors.New("recorder: response to a HEAD request")
	// ErrSwitchingProtocols means the final status is 101.
	ErrSwitchingProtocols = errors.New("recorder: status 101 switches protocols")
	// ErrDiscarded means the held response was discarded. Write, ReadFrom,
	// Flush, Hijack and Commit also return it after [Recorder.Discard].
	ErrDiscarded = errors.New("recorder: response was discarded")
	// ErrReleased means [Recorder.Release] was called, so the body is gone.
	ErrReleased = errors.New("recorder: buffers were released")
)

// Storable reports whether the recorded response is complete and can be
// replayed later as the answer to the same request: its status, snapshot
// and body are exactly what the client got. Ask after the handler has
// returned (and, in buffered mode, typically before Commit).
//
// It is false when the response was streamed, hijacked, truncated, has
// trailers, does not match its Content-Length, failed to reach the client,
// answers a HEAD request, switched protocols (101), was discarded, or its
// buffers were released. Writes rejected with [http.ErrBodyNotAllowed] or a
// handler that wrote nothing (an empty 200) do not make it unstorable.
func (r *Recorder) Storable() bool {
	return r.reasons(nil) == 0
}

// Unstorable returns nil when the response is storable, otherwise an error
// that matches (with [errors.Is]) each reason that applies: [ErrStreamed],
// [ErrHijacked], [ErrTruncated], [ErrTrailers], [ErrLengthMismatch],
// [ErrWriteFailed] (wrapping the writer's error), [ErrHeadResponse],
// [ErrSwitchingProtocols], [ErrDiscarded] or [ErrReleased].
func (r *Recorder) Unstorable() error {
	var errs []error
	r.reasons(func(err error) { errs = append(errs, err) })
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	return errors.Join(errs...)
}

// Reason returns why the response is not storable, as one line of text, or
// "" when it is storable. It is meant for logs; use [Recorder.Unstorable]
// to decide in code.
func (r *Recorder) Reason() string {
	err := r.Unstorable()
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

// reasons counts the reasons the response is not storable, passing each to
// report when it is not nil.
func (r *Recorder) reasons(report func(error)) int {
	n := 0
	add := func(cond bool, err error) {
		if !cond {
			return
		}
		n++
		if report != nil {
			report(err)
		}
	}
	add(r.flushed, ErrStreamed)
	add(r.hijacked, ErrHijacked)
	add(r.truncated, ErrTruncated)
	add(r.hasTrailers(), ErrTrailers)
	add(r.lengthMismatch(), ErrLengthMismatch)
	if r.writeErr != nil {
		n++
		if report != nil {
			report(fmt.Errorf("%w: %w", ErrWriteFailed, r.writeErr))
		}
	}
	add(r.head, ErrHeadResponse)
	add(r.wroteHeader && r.status == http.StatusSwitchingProtocols, ErrSwitchingProtocols)
	add(r.mode == discarded, ErrDiscarded)
	add(r.released, ErrReleased)
	return n
}

func (r *Recorder) lengthMismatch() bool {
	if r.clInvalid || r.clExceeded {
		return true
	}
	if r.cl < 0 || r.head || !bodyAllowed(r.Status()) {
		return false
	}
	return r.written != r.cl
}

func (r *Recorder) hasTrailers() bool {
	if r.snap != nil && len(r.snap["Trailer"]) > 0 {
		return true
	}
	maps := []http.Header{r.own, r.w.Header()}
	if r.mode == holding {
		// Only the handler's own map: the real one holds what New copied
		// into it, and nothing was sent yet.
		maps = maps[:1]
	}
	for _, h := range maps {
		if len(h["Trailer"]) > 0 && !r.wroteHeader {
			return true
		}
		for k := range h {
			if strings.HasPrefix(k, http.TrailerPrefix) {
				return true
			}
		}
	}
	return false
}
