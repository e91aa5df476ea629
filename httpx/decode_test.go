package httpx_test

import (
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

type bookingRequest struct {
	ZoneID   string `json:"zone_id"`
	Quantity int    `json:"quantity"`
	Seats    []int  `json:"seats,omitempty"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name    string
		ct      string
		body    string
		opts    []httpx.DecodeOption
		status  int // 0: success
		code    string
		details map[string]string
	}{
		{"ok", "application/json", `{"zone_id":"B","quantity":2}`, nil, 0, "", nil},
		{"ok with charset", "application/json; charset=UTF-8", `{"zone_id":"B"}`, nil, 0, "", nil},
		{"ok vendor +json", "application/vnd.booking+json", `{"zone_id":"B"}`, nil, 0, "", nil},
		{"ok trailing whitespace", "application/json", "{\"zone_id\":\"B\"} \n\t", nil, 0, "", nil},
		{"ok unknown field ignored by default", "application/json", `{"zone_id":"B","extra":1}`, nil, 0, "", nil},
		{"ok missing content type when allowed", "", `{"zone_id":"B"}`, []httpx.DecodeOption{httpx.WithAllowMissingContentType()}, 0, "", nil},
		{"missing content type", "", `{}`, nil, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"form content type", "application/x-www-form-urlencoded", `a=b`, nil, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"text/plain", "text/plain", `{}`, nil, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"bad charset", "application/json; charset=latin1", `{}`, nil, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"unparsable content type", "application/json; =", `{}`, nil, 415, "UNSUPPORTED_MEDIA_TYPE", nil},
		{"empty body", "application/json", ``, nil, 400, "MALFORMED_JSON", map[string]string{"offset": "0"}},
		{"whitespace body", "application/json", "  \n", nil, 400, "MALFORMED_JSON", map[string]string{"offset": "0"}},
		{"syntax error", "application/json", `{"zone_id": B}`, nil, 400, "MALFORMED_JSON", map[string]string{"offset": "13"}},
		{"truncated", "application/json", `{"zone_id": "B"`, nil, 400, "MALFORMED_JSON", map[string]string{"offset": "15"}},
		{"wrong type", "application/json", `{"quantity": "two"}`, nil, 400, "MALFORMED_JSON",
			map[string]string{"offset": "18", "field": "quantity", "expected": "number"}},
		{"wrong type in array", "application/json", `{"seats": [1, "x"]}`, nil, 400, "MALFORMED_JSON",
			map[string]string{"offset": "17", "field": "seats", "expected": "number"}},
		{"unknown field", "application/json", `{"zone_id":"B","extra":1}`, []httpx.DecodeOption{httpx.WithDisallowUnknownFields()}, 400, "MALFORMED_JSON",
			map[string]string{"field": "extra"}},
		{"unknown field not echoed when odd", "application/json", `{"<script>":1}`, []httpx.DecodeOption{httpx.WithDisallowUnknownFields()}, 400, "MALFORMED_JSON",
			map[string]string{}},
		{"trailing value", "application/json", `{"zone_id":"B"}{"zone_id":"C"}`, nil, 400, "MALFORMED_JSON", map[string]string{"offset": "16"}},
		{"trailing garbage", "application/json", `{"zone_id":"B"} x`, nil, 400, "MALFORMED_JSON", map[string]string{"offset": "16"}},
		{"too large", "application/json", `{"zone_id":"` + strings.Repeat("x", 100) + `"}`, []httpx.DecodeOption{httpx.WithMaxBodyBytes(64)}, 413, "PAYLOAD_TOO_LARGE",
			map[string]string{"limit": "64"}},
		{"exactly the limit", "application/json", `{"zone_id":"` + strings.Repeat("x", 50) + `"}`, []httpx.DecodeOption{httpx.WithMaxBodyBytes(64)}, 0, "", nil},
		{"trailing data over the limit", "application/json", `{"zone_id":"B"}` + strings.Repeat(" ", 100), []httpx.DecodeOption{httpx.WithMaxBodyBytes(64)}, 413, "PAYLOAD_TOO_LARGE",
			map[string]string{"limit": "64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/bookings", strings.NewReader(tt.body))
			r.ContentLength = -1 // make the limit hit while reading, not from the header
			if tt.ct != "" {
				r.Header.Set("Content-Type", tt.ct)
			}
			var v bookingRequest
			err := httpx.DecodeJSON(r, &v, tt.opts...)
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("DecodeJSON(%q) = %v, want nil", tt.body, err)
				}
				return
			}
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("DecodeJSON(%q) = %v, want an *errs.Error", tt.body, err)
			}
			if e.Status != tt.status || e.Code != tt.code {
				t.Errorf("DecodeJSON(%q) = %d %s, want %d %s", tt.body, e.Status, e.Code, tt.status, tt.code)
			}
			if tt.details != nil && !maps.Equal(e.Details, tt.details) {
				t.Errorf("DecodeJSON(%q) details = %v, want %v", tt.body, e.Details, tt.details)
			}
			assertStandardBody(t, err, tt.status, tt.code)
		})
	}
}

func TestDecodeJSONContentLengthOverLimit(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 100)))
	r.Header.Set("Content-Type", "application/json")
	err := httpx.DecodeJSON(r, new(bookingRequest), httpx.WithMaxBodyBytes(10))
	if !errors.Is(err, errs.ErrPayloadTooLarge) {
		t.Errorf("DecodeJSON(Content-Length 100, limit 10) = %v, want PAYLOAD_TOO_LARGE", err)
	}
}

func TestDecodeJSONOuterMaxBytesReader(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"zone_id":"`+strings.Repeat("x", 100)+`"}`))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 20)
	var e *errs.Error
	if err := httpx.DecodeJSON(r, new(bookingRequest)); !errors.As(err, &e) || e.Status != 413 || e.Details["limit"] != "20" {
		t.Errorf("DecodeJSON under MaxBytesReader(20) = %v, want 413 with limit 20", err)
	}
}

