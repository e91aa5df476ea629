package middleware

import (
	"net/http"
	"strings"
)

// maxDeltaSeconds is where a delta-seconds value saturates (RFC 9110,
// section 1.2.1: a larger value is taken as 2147483648).
const maxDeltaSeconds = 2147483648

// preferWait returns the seconds of the RFC 7240 "wait" preference in the
// Prefer header fields of h. Only the first "wait" preference counts (RFC
// 7240, section 2); ok is false when there is none or when it is malformed,
// so a malformed preference is ignored like an absent one. Other
// preferences and all preference parameters are ignored.
func preferWait(h http.Header) (secs int64, ok bool) {
	val, found := preference(h["Prefer"], "wait")
	if !found {
		return 0, false
	}
	return deltaSeconds(val)
}

// preference returns the value of the first preference called name in the
// Prefer field values, unquoted. found is false when no element names it;
// a first such preference without a value, or with a malformed one, is
// found with the value "".
//
//	Prefer     = 1#preference
//	preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
func preference(fields []string, name string) (value string, found bool) {
	for _, field := range fields {
		for rest := field; rest != ""; {
			var elem string
			elem, rest = cutUnquoted(rest, ',')
			elem, _ = cutUnquoted(elem, ';') // parameters are ignored
			tok, val, hasVal := strings.Cut(elem, "=")
			if !strings.EqualFold(strings.Trim(tok, " \t"), name) {
				continue
			}
			if !hasVal {
				return "", true
			}
			v, ok := word(strings.Trim(val, " \t"))
			if !ok {
				return "", true
			}
			return v, true
		}
	}
	return "", false
}

// cutUnquoted cuts s around the first sep outside a quoted string. An
// unterminated quoted string runs to the end of s.
func cutUnquoted(s string, sep byte) (before, after string) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// word returns a token, or the content of a quoted-string with its
// quoted-pairs resolved; ok is false for anything else.
func word(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] != '"' {
		for i := 0; i < len(s); i++ {
			if !isTokenChar(s[i]) {
				return "", false
			}
		}
		return s, true
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			if i+1 == len(s) {
				return "", false
			}
			i++
			b.WriteByte(s[i])
		case c == '"':
			if i != len(s)-1 {
				return "", false
			}
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false // unterminated
}

// deltaSeconds parses 1*DIGIT, saturating at maxDeltaSeconds.
func deltaSeconds(s string) (int64, bool) {
	if s == "" {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = min(n*10+int64(c-'0'), maxDeltaSeconds)
	}
	return n, true
}

// isTokenChar reports whether c is a tchar (RFC 9110, section 5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
