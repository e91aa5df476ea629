package recorder

import (
	"io"
	"net/http"
	"strings"
)

// Commit sends a held response to the real writer: the headers as
// snapshotted when the final status was written (they replace the real
// writer's header map at this moment), the status, the body, and any
// trailers the handler set. If the handler wrote nothing, Commit sends
// 200 with the headers as they are now.
//
// Commit is for buffered mode; in pass-through mode, or once the response
// has been sent (by an earlier Commit, a Flush, a Hijack or an oversized
// body), it sends nothing and returns nil, so calling it twice never writes
// twice. It returns [ErrDiscarded] after [Recorder.Discard], and the real
// writer's error if sending fails. Writes after Commit go straight through
// and are captured while under the limit.
func (r *Recorder) Commit() error {
	switch r.mode {
	case discarded:
		return ErrDiscarded
	case passing:
		r.copyTrailers()
		return nil
	}
	return r.send()
}

// SetCommitHeader sets header key to values on a held response when it
// is sent (by Commit, or by a Flush or an oversized body that switches to
// pass-through), after the snapshot, replacing values of the same key. It
// is for the code that owns the recorder — a middleware adding, say, an
// expiry header once it knows the outcome — not for the handler, and does
// not change [Recorder.Snapshot]. Setting it after the response was sent
// has no effect.
//
// The key is used as given, so pass it in canonical form (see
// [http.CanonicalHeaderKey]); values is kept, not copied, and must not be
// modified afterwards.
func (r *Recorder) SetCommitHeader(key string, values ...string) {
	for i := range r.add {
		if r.add[i].key == key {
			r.add[i].values = values
			return
		}
	}
	if r.add == nil {
		r.add = r.addBuf[:0]
	}
	r.add = append(r.add, field{key, values})
}

// field is one header set with [Recorder.SetCommitHeader].
type field struct {
	key    string
	values []string
}

// Discard drops a held response: nothing of it has reached the real
// writer, whose header map is untouched (1xx informational responses
// already sent are the exception), so the caller can write a different
// response to the real writer. Afterwards [Recorder.Body] is empty, writes
// return [ErrDiscarded], and the response is not storable; [Recorder.Status]
// still reports what the handler wrote.
//
// Discard does nothing in pass-through mode or once the response has been
// sent, and is idempotent.
func (r *Recorder) Discard() {
	if r.mode != holding {
		return
	}
	r.mode = discarded
	if r.buf != nil {
		*r.buf = (*r.buf)[:0]
	}
}

// send writes the held response to the real writer and switches to
// pass-through.
func (r *Recorder) send() error {
	if !r.wroteHeader {
		r.wroteHeader = true
		r.status = http.StatusOK
		r.snap = snapshot(r.own)
		r.parseContentLength()
	}
	r.mode = passing
	dst := r.w.Header()
	dropOthers(dst, r.snap)
	for k, vv := range r.snap {
		dst[k] = vv // the snapshot's values are its own and never pooled
	}
	for _, f := range r.add {
		dst[f.key] = f.values
	}
	r.w.WriteHeader(r.status)
	if r.buf != nil && len(*r.buf) > 0 {
		held := *r.buf
		n, err := r.w.Write(held)
		n = max(0, min(n, len(held)))
		if err == nil && n < len(held) {
			err = io.ErrShortWrite
		}
		if err != nil {
			// Keep only what the client accepted.
			r.written -= int64(len(held) - n)
			*r.buf = held[:n]
			if r.writeErr == nil {
				r.writeErr = err
			}
			return err
		}
	}
	r.copyTrailers()
	return nil
}

// copyTrailers copies trailer values the handler set in its own header map
// to the real writer's map, where net/http reads them when the handler
// returns: the keys declared in the Trailer header and keys with
// [http.TrailerPrefix].
func (r *Recorder) copyTrailers() {
	if r.own == nil || r.snap == nil {
		return
	}
	real := r.w.Header()
	for _, v := range r.snap["Trailer"] {
		for k := range strings.SplitSeq(v, ",") {
			k = http.CanonicalHeaderKey(strings.TrimSpace(k))
			if vv, ok := r.own[k]; ok {
				real[k] = vv
			}
		}
	}
	for k, vv := range r.own {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			real[k] = vv
		}
	}
}

// replaceHeader makes dst hold exactly the keys and values of src, copying
// the values so later changes to one map do not show in the other.
func replaceHeader(dst, src http.Header) {
	dropOthers(dst, src)
	setValues(dst, src)
}

// dropOthers deletes the keys of dst that src does not have.
func dropOthers(dst, src http.Header) {
	for k := range dst {
		if _, ok := src[k]; !ok {
			delete(dst, k)
		}
	}
}

// setValues sets each key of src in dst to a copy of its values. The
// copies share one new array, sized for one value per key, the usual case:
// a key with more values may move the rest to a larger array, which leaves
// the copies made before it valid. One pass, not a count first: starting
// an iteration of a map is a measurable part of a response here.
func setValues(dst, src http.Header) {
	values := make([]string, 0, len(src))
	for k, vv := range src {
		i := len(values)
		values = append(values, vv...)
		dst[k] = values[i:len(values):len(values)]
	}
}
