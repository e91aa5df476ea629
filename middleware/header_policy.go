package middleware

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"
)

// HeaderPolicy decides which response headers are stored with a completed
// record and replayed. The zero value stores every header the handler set,
// except the denylist, which no policy can override: Set-Cookie,
// Authorization, WWW-Authenticate, Proxy-Authenticate, the hop-by-hop
// headers (Connection and the headers it names, Keep-Alive, Proxy-Connection,
// TE, Trailer, Transfer-Encoding, Upgrade), Date, X-Request-ID, Traceparent,
// Tracestate, Idempotent-Replayed and rate-limit headers (RateLimit*,
// X-RateLimit-*, X-Rate-Limit-*). Multi-value headers are stored with all
// their values, in order, byte for byte.
type HeaderPolicy struct {
	// Allow, when non-empty, switches to allowlist mode: only the named
	// headers are stored (the denylist still applies).
	Allow []string
	// Deny names more headers never to store, on top of the denylist.
	Deny []string
}

// deniedHeader reports whether name (canonical) is on the hard denylist.
// A switch, not a map: it runs for every header of every stored response,
// and a map lookup reads the map's table and its keys, memory that is
// cold under load.
func deniedHeader(name string) bool {
	switch name {
	case "Set-Cookie", "Authorization", "Www-Authenticate", "Proxy-Authenticate", "Proxy-Authorization",
		"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
		"Date", "X-Request-Id", "Traceparent", "Tracestate", HeaderReplayed:
		return true
	}
	return false
}

// headerFilter is a HeaderPolicy compiled for lookups without allocation.
type headerFilter struct {
	allow map[string]struct{} // nil: everything not denied
	deny  map[string]struct{}
}

func (p HeaderPolicy) compile() headerFilter {
	var f headerFilter // nil maps when unused: a lookup then reads nothing
	if len(p.Deny) > 0 {
		f.deny = make(map[string]struct{}, len(p.Deny))
	}
	for _, h := range p.Deny {
		f.deny[textproto.CanonicalMIMEHeaderKey(h)] = struct{}{}
	}
	if len(p.Allow) > 0 {
		f.allow = make(map[string]struct{}, len(p.Allow))
		for _, h := range p.Allow {
			f.allow[textproto.CanonicalMIMEHeaderKey(h)] = struct{}{}
		}
	}
	return f
}

// stored reports whether the header named name (canonical) may be stored;
// connTokens are the header names listed in the response's Connection header.
func (f headerFilter) stored(name string, connTokens []string) bool {
	if deniedHeader(name) {
		return false
	}
	if _, denied := f.deny[name]; denied {
		return false
	}
	if isRateLimitHeader(name) {
		return false
	}
	for _, t := range connTokens {
		if strings.EqualFold(strings.TrimSpace(t), name) {
			return false
		}
	}
	if f.allow != nil {
		_, ok := f.allow[name]
		return ok
	}
	return true
}

// isRateLimitHeader matches the IETF RateLimit headers and the common
// X-RateLimit-* and X-Rate-Limit-* variants (canonical form).
func isRateLimitHeader(name string) bool {
	return strings.HasPrefix(name, "Ratelimit") ||
		strings.HasPrefix(name, "X-Ratelimit") ||
		strings.HasPrefix(name, "X-Rate-Limit")
}

// filter returns the headers of h that the policy stores. Headers present
// in outer with the same values were set by middleware in front of this
// one, not by the handler: that middleware sets them again on a replay
// (perhaps differently), so they are not stored.
//
// The result shares h's value slices (capped, so an append copies), and is
// h itself when every header is kept, the common case: no allocation. It is
// only read, and a Store copies what it keeps before returning.
func (f headerFilter) filter(h, outer http.Header) http.Header {
	var conn []string
	for _, v := range h["Connection"] {
		conn = append(conn, strings.Split(v, ",")...)
	}
	all := true
	for name, vals := range h {
		if !f.keeps(name, vals, outer, conn) {
			all = false
			break
		}
	}
	if all {
		return h
	}
	out := make(http.Header, len(h))
	for name, vals := range h {
		if f.keeps(name, vals, outer, conn) {
			out[name] = vals[:len(vals):len(vals)]
		}
	}
	return out
}

// keeps reports whether filter keeps the header name with values vals.
func (f headerFilter) keeps(name string, vals []string, outer http.Header, conn []string) bool {
	if len(vals) == 0 || !f.stored(textproto.CanonicalMIMEHeaderKey(name), conn) {
		return false
	}
	prev, ok := outer[name]
	return !ok || !slices.Equal(prev, vals)
}
