package recorder

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Header returns the header map the handler should change. In pass-through
// mode it is the real writer's map. In buffered mode it is the Recorder's
// own map (a copy of the real one taken by New) until the response is sent,
// so a discarded response leaves the real map untouched.
func (r *Recorder) Header() http.Header {
	if r.own != nil && r.mode != passing {
		return r.own
	}
	return r.w.Header()
}

// WriteHeader writes a status code the way net/http does.
//
//   - A code outside 100–999 panics with net/http's message.
//   - 1xx informational codes other than 101 go to the client at once, in
//     buffered mode too, with the current headers, and are never taken as
//     the final status.
//   - The first other code is the final status; the headers are
//     snapshotted then (see [Recorder.Snapshot]). 101 Switching Protocols is
//     final and makes the response not storable.
//   - Any later call, or a call after Hijack or Discard, is ignored, not
//     passed on, and counted by [Recorder.IgnoredWriteHeaders].
func (r *Recorder) WriteHeader(code int) {
	if r.wroteHeader || r.hijacked || r.mode == discarded {
		r.ignored++
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		r.informational(code)
		return
	}
	r.wroteHeader = true
	r.status = code
	r.snap = snapshot(r.Header())
	r.parseContentLength()
	if r.mode == passing {
		r.w.WriteHeader(code)
	}
}

// informational sends a 1xx response. In buffered mode the real header map
// briefly holds the handler's headers, as net/http sends the current map
// with a 1xx, and is then restored.
func (r *Recorder) informational(code int) {
	if r.mode != holding {
		r.w.WriteHeader(code)
		return
	}
	real := r.w.Header()
	saved := real.Clone()
	replaceHeader(real, r.own)
	r.w.WriteHeader(code)
	replaceHeader(real, saved)
}

func (r *Recorder) parseContentLength() {
	v := r.snap.Get("Content-Length")
	if v == "" {
		return
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		r.clInvalid = true
		return
	}
	r.cl = n
}

// bodyAllowed reports whether a response with status may have a body
// (RFC 9110 6.4.1), as net/http decides it.
func bodyAllowed(status int) bool {
	return (status < 100 || status > 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

// startBody does what net/http does before accepting n body bytes: the
// implicit 200, then the checks that reject the write.
func (r *Recorder) startBody(n int) error {
	switch {
	case r.hijacked:
		return http.ErrHijacked
	case r.mode == discarded:
		return ErrDiscarded
	}
	if !r.wroteHeader {
		r.WriteHeader(http.StatusOK)
	}
	if n == 0 {
		return nil
	}
	if !bodyAllowed(r.status) {
		return http.ErrBodyNotAllowed
	}
	if r.cl >= 0 && (r.clExceeded || r.written+int64(n) > r.cl) {
		r.clExceeded = true
		return http.ErrContentLength
	}
	return nil
}

// Write writes p to the response, with net/http's rules: an implicit
// WriteHeader(200) first, [http.ErrBodyNotAllowed] after 204, 304 or 1xx,
// [http.ErrContentLength] past a declared Content-Length, and
// [http.ErrHijacked] after Hijack. It returns [ErrDiscarded] after
// [Recorder.Discard].
//
// In pass-through mode p goes to the real writer and the bytes it accepts
// are captured up to the limit; a short write returns [io.ErrShortWrite].
// In buffered mode p is held; a write that takes the body past the capture
// limit sends the held response and p on to the client and switches to
// pass-through. After Commit, writes go straight through and are captured
// while under the limit.
func (r *Recorder) Write(p []byte) (int, error) {
	if err := r.startBody(len(p)); err != nil || len(p) == 0 {
		return 0, err
	}
	if r.mode == holding {
		if len(p) <= r.room() {
			captureHeld(r, p)
			return len(p), nil
		}
		if err := r.overflow(); err != nil {
			return 0, err
		}
	}
	n, err := r.w.Write(p)
	return passed(r, p, n, err)
}

// WriteString is like [Recorder.Write] for a string. It uses the real
// writer's WriteString when it has one, so no copy is made.
func (r *Recorder) WriteString(s string) (int, error) {
	if err := r.startBody(len(s)); err != nil || len(s) == 0 {
		return 0, err
	}
	if r.mode == holding {
		if len(s) <= r.room() {
			captureHeld(r, s)
			return len(s), nil
		}
		if err := r.overflow(); err != nil {
			return 0, err
		}
	}
	var n int
	var err error
	if r.sw != nil {
		n, err = r.sw.WriteString(s)
	} else {
		n, err = r.w.Write([]byte(s))
	}
	return passed(r, s, n, err)
}

// room returns how many more body bytes the capture buffer may take.
func (r *Recorder) room() int {
	if r.buf == nil {
		return r.limit
	}
	return r.limit - len(*r.buf)
}

// overflow handles a held body growing past the capture limit: the held
// response goes to the client and the recorder switches to pass-through.
func (r *Recorder) overflow() error {
	r.truncated = true
	return r.send()
}

// captureHeld appends p, which fits in the room left, to the held body.
func captureHeld[T []byte | string](r *Recorder, p T) {
	if r.buf == nil {
		r.buf = getBuf()
	}
	*r.buf = append(*r.buf, p...)
	r.written += int64(len(p))
}

// passed records a write of p to the real writer, which accepted n bytes.
func passed[T []byte | string](r *Recorder, p T, n int, err error) (int, error) {
	n = max(0, min(n, len(p))) // a writer reporting more than it was given is not believed
	r.written += int64(n)
	capturePassed(r, p[:n])
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil && r.writeErr == nil {
		r.writeErr = err
	}
	return n, err
}

// capturePassed keeps a copy of bytes sent to the client, up to the limit.
func capturePassed[T []byte | string](r *Recorder, p T) {
	if r.head || len(p) == 0 {
		return
	}
	if r.released {
		r.truncated = true
		return
	}
	room := r.room()
	if len(p) > room {
		p = p[:room]
		r.truncated = true
	}
	if len(p) == 0 {
		return
	}
	if r.buf == nil {
		r.buf = getBuf()
	}
	*r.buf = append(*r.buf, p...)
}
