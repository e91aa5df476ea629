package httpx

import (
	"slices"
	"unicode/utf8"
)

// ErrorResponse is the standard error body:
//
//	{"error":"INSUFFICIENT_STOCK","message":"Not enough seats available",
//	 "details":{"available":"5","requested":"10"},"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}
//
// details and trace_id are omitted when empty.
type ErrorResponse struct {
	// Error is the stable machine code.
	Error string `json:"error"`
	// Message is the public, human-readable message.
	Message string `json:"message"`
	// Details are public key/value details.
	Details map[string]string `json:"details,omitempty"`
	// TraceID is the request's trace id (see [TraceID]).
	TraceID string `json:"trace_id,omitempty"`
}

// MarshalJSON encodes the body without reflection. The output is the same,
// byte for byte, as encoding/json's for the struct's tags: fields in
// declaration order, details sorted by key, HTML characters escaped.
func (e ErrorResponse) MarshalJSON() ([]byte, error) {
	return e.appendJSON(make([]byte, 0, 128)), nil
}

func (e *ErrorResponse) appendJSON(b []byte) []byte {
	b = append(b, `{"error":`...)
	b = appendJSONString(b, e.Error)
	b = append(b, `,"message":`...)
	b = appendJSONString(b, e.Message)
	if len(e.Details) > 0 {
		b = append(b, `,"details":`...)
		b = appendStringMap(b, e.Details)
	}
	if e.TraceID != "" {
		b = append(b, `,"trace_id":`...)
		b = appendJSONString(b, e.TraceID)
	}
	return append(b, '}')
}

// appendStringMap writes m as a JSON object with sorted keys.
func appendStringMap(b []byte, m map[string]string) []byte {
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, m[k])
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaping exactly as
// encoding/json does with HTML escaping on: control characters, '"', '\\',
// '<', '>', '&', U+2028 and U+2029; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
