package middleware_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// panicLog captures JSON log records; safe for the server's goroutines.
type panicLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *panicLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *panicLog) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

func (l *panicLog) records(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
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

func discardServerLog() *log.Logger { return log.New(io.Discard, "", 0) }

func TestRecover(t *testing.T) {
	tests := []struct {
		name   string
		value  any
		accept string
		ct     string
		body   string
		inLog  string
	}{
		{"string", "boom", "", "application/json; charset=utf-8",
			`{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"trace-9"}`, "boom"},
		{"error with secret", fmt.Errorf("dial postgres://app:s3cr3t@db: refused"), "", "application/json; charset=utf-8",
			`{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"trace-9"}`, "s3cr3t"},
		{"nil", nil, "", "application/json; charset=utf-8",
			`{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again.","trace_id":"trace-9"}`, "nil"},
		{"problem details", "boom", "application/problem+json", "application/problem+json",
			`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Something went wrong. Please try again.","code":"INTERNAL_ERROR","trace_id":"trace-9"}`, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs panicLog
			h := middleware.RecoverWith(middleware.WithRecoverLogger(logs.logger()))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(tt.value)
			}))
			r := httptest.NewRequest("POST", "/bookings", nil)
			r = r.WithContext(httpx.WithTraceID(r.Context(), "trace-9"))
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 500 || w.Body.String() != tt.body+"\n" {
				t.Errorf("Recover(panic(%v)) = %d %s, want 500 %s", tt.value, w.Code, w.Body.String(), tt.body)
			}
			if got := w.Header().Get("Content-Type"); got != tt.ct {
				t.Errorf("Content-Type = %q, want %q", got, tt.ct)
			}
			recs := logs.records(t)
			if len(recs) != 1 {
				t.Fatalf("got %d log records, want exactly 1: %v", len(recs), recs)
			}
			rec := recs[0]
			if rec["level"] != "ERROR" || rec["msg"] != "panic recovered" || rec["trace_id"] != "trace-9" ||
				rec["method"] != "POST" || rec["path"] != "/bookings" {
				t.Errorf("log record = %v, want ERROR panic recovered with trace_id, method, path", rec)
			}
			if stack, _ := rec["stack"].(string); !strings.Contains(stack, "recover_test.go") {
				t.Errorf("log stack = %q, want the panicking frame", stack)
			}
			if !strings.Contains(fmt.Sprint(rec["panic"]), tt.inLog) {
				t.Errorf("log panic = %v, want it to contain %q", rec["panic"], tt.inLog)
			}
		})
	}
}

func TestRecoverRepanicsErrAbortHandler(t *testing.T) {
	wrapped := fmt.Errorf("stream: %w", http.ErrAbortHandler)
	for _, value := range []error{http.ErrAbortHandler, wrapped} {
		t.Run(value.Error(), func(t *testing.T) {
			var logs panicLog
			h := middleware.RecoverWith(middleware.WithRecoverLogger(logs.logger()))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
				panic(value)
			}))
			w := httptest.NewRecorder()
			func() {
				defer func() {
					if v := recover(); v != value {
						t.Errorf("Recover re-panicked with %v, want %v", v, value)
					}
				}()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
			}()
			if w.Body.Len() != 0 || len(logs.records(t)) != 0 {
				t.Errorf("Recover(ErrAbortHandler) wrote %q and logged %d records, want nothing", w.Body.String(), len(logs.records(t)))
			}
		})
	}
}

// TestRecoverAfterPartialWrite: a panic after the response started must not
// append an error body; the response is aborted so the client sees it broken.
// Recover notices the start by itself, on net/http's own writer.
func TestRecoverAfterPartialWrite(t *testing.T) {
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			var logs panicLog
			h := (middleware.RecoverWith(middleware.WithRecoverLogger(logs.logger()))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write([]byte(`{"seats":[1,2,`))
				_ = http.NewResponseController(w).Flush()
				panic("boom mid-stream")
			})))
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ErrorLog = discardServerLog()
			if proto == "h2" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()

			res, err := srv.Client().Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			body, readErr := io.ReadAll(res.Body)
			res.Body.Close()
			if readErr == nil {
				t.Errorf("reading the aborted body succeeded with %q, want an error", body)
			}
			if res.StatusCode != 200 || strings.Contains(string(body), "INTERNAL_ERROR") {
				t.Errorf("response = %d %q, want the partial 200 without an error body", res.StatusCode, body)
			}
			recs := logs.records(t)
			if len(recs) != 1 || recs[0]["started"] != true || recs[0]["level"] != "ERROR" {
				t.Errorf("log = %v, want one ERROR record with started=true", recs)
			}
		})
	}
}

func TestRecoverWithErrorWriter(t *testing.T) {
	h := middleware.RecoverWith(
		middleware.WithRecoverLogger(slog.New(slog.DiscardHandler)),
		middleware.WithRecoverErrorWriter(&httpx.ErrorWriter{DisableProblemDetails: true}),
	)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Accept", "application/problem+json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); w.Code != 500 || ct != "application/json; charset=utf-8" {
		t.Errorf("RecoverWith(DisableProblemDetails) = %d %q, want 500 with the standard body", w.Code, ct)
	}
}

func TestRecoverNoPanic(t *testing.T) {
	h := middleware.Recover(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != http.StatusCreated {
		t.Errorf("Recover(no panic) = %d, want 201", w.Code)
	}
}

func TestRecoverDefaultLogger(t *testing.T) {
	// Recover (pinned) uses slog.Default(); check it still answers.
	var logs panicLog
	old := slog.Default()
	slog.SetDefault(logs.logger())
	defer slog.SetDefault(old)
	h := middleware.Recover(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(errors.New("boom")) }))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	found := false
	for _, rec := range logs.records(t) {
		found = found || rec["msg"] == "panic recovered"
	}
	if w.Code != 500 || !found {
		t.Errorf("Recover = %d, logged to slog.Default() = %v; want 500 and true", w.Code, found)
	}
}
