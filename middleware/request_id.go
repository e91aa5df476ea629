package middleware

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"

	"github.com/idemkit/idemkit/httpx"
)

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-ID"

// maxRequestIDLen bounds an accepted incoming X-Request-ID.
const maxRequestIDLen = 128

// RequestID gives every request an id, stores it with httpx.WithTraceID (so
// httpx.TraceID, the error body's trace_id and the error log carry it) and
// echoes it in the X-Request-ID response header. The id is, in order:
//
//  1. the incoming X-Request-ID header, when valid: 1 to 128 bytes of
//     printable ASCII without spaces (0x21–0x7E);
//  2. else the trace-id of a single valid W3C traceparent header (32 lower-
//     case hex digits), so the id matches the caller's distributed trace;
//  3. else a new random 128-bit id from crypto/rand, as 32 lower-case hex
//     digits.
//
// Put RequestID first in the chain, before Recover, so that even a panic's
// answer carries the id.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := requestIDFrom(r.Header)
		w.Header().Set(requestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(httpx.WithTraceID(r.Context(), id)))
	})
}

func requestIDFrom(h http.Header) string {
	if id := h.Get(requestIDHeader); validRequestID(id) {
		return id
	}
	if tp := h.Values("Traceparent"); len(tp) == 1 {
		if id, ok := traceparentTraceID(tp[0]); ok {
			return id
		}
	}
	return newRequestID()
}

// validRequestID reports whether id is 1–128 bytes of 0x21–0x7E.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// traceparentTraceID returns the trace-id of a W3C Trace Context traceparent
// value: "version-traceid-parentid-flags", all lower-case hex, version not
// ff, trace-id and parent-id not all zeros. Version 00 has exactly 55 bytes;
// a later version may append "-" and more fields, which are ignored.
func traceparentTraceID(v string) (string, bool) {
	const size = 55
	if len(v) < size || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return "", false
	}
	version, traceID, parentID, flags := v[0:2], v[3:35], v[36:52], v[53:55]
	if !lowerHex(version) || version == "ff" || !lowerHex(flags) ||
		!lowerHex(traceID) || allZeros(traceID) || !lowerHex(parentID) || allZeros(parentID) {
		return "", false
	}
	if len(v) > size && (version == "00" || v[size] != '-') {
		return "", false
	}
	return traceID, true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func allZeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// newRequestID returns 128 random bits as 32 lower-case hex digits.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}
