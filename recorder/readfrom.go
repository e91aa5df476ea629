package recorder

import (
	"io"
	"net/http"
	"slices"
)

// chunkSize is the smallest step by which ReadFrom grows a full capture
// buffer.
const chunkSize = 32 << 10

// ReadFrom copies src into the response. It captures only what the
// capture limit needs: those bytes are read straight into the capture
// buffer and written like [Recorder.Write] (net/http itself copies the
// first 512 bytes of a ReadFrom this way). The rest of the same src is
// handed to the real writer's own ReadFrom, so net/http can still use
// sendfile or splice for a file; when the real writer has no ReadFrom it
// is copied.
//
// In buffered mode the whole src is held while it fits in the limit; a
// larger one is sent on like an oversized Write. For a HEAD request nothing
// is captured and src goes straight to the real writer.
//
// Errors reading src are returned as they are. Content-Length is checked
// for the captured bytes; for the handed-off rest the real writer checks it
// and the Recorder marks the response not storable if it went over.
func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	switch {
	case r.hijacked:
		return 0, http.ErrHijacked
	case r.mode == discarded:
		return 0, ErrDiscarded
	case r.wroteHeader && !bodyAllowed(r.status):
		// Like net/http: an empty src is fine, a byte of body is not.
		if n, err := io.ReadFull(src, r.probe[:]); n == 0 {
			if err == io.EOF {
				err = nil
			}
			return 0, err
		}
		return 0, http.ErrBodyNotAllowed
	}
	var total int64
	for r.capturing() && r.room() > 0 {
		spare := r.spare()
		n, err := src.Read(spare)
		if n > 0 {
			// spare lies just past the captured bytes, so capturing it is
			// an append onto itself: no copy buffer is needed.
			m, werr := r.Write(spare[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	if r.mode == holding || !r.wroteHeader {
		// Read one byte before committing to anything: a source that ends
		// exactly at the limit must not push a held response out, and an
		// empty one must not write a status (net/http's ReadFrom does not).
		n, err := io.ReadFull(src, r.probe[:])
		if n == 0 {
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		m, werr := r.Write(r.probe[:n])
		total += int64(m)
		if werr != nil {
			return total, werr
		}
	}
	n, err := r.handOff(src)
	total += n
	return total, err
}

// capturing reports whether body bytes should be read into the capture
// buffer: always while a response is held, otherwise while the capture is
// wanted.
func (r *Recorder) capturing() bool {
	if r.mode == holding {
		return true
	}
	return !r.head && !r.released
}

// spare returns free capacity at the end of the capture buffer, no more than
// the room left, growing the buffer (doubling, up to the limit) when it is
// full.
func (r *Recorder) spare() []byte {
	if r.buf == nil {
		r.buf = getBuf()
	}
	b := *r.buf
	room := r.room()
	if cap(b) == len(b) {
		b = slices.Grow(b, min(room, max(cap(b), chunkSize)))
		*r.buf = b
	}
	return b[len(b):min(cap(b), len(b)+room)]
}

// handOff sends the rest of src to the real writer, through its ReadFrom
// when it has one. The Recorder is passing through at this point.
func (r *Recorder) handOff(src io.Reader) (int64, error) {
	var n int64
	var err error
	if rf, ok := r.w.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{r.w}, src)
	}
	r.written += n
	if n > 0 && !r.head {
		r.truncated = true
	}
	if r.cl >= 0 && r.written > r.cl {
		r.clExceeded = true
	}
	if err != nil && r.writeErr == nil {
		r.writeErr = err
	}
	return n, err
}

// writerOnly hides a writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }
