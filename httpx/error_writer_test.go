package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

var (
	errStockT   = errors.New("booking: insufficient stock")
	errStoreT   = errors.New("booking: seat store unavailable")
	errNotFound = errors.New("booking: not found")
)

func bookingRegistry(t testing.TB) *errs.Registry {
	t.Helper()
	r := errs.NewRegistry()
	for _, reg := range []struct {
		err     error
		status  int
		code    string
		message string
	}{
		{errStockT, 409, "INSUFFICIENT_STOCK", "Not enough seats available"},
		{errStoreT, 503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable. Please try again."},
		{errNotFound, 404, "BOOKING_NOT_FOUND", "Booking not found"},
	} {
		if err := r.Register(reg.err, reg.status, reg.code, reg.message); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// logLines captures JSON log records.
type logLines struct{ buf bytes.Buffer }

func (l *logLines) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(&l.buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (l *logLines) records(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestErrorWriterWrite(t *testing.T) {
	const secret = "postgres://admin:s3cr3t@10.0.0.7:5432"
	tests := []struct {
		name    string
		err     error
		status  int
		body    string
		level   string
		noTrace bool
	}{
		{"registered", fmt.Errorf("reserve: %w", errStockT), 409,
			`{"error":"INSUFFICIENT_STOCK","message":"Not enough seats available","trace_id":"trace-1"}`, "DEBUG", false},
		{"details", errs.WithDetails(errStockT, "available", "5", "requested", "10"), 409,
			`{"error":"INSUFFICIENT_STOCK","message":"Not enough seats available","details":{"available":"5","requested":"10"},"trace_id":"trace-1"}`, "DEBUG", false},
		{"joined", errors.Join(errors.New(secret), errNotFound), 404,
			`{"error":"BOOKING_NOT_FOUND","message":"Booking not found","trace_id":"trace-1"}`, "DEBUG", false},
		{"unregistered secret", fmt.Errorf("insert booking: dial %s: %w", secret, errors.New("refused")), 500,
			`{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"trace-1"}`, "ERROR", false},
		{"registered 5xx hides cause", fmt.Errorf("%w: %s", errStoreT, secret), 503,
			`{"error":"SERVICE_UNAVAILABLE","message":"Service temporarily unavailable. Please try again.","trace_id":"trace-1"}`, "ERROR", false},
		{"canceled", fmt.Errorf("query: %w", context.Canceled), 499,
			`{"error":"CLIENT_CLOSED_REQUEST","message":"Client closed the request","trace_id":"trace-1"}`, "INFO", false},
		{"validation", errs.FieldErrors{"quantity": "must be positive", "zone_id": "required"}, 400,
			`{"error":"VALIDATION_ERROR","message":"Invalid request","details":{"quantity":"must be positive","zone_id":"required"},"trace_id":"trace-1"}`, "DEBUG", false},
		{"no trace id", errNotFound, 404, `{"error":"BOOKING_NOT_FOUND","message":"Booking not found"}`, "DEBUG", true},
		{"nil error", nil, 500, `{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"trace-1"}`, "ERROR", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logLines
			ew := &httpx.ErrorWriter{Registry: bookingRegistry(t), Logger: logs.logger()}
			r := httptest.NewRequest("POST", "/bookings", nil)
			if !tt.noTrace {
				r = r.WithContext(httpx.WithTraceID(r.Context(), "trace-1"))
			}
			w := httptest.NewRecorder()
			w.Header().Set("Content-Length", "999")
			ew.Write(w, r, tt.err)

			if w.Code != tt.status {
				t.Errorf("Write(%v) status = %d, want %d", tt.err, w.Code, tt.status)
			}
			if got := w.Body.String(); got != tt.body+"\n" {
				t.Errorf("Write(%v) body = %s, want %s", tt.err, got, tt.body)
			}
			if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q, want application/json; charset=utf-8", got)
			}
			if got := w.Header().Get("Content-Length"); got != "" {
				t.Errorf("Content-Length = %q, want it removed", got)
			}
			if got := w.Header().Get("Vary"); got != "Accept" {
				t.Errorf("Vary = %q, want Accept", got)
			}
			if strings.Contains(w.Body.String(), "s3cr3t") {
				t.Errorf("body leaks the secret: %s", w.Body.String())
			}
			recs := logs.records(t)
			if len(recs) != 1 {
				t.Fatalf("got %d log records, want 1:\n%s", len(recs), logs.buf.String())
			}
			rec := recs[0]
			if rec["level"] != tt.level {
				t.Errorf("log level = %v, want %s", rec["level"], tt.level)
			}
			wantTrace := "trace-1"
			if tt.noTrace {
				wantTrace = ""
			}
			for k, want := range map[string]any{"trace_id": wantTrace, "method": "POST", "path": "/bookings", "status": float64(tt.status)} {
				if rec[k] != want {
					t.Errorf("log %s = %v, want %v", k, rec[k], want)
				}
			}
			if tt.err != nil && rec["error"] != tt.err.Error() {
				t.Errorf("log error = %v, want the full chain %q", rec["error"], tt.err.Error())
			}
		})
	}
}

func TestWriteErrorDefaults(t *testing.T) {
	// The package-level WriteError uses the default registry and logger.
	w := httptest.NewRecorder()
	httpx.WriteError(w, httptest.NewRequest("GET", "/", nil), errs.ErrNotFound)
	if w.Code != 404 || !strings.Contains(w.Body.String(), `"error":"NOT_FOUND"`) {
		t.Errorf("WriteError(ErrNotFound) = %d %s, want 404 NOT_FOUND", w.Code, w.Body.String())
	}
	// A nil request is tolerated.
	w = httptest.NewRecorder()
	var ew *httpx.ErrorWriter
	ew.Write(w, nil, errs.ErrNotFound)
	if w.Code != 404 {
		t.Errorf("(*ErrorWriter)(nil).Write(w, nil, ErrNotFound) status = %d, want 404", w.Code)
	}
}

// startedWriter reports Written() like idemkit's recorder does.
type startedWriter struct {
	http.ResponseWriter
	written bool
}

func (s *startedWriter) WriteHeader(code int) { s.written = true; s.ResponseWriter.WriteHeader(code) }
func (s *startedWriter) Write(p []byte) (int, error) {
	s.written = true
	return s.ResponseWriter.Write(p)
}
func (s *startedWriter) Written() bool               { return s.written }
func (s *startedWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// outerWriter wraps without tracking anything.
type outerWriter struct{ http.ResponseWriter }

func (o outerWriter) Unwrap() http.ResponseWriter { return o.ResponseWriter }

func TestErrorWriterAfterResponseStarted(t *testing.T) {
	tests := []struct {
		name string
		wrap func(http.ResponseWriter) (http.ResponseWriter, *startedWriter)
	}{
		{"tracking writer", func(w http.ResponseWriter) (http.ResponseWriter, *startedWriter) {
			s := &startedWriter{ResponseWriter: w}
			return s, s
		}},
		{"tracking writer under an Unwrap chain", func(w http.ResponseWriter) (http.ResponseWriter, *startedWriter) {
			s := &startedWriter{ResponseWriter: w}
			return outerWriter{outerWriter{s}}, s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs logLines
			ew := &httpx.ErrorWriter{Registry: bookingRegistry(t), Logger: logs.logger()}
			rec := httptest.NewRecorder()
			w, s := tt.wrap(rec)
			if httpx.ResponseStarted(w) {
				t.Fatalf("ResponseStarted before any write = true, want false")
			}
			s.WriteHeader(201)
			_, _ = s.Write([]byte(`{"id":1}`))
			if !httpx.ResponseStarted(w) {
				t.Fatalf("ResponseStarted after a write = false, want true")
			}
			ew.Write(w, httptest.NewRequest("POST", "/", nil), errNotFound)
			if rec.Code != 201 || rec.Body.String() != `{"id":1}` {
				t.Errorf("after a started response, Write wrote: %d %q, want 201 {\"id\":1}", rec.Code, rec.Body.String())
			}
			recs := logs.records(t)
			if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["started"] != true {
				t.Errorf("log = %v, want one WARN record with started=true", recs)
			}
		})
	}
	if httpx.ResponseStarted(httptest.NewRecorder()) {
		t.Errorf("ResponseStarted(httptest.ResponseRecorder) = true, want false (cannot tell)")
	}
}

func TestProblemNegotiation(t *testing.T) {
	tests := []struct {
		name    string
		accept  []string
		problem bool
	}{
		{"none", nil, false},
		{"json", []string{"application/json"}, false},
		{"any", []string{"*/*"}, false},
		{"problem", []string{"application/problem+json"}, true},
		{"problem case-insensitive", []string{"Application/Problem+JSON"}, true},
		{"problem and json equal", []string{"application/json, application/problem+json"}, true},
		{"problem lower q", []string{"application/problem+json;q=0.5, application/json"}, false},
		{"problem higher q", []string{"application/problem+json, application/json;q=0.9"}, true},
		{"problem q=0", []string{"application/problem+json;q=0"}, false},
		{"wildcard more specific wins for json", []string{"application/problem+json;q=0.8, application/*;q=0.9, */*;q=0.1"}, false},
		{"exact json beats wildcard", []string{"application/problem+json;q=0.8, application/*;q=0.9, application/json;q=0.5"}, true},
		{"several header lines", []string{"text/html", "application/problem+json"}, true},
		{"malformed q", []string{"application/problem+json;q=abc"}, false},
		{"spaces and params", []string{" application/problem+json ; charset=utf-8 ; q=1 "}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			for _, a := range tt.accept {
				r.Header.Add("Accept", a)
			}
			w := httptest.NewRecorder()
			(&httpx.ErrorWriter{Registry: bookingRegistry(t), Logger: slog.New(slog.DiscardHandler)}).Write(w, r, errNotFound)
			ct := w.Header().Get("Content-Type")
			if got := ct == "application/problem+json"; got != tt.problem {
				t.Errorf("Accept %q: Content-Type = %q, want problem=%v", tt.accept, ct, tt.problem)
			}
		})
	}
}

func TestProblemBody(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"details", errs.WithDetails(errStockT, "available", "5", "requested", "10"), 409,
			`{"type":"about:blank","title":"Conflict","status":409,"detail":"Not enough seats available","code":"INSUFFICIENT_STOCK","details":{"available":"5","requested":"10"},"trace_id":"t-1"}`},
		{"validation", errs.FieldErrors{"zone_id": "required", "quantity": "must be positive", "a/b~c": "odd", "/items/0/qty": "must be positive"}, 400,
			`{"type":"about:blank","title":"Bad Request","status":400,"detail":"Invalid request","code":"VALIDATION_ERROR","errors":[{"detail":"odd","pointer":"#/a~1b~0c"},{"detail":"must be positive","pointer":"#/items/0/qty"},{"detail":"must be positive","pointer":"#/quantity"},{"detail":"required","pointer":"#/zone_id"}],"trace_id":"t-1"}`},
		{"technical", errors.New("secret"), 500,
			`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Something went wrong. Please try again.","code":"INTERNAL_ERROR","trace_id":"t-1"}`},
		{"client closed", context.Canceled, 499,
			`{"type":"about:blank","title":"Client Closed Request","status":499,"detail":"Client closed the request","code":"CLIENT_CLOSED_REQUEST","trace_id":"t-1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Accept", "application/problem+json")
			r = r.WithContext(httpx.WithTraceID(r.Context(), "t-1"))
			w := httptest.NewRecorder()
			(&httpx.ErrorWriter{Registry: bookingRegistry(t), Logger: slog.New(slog.DiscardHandler)}).Write(w, r, tt.err)
			if w.Code != tt.status || w.Body.String() != tt.body+"\n" {
				t.Errorf("Write(%v) = %d %s, want %d %s", tt.err, w.Code, w.Body.String(), tt.status, tt.body)
			}
			var m map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
				t.Errorf("problem body is not JSON: %v", err)
			}
		})
	}
}

func TestDisableProblemDetails(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "application/problem+json")
	w := httptest.NewRecorder()
	ew := &httpx.ErrorWriter{Registry: bookingRegistry(t), Logger: slog.New(slog.DiscardHandler), DisableProblemDetails: true}
	ew.Write(w, r, errNotFound)
	if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" || w.Header().Get("Vary") != "" {
		t.Errorf("with DisableProblemDetails: Content-Type = %q, Vary = %q; want the standard body and no Vary", ct, w.Header().Get("Vary"))
	}
}

func TestVaryNotDuplicated(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Add("Vary", "Origin, accept")
	httpx.WriteError(w, httptest.NewRequest("GET", "/", nil), errs.ErrNotFound)
	if got := w.Header().Values("Vary"); len(got) != 1 {
		t.Errorf("Vary = %q, want the handler's single value kept", got)
	}
}

func TestErrorResponseDecodes(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(httpx.WithTraceID(r.Context(), "abc"))
	httpx.WriteError(w, r, errs.WithDetails(errs.ErrNotFound, "id", "<42>"))
	var got httpx.ErrorResponse
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := httpx.ErrorResponse{Error: "NOT_FOUND", Message: "Not found", Details: map[string]string{"id": "<42>"}, TraceID: "abc"}
	if got.Error != want.Error || got.Message != want.Message || got.TraceID != want.TraceID || !maps.Equal(got.Details, want.Details) {
		t.Errorf("decoded body = %+v, want %+v", got, want)
	}
}

var discardLogger = slog.New(slog.DiscardHandler)

// TestWriteErrorDropsRepresentationHeaders: headers that describe another
// body never go out with an error answer, whoever set them; the others stay.
func TestWriteErrorDropsRepresentationHeaders(t *testing.T) {
	w := httptest.NewRecorder()
	h := w.Header()
	for _, k := range []string{"Content-Encoding", "Content-Length", "Content-Range", "Content-Disposition",
		"ETag", "Last-Modified", "Digest", "Content-Digest", "Repr-Digest"} {
		h.Set(k, "from-the-failed-handler")
	}
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Www-Authenticate", `Basic realm="api"`)
	httpx.WriteError(w, httptest.NewRequest("GET", "/", nil), errs.ErrNotFound)
	for k := range w.Header() {
		if w.Header().Get(k) == "from-the-failed-handler" {
			t.Errorf("%s went out with the error answer", k)
		}
	}
	if w.Header().Get("Access-Control-Allow-Origin") != "*" || w.Header().Get("Www-Authenticate") == "" {
		t.Errorf("headers = %v, want the CORS and WWW-Authenticate headers kept", w.Header())
	}
}

// TestErrorWriterResolve: Resolve is the mapping Write answers with, from
// the writer's registry or the default one.
func TestErrorWriterResolve(t *testing.T) {
	reg := errs.NewRegistry()
	errSoldOut := errors.New("sold out")
	if err := reg.Register(errSoldOut, http.StatusConflict, "SOLD_OUT", "Sold out"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		ew     *httpx.ErrorWriter
		status int
		code   string
	}{
		{"nil writer: default registry", nil, http.StatusInternalServerError, "INTERNAL_ERROR"},
		{"zero writer: default registry", &httpx.ErrorWriter{}, http.StatusInternalServerError, "INTERNAL_ERROR"},
		{"own registry", &httpx.ErrorWriter{Registry: reg}, http.StatusConflict, "SOLD_OUT"},
	}
	for _, tt := range tests {
		res := tt.ew.Resolve(errSoldOut)
		w := httptest.NewRecorder()
		tt.ew.Write(w, httptest.NewRequest("GET", "/", nil), errSoldOut)
		if res.Status != tt.status || res.Code != tt.code || w.Code != res.Status {
			t.Errorf("%s: Resolve = %d %s, Write answered %d; want %d %s for both", tt.name, res.Status, res.Code, w.Code, tt.status, tt.code)
		}
	}
}
