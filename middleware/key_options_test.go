package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// errorBody decodes the standard error body.
func errorBody(t *testing.T, body string) (code, message string, details map[string]string) {
	t.Helper()
	var e struct {
		Error   string            `json:"error"`
		Message string            `json:"message"`
		Details map[string]string `json:"details"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Error, e.Message, e.Details
}

// TestKeyOptions: RequireKey, Skip and KeyValidator, each on its own and
// with zero store calls where the request is answered before the store.
func TestKeyOptions(t *testing.T) {
	const uuid = "3f2b8c1e-9d4a-4e7b-b1c2-5a6d7e8f9a0b"
	tests := []struct {
		name      string
		configure func(*middleware.IdempotencyConfig)
		path      string
		hdr       []string // name, value pairs
		status    int
		code      string
		detail    [2]string // a details entry the answer must carry
		storeUsed bool
		ran       bool
	}{
		{"no key, not required", nil, "/pay", nil, http.StatusCreated, "", [2]string{}, false, true},
		{"no key, required", func(c *middleware.IdempotencyConfig) { c.RequireKey = true }, "/pay", nil,
			http.StatusBadRequest, middleware.CodeIdempotencyKeyRequired, [2]string{"header", "Idempotency-Key"}, false, false},
		{"key, required", func(c *middleware.IdempotencyConfig) { c.RequireKey = true }, "/pay",
			[]string{"Idempotency-Key", "k1"}, http.StatusCreated, "", [2]string{}, true, true},
		{"required but skipped", func(c *middleware.IdempotencyConfig) {
			c.RequireKey = true
			c.Skip = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/internal/") }
		}, "/internal/sync", nil, http.StatusCreated, "", [2]string{}, false, true},
		{"skip predicate, with a key", func(c *middleware.IdempotencyConfig) {
			c.Skip = func(r *http.Request) bool { return r.Header.Get("X-Internal") == "1" }
		}, "/pay", []string{"Idempotency-Key", "k1", "X-Internal", "1"}, http.StatusCreated, "", [2]string{}, false, true},
		{"skip predicate false", func(c *middleware.IdempotencyConfig) {
			c.Skip = func(r *http.Request) bool { return false }
		}, "/pay", []string{"Idempotency-Key", "k1"}, http.StatusCreated, "", [2]string{}, true, true},
		{"UUID validator, UUID", func(c *middleware.IdempotencyConfig) { c.KeyValidator = middleware.UUIDKey }, "/pay",
			[]string{"Idempotency-Key", uuid}, http.StatusCreated, "", [2]string{}, true, true},
		{"UUID validator, upper-case UUID", func(c *middleware.IdempotencyConfig) { c.KeyValidator = middleware.UUIDKey }, "/pay",
			[]string{"Idempotency-Key", strings.ToUpper(uuid)}, http.StatusCreated, "", [2]string{}, true, true},
		{"UUID validator, not a UUID", func(c *middleware.IdempotencyConfig) { c.KeyValidator = middleware.UUIDKey }, "/pay",
			[]string{"Idempotency-Key", "order-42"}, http.StatusBadRequest, middleware.CodeInvalidIdempotencyKey,
			[2]string{"reason", "key is not a UUID (8-4-4-4-12 hexadecimal digits)"}, false, false},
		{"UUID validator, quoted UUID", func(c *middleware.IdempotencyConfig) { c.KeyValidator = middleware.UUIDKey }, "/pay",
			[]string{"Idempotency-Key", `"` + uuid + `"`}, http.StatusCreated, "", [2]string{}, true, true},
		{"validator sees well-formed keys only", func(c *middleware.IdempotencyConfig) {
			c.KeyValidator = func(string) error { t.Error("validator called for a malformed key"); return nil }
		}, "/pay", []string{"Idempotency-Key", " padded"}, http.StatusBadRequest, middleware.CodeInvalidIdempotencyKey,
			[2]string{"reason", "key has leading or trailing space"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &countingStore{Store: middleware.NewMemoryStore()}
			var runs atomic.Int64
			cfg := middleware.DefaultIdempotencyConfig(store)
			if tt.configure != nil {
				tt.configure(&cfg)
			}
			mw := middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs.Add(1)
				w.WriteHeader(http.StatusCreated)
			}))
			got := do(t, mw, "POST", tt.path, "", "{}", tt.hdr...)
			if got.status != tt.status {
				t.Fatalf("status = %d %s, want %d", got.status, got.body, tt.status)
			}
			if tt.code != "" {
				code, _, details := errorBody(t, got.body)
				if code != tt.code || details[tt.detail[0]] != tt.detail[1] {
					t.Errorf("body = %s, want code %s and details.%s = %q", got.body, tt.code, tt.detail[0], tt.detail[1])
				}
			}
			if used := store.calls.Load() > 0; used != tt.storeUsed {
				t.Errorf("store calls = %d, want used = %v", store.calls.Load(), tt.storeUsed)
			}
			if ran := runs.Load() > 0; ran != tt.ran {
				t.Errorf("handler ran = %v, want %v", ran, tt.ran)
			}
		})
	}
}

// TestKeyHeaderTwiceMessage: a key header sent twice is INVALID_IDEMPOTENCY_KEY
// with a message that says so, not the key-format message.
func TestKeyHeaderTwiceMessage(t *testing.T) {
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))(http.NotFoundHandler())
	r := httptest.NewRequest("POST", "/pay", strings.NewReader("{}"))
	r.Header.Add("Idempotency-Key", "a")
	r.Header.Add("Idempotency-Key", "b")
	w := httptest.NewRecorder()
	mw.ServeHTTP(w, r)
	code, message, details := errorBody(t, w.Body.String())
	if w.Code != http.StatusBadRequest || code != middleware.CodeInvalidIdempotencyKey ||
		!strings.Contains(message, "once") || strings.Contains(message, "printable") || details["reason"] == "" {
		t.Errorf("answer = %d %s, want 400 INVALID_IDEMPOTENCY_KEY saying to send the header once", w.Code, w.Body)
	}
}

// TestOutageLogsThroughConfiguredLogger: the 503 of a store outage is one
// Warn line "idempotency store unavailable: answering 503" on the
// configured logger, as the runbook says, and nothing on slog.Default().
func TestOutageLogsThroughConfiguredLogger(t *testing.T) {
	var def syncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	store := &switchableStore{Store: middleware.NewMemoryStore()}
	store.down.Store(true)
	var logs syncBuffer
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.Scope = func(*http.Request) string { return "s" }
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mw := middleware.Idempotency(cfg)(http.NotFoundHandler())
	if got := do(t, mw, "POST", "/pay", "k1", "{}"); got.status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", got.status)
	}
	do(t, mw, "POST", "/pay", "", "{}", "Idempotency-Key", "a", "Idempotency-Key", "b") // a 400, logged at Debug
	out := logs.String()
	if strings.Count(out, "level=WARN") != 1 || !strings.Contains(out, `msg="idempotency store unavailable: answering 503"`) ||
		strings.Contains(out, "level=ERROR") || !strings.Contains(out, "status=400") {
		t.Errorf("configured logger got:\n%s\nwant one Warn for the outage, the 400 at Debug, no Error", out)
	}
	// Other tests' background work may log to slog.Default meanwhile: look
	// for this test's requests only.
	if strings.Contains(def.String(), "path=/pay") || strings.Contains(def.String(), "answering 503") {
		t.Errorf("slog.Default() got:\n%s\nwant nothing of this middleware", def.String())
	}
}
