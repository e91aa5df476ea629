package httpx

import "net/http"

// inlineFields is how many single-valued headers a [HeaderSnapshot] holds
// without allocating: enough for what request-id, CORS and security-header
// middlewares set before a handler runs.
const inlineFields = 8

// HeaderSnapshot holds a response's headers as they were before a handler
// ran, so that an error answer can drop every header the failed handler set
// (a Content-Encoding that would make the error body unreadable, a
// Cache-Control that would let a CDN cache it, a debug header) and keep the
// ones outer middleware set, with their outer values. [HandlerFunc],
// [ErrorWriter.Handler] and middleware.Recover use it; a middleware that
// writes its own error answer for a failed handler uses it the same way:
//
//	var saved httpx.HeaderSnapshot
//	saved.Save(w.Header())
//	err := run(w, r)
//	if err != nil && !httpx.ResponseStarted(w) {
//		saved.Restore(w.Header())
//	}
//
// Restoring is only meaningful before the response has started: net/http
// sends the header map when the status is written, so later changes reach
// the client only as trailers.
//
// Save costs no allocation for up to 8 headers with one value each, the
// usual case; further or multi-valued headers are copied. Values are
// copied, so the handler's changes to the map, even in place, never reach
// the snapshot. The zero HeaderSnapshot is the snapshot of an empty map.
// A HeaderSnapshot is meant to live in a local variable of the handler
// that takes it; it is not safe for concurrent use.
type HeaderSnapshot struct {
	n     int
	small [inlineFields]snapshotField
	more  http.Header // what did not fit in small, deep-copied
}

// snapshotField is one single-valued header, or a header present with no
// value (as net/http's h["Date"] = nil, which suppresses the header).
type snapshotField struct {
	name    string
	value   string
	novalue bool
}

// Save replaces s's contents with a snapshot of h.
func (s *HeaderSnapshot) Save(h http.Header) {
	s.n = 0
	s.more = nil
	if len(h) == 0 {
		return
	}
	for name, vals := range h {
		if len(vals) <= 1 && s.n < inlineFields {
			f := snapshotField{name: name, novalue: len(vals) == 0}
			if len(vals) == 1 {
				f.value = vals[0]
			}
			s.small[s.n] = f
			s.n++
			continue
		}
		if s.more == nil {
			s.more = make(http.Header, len(h)-s.n)
		}
		s.more[name] = cloneValues(vals)
	}
}

// Restore makes h hold exactly the headers of the snapshot: it deletes
// every key of h, then sets the saved ones, with copies of the saved
// values. It may be called more than once.
func (s *HeaderSnapshot) Restore(h http.Header) {
	clear(h)
	var one []string // the single values, in one allocation
	if s.n > 0 {
		one = make([]string, s.n)
	}
	for i := range s.n {
		f := &s.small[i]
		if f.novalue {
			h[f.name] = nil
			continue
		}
		one[i] = f.value
		h[f.name] = one[i : i+1 : i+1] // capped: Header.Add copies
	}
	for name, vals := range s.more {
		h[name] = cloneValues(vals)
	}
}

// cloneValues copies vals, keeping a nil slice nil.
func cloneValues(vals []string) []string {
	if vals == nil {
		return nil
	}
	return append(make([]string, 0, len(vals)), vals...)
}