func TestDecodeJSONDefaultLimit(t *testing.T) {
	body := `{"zone_id":"` + strings.Repeat("x", httpx.DefaultMaxBodyBytes) + `"}`
	r := httptest.NewRequest("POST", "/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.ContentLength = -1
	var e *errs.Error
	if err := httpx.DecodeJSON(r, new(bookingRequest)); !errors.As(err, &e) || e.Status != 413 || e.Details["limit"] != "1048576" {
		t.Errorf("DecodeJSON(1 MiB + 15 bytes) = %v, want 413 with limit 1048576", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestDecodeJSONReadErrors(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
	}{
		{"deadline", os.ErrDeadlineExceeded, 408},
		{"client gone", errors.New("connection reset by peer"), 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", io.MultiReader(strings.NewReader(`{"zone`), errReader{tt.err}))
			r.Header.Set("Content-Type", "application/json")
			err := httpx.DecodeJSON(r, new(bookingRequest))
			var e *errs.Error
			if !errors.As(err, &e) || e.Status != tt.status || !errors.Is(err, tt.err) {
				t.Errorf("DecodeJSON(read error %v) = %v, want status %d wrapping the cause", tt.err, err, tt.status)
			}
		})
	}
}

func TestDecodeJSONInvalidTarget(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{}`))
	r.Header.Set("Content-Type", "application/json")
	err := httpx.DecodeJSON(r, bookingRequest{})
	var e *errs.Error
	if err == nil || errors.As(err, &e) {
		t.Errorf("DecodeJSON(non-pointer) = %v, want a plain (500) error", err)
	}
}

func TestDecodeJSONNoBody(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	r.Header.Set("Content-Type", "application/json")
	if err := httpx.DecodeJSON(r, new(bookingRequest)); !errors.Is(err, errs.ErrMalformedJSON) {
		t.Errorf("DecodeJSON(no body) = %v, want MALFORMED_JSON", err)
	}
}

func TestWithMaxBodyBytesPanics(t *testing.T) {
	defer func() {
		if v := recover(); v == nil {
			t.Errorf("WithMaxBodyBytes(0) did not panic")
		}
	}()
	httpx.WithMaxBodyBytes(0)
}

// assertStandardBody writes err and checks the body is the standard shape
// with the expected status and code, and echoes no bytes of the request.
func assertStandardBody(t *testing.T, err error, status int, code string) httpx.ErrorResponse {
	t.Helper()
	w := httptest.NewRecorder()
	ew := httpx.ErrorWriter{Registry: errs.NewRegistry(), Logger: discardLogger}
	ew.Write(w, httptest.NewRequest("POST", "/", nil), err)
	var body httpx.ErrorResponse
	if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil {
		t.Fatalf("WriteError(%v) body %q is not JSON: %v", err, w.Body.String(), jerr)
	}
	if w.Code != status || body.Error != code || body.Message == "" {
		t.Errorf("WriteError(%v) = %d %+v, want %d %s", err, w.Code, body, status, code)
	}
	return body
}

// FuzzDecodeJSON: whatever the body, DecodeJSON never panics, and a failure
// is always a standard 4xx body that echoes nothing but safe field names.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"zone_id":"B","quantity":2}`, `{"quantity":"x"}`, `[`, `{}{}`, ``, `{"seats":[1,2,"a"]}`,
		`{"zone_id":"\ud800"}`, "\xff", `{"a":` + strings.Repeat("[", 100)} {
		f.Add(s, "application/json", true)
	}
	f.Add(`{}`, "text/plain", false)
	f.Fuzz(func(t *testing.T, body, ct string, strict bool) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.ContentLength = -1
		r.Header.Set("Content-Type", ct)
		opts := []httpx.DecodeOption{httpx.WithMaxBodyBytes(256)}
		if strict {
			opts = append(opts, httpx.WithDisallowUnknownFields())
		}
		var v bookingRequest
		err := httpx.DecodeJSON(r, &v, opts...)
		if err == nil {
			return
		}
		var e *errs.Error
		if !errors.As(err, &e) {
			t.Fatalf("DecodeJSON(%q) = %v (%T), want an *errs.Error", body, err, err)
		}
		if e.Status < 400 || e.Status > 499 {
			t.Fatalf("DecodeJSON(%q) status = %d, want 4xx", body, e.Status)
		}
		resp := assertStandardBody(t, err, e.Status, e.Code)
		for k, v := range resp.Details {
			switch k {
			case "offset", "limit":
			case "field":
				if len(v) > 64 || !utf8.ValidString(v) || strings.ContainsAny(v, "<>\"' ") {
					t.Fatalf("DecodeJSON(%q) echoes an unsafe field %q", body, v)
				}
			case "expected":
			default:
				t.Fatalf("DecodeJSON(%q) unexpected detail %q=%q", body, k, v)
			}
		}
	})
}
