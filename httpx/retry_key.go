package httpx

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
)

// alternateKeyHeader is the second header name the idemkit middleware reads a
// key from; a request carrying it already has a key.
const alternateKeyHeader = "X-Idempotency-Key"

// newIdempotencyKey returns a random (version 4) UUID.
func newIdempotencyKey() string {
	var u [16]byte
	rand.Read(u[:]) // never fails (crypto/rand, Go 1.24+)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], u[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], u[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], u[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], u[8:10])
	s[23] = '-'
	hex.Encode(s[24:], u[10:])
	return string(s[:])
}

// keyFor returns the key the attempts of a request carry: the caller's, a
// new one when method is in p.KeyMethods, or "" (no key). p must have its
// defaults applied.
func (p *RetryPolicy) keyFor(h http.Header, method string) string {
	if v := h.Get(p.KeyHeader); v != "" {
		return v
	}
	if v := h.Get(alternateKeyHeader); v != "" {
		return v
	}
	if slices.Contains(p.KeyMethods, method) {
		return newIdempotencyKey()
	}
	return ""
}
