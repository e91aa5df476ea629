package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/idemkit/idemkit/errs"
)

// DefaultMaxBodyBytes is the body limit of [DecodeJSON]: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// DecodeOption configures [DecodeJSON].
type DecodeOption func(*decodeOptions)

type decodeOptions struct {
	maxBytes          int64
	disallowUnknown   bool
	allowMissingCType bool
}

// WithMaxBodyBytes sets the body limit; the default is [DefaultMaxBodyBytes].
// It panics if n is not positive.
func WithMaxBodyBytes(n int64) DecodeOption {
	if n <= 0 {
		panic("httpx: WithMaxBodyBytes: limit must be positive")
	}
	return func(o *decodeOptions) { o.maxBytes = n }
}

// WithDisallowUnknownFields rejects an object key that matches no field of
// the destination struct (400 MALFORMED_JSON with detail "field").
func WithDisallowUnknownFields() DecodeOption {
	return func(o *decodeOptions) { o.disallowUnknown = true }
}

// WithAllowMissingContentType accepts a request without a Content-Type
// header. By default such a request is rejected with 415, because a
// cross-site request can omit the header without a CORS preflight, which
// would let another site post JSON with the user's cookies.
func WithAllowMissingContentType() DecodeOption {
	return func(o *decodeOptions) { o.allowMissingCType = true }
}

// DecodeJSON decodes the request body, one JSON value, into v (a non-nil
// pointer). Every failure is returned as an *errs.Error, so a
// [HandlerFunc] can simply return it:
//
//   - Content-Type missing, not application/json or application/*+json, or
//     with a charset other than utf-8: 415 UNSUPPORTED_MEDIA_TYPE. See
//     [WithAllowMissingContentType].
//   - Body larger than the limit ([WithMaxBodyBytes], default 1 MiB, also
//     when an outer http.MaxBytesReader is smaller): 413 PAYLOAD_TOO_LARGE
//     with detail "limit".
//   - Empty body, invalid JSON, a value of the wrong type, an unknown field
//     ([WithDisallowUnknownFields]), or data after the value: 400
//     MALFORMED_JSON with detail "offset" (bytes into the body, where the
//     decoder knows it) and "field" and "expected" (a JSON type) where
//     known. Field names are reported
//     only when they are short and made of letters, digits, '_', '-', '.',
//     '[' or ']'; no other byte of the body is ever echoed.
//   - The body did not arrive before the read deadline: 408
//     REQUEST_TIMEOUT. Another read error (the client went away): 400
//     MALFORMED_JSON "Request body could not be read".
//
// The cause is kept in the *errs.Error's Err for the log. An invalid v is a
// programming error and is returned as an unregistered error (500).
func DecodeJSON(r *http.Request, v any, opts ...DecodeOption) error {
	o := decodeOptions{maxBytes: DefaultMaxBodyBytes}
	for _, opt := range opts {
		opt(&o)
	}
	if err := checkContentType(r.Header.Get("Content-Type"), o.allowMissingCType); err != nil {
		return err
	}
	if r.ContentLength > o.maxBytes {
		return tooLarge(o.maxBytes, &http.MaxBytesError{Limit: o.maxBytes})
	}
	if r.Body == nil || r.Body == http.NoBody {
		return malformed("Request body is empty", nil, "offset", "0")
	}
	body := &countingReader{r: http.MaxBytesReader(nil, r.Body, o.maxBytes)}
	dec := json.NewDecoder(body)
	if o.disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return malformed("Request body is empty", err, "offset", "0")
		}
		return decodeFailure(err, dec.InputOffset(), body.n)
	}
	if _, err := dec.Token(); err != io.EOF {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return tooLarge(maxErr.Limit, err)
		}
		return malformed("Request body must hold a single JSON value", err, "offset", strconv.FormatInt(dec.InputOffset(), 10))
	}
	return nil
}

func checkContentType(ct string, allowMissing bool) error {
	if ct == "" {
		if allowMissing {
			return nil
		}
		return unsupported("Content-Type must be application/json", nil)
	}
	if ct == "application/json" || ct == contentTypeJSON {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return unsupported("Content-Type must be application/json", err)
	}
	if mt != "application/json" && !(strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return unsupported("Content-Type must be application/json", nil)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return unsupported("JSON must be encoded as utf-8", nil)
	}
	return nil
}

// countingReader counts the bytes read, to report where a truncated body
// ended.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// decodeFailure translates an error of json.Decoder. offset is the
// decoder's input offset, read the number of body bytes read.
func decodeFailure(err error, offset, read int64) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		invalid   *json.InvalidUnmarshalError
	)
	off := strconv.FormatInt(offset, 10)
	switch {
	case errors.As(err, &maxErr):
		return tooLarge(maxErr.Limit, err)
	case errors.As(err, &invalid):
		return fmt.Errorf("httpx: DecodeJSON: %w", err)
	case errors.As(err, &syntaxErr):
		return malformed("Request body is not valid JSON", err, "offset", strconv.FormatInt(syntaxErr.Offset, 10))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("Request body ends before the JSON value does", err, "offset", strconv.FormatInt(read, 10))
	case errors.As(err, &typeErr):
		kv := []string{"offset", strconv.FormatInt(typeErr.Offset, 10)}
		if safeField(typeErr.Field) {
			kv = append(kv, "field", typeErr.Field)
		}
		if typeErr.Type != nil {
			kv = append(kv, "expected", jsonKind(typeErr.Type))
		}
		return malformed("Request body has a value of the wrong type", err, kv...)
	}
	if field, ok := unknownField(err); ok {
		// The decoder's offset is past the whole object here, which would
		// mislead: name the field alone.
		var kv []string
		if safeField(field) {
			kv = []string{"field", field}
		}
		return malformed("Request body has an unknown field", err, kv...)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errs.ErrRequestTimeout.Wrap(err)
	}
	return malformed("Request body could not be read", err, "offset", off)
}

// unknownField recognises encoding/json's error for DisallowUnknownFields,
// which has no type of its own: `json: unknown field "name"`.
func unknownField(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	field, uerr := strconv.Unquote(rest)
	if uerr != nil {
		return "", true
	}
	return field, true
}

// safeField reports whether a field path may be echoed to the client.
func safeField(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '-' || c == '.' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return "value"
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "string"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	default:
		return "value"
	}
}

func malformed(message string, cause error, kv ...string) error {
	return newDecodeError(errs.ErrMalformedJSON, message, cause, kv)
}

func unsupported(message string, cause error) error {
	return newDecodeError(errs.ErrUnsupportedMediaType, message, cause, nil)
}

func tooLarge(limit int64, cause error) error {
	return newDecodeError(errs.ErrPayloadTooLarge, errs.ErrPayloadTooLarge.Message, cause,
		[]string{"limit", strconv.FormatInt(limit, 10)})
}

func newDecodeError(base *errs.Error, message string, cause error, kv []string) *errs.Error {
	e := base.Wrap(cause)
	e.Message = message
	if len(kv) > 0 {
		e.Details = make(map[string]string, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			e.Details[kv[i]] = kv[i+1]
		}
	}
	return e
}
