package middleware_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// TestIdempotencyNoStoreCalls: requests the middleware does not cover reach
// the handler with zero store calls.
func TestIdempotencyNoStoreCalls(t *testing.T) {
	cases := []struct {
		name, method, path, key string
	}{
		{"no key", "POST", "/orders", ""},
		{"GET with a key", "GET", "/orders", "k1"},
		{"HEAD with a key", "HEAD", "/orders", "k1"},
		{"skipped path", "POST", "/health", "k1"},
		{"malformed key on a GET", "GET", "/orders", " bad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: middleware.NewMemoryStore()}
			cfg := middleware.DefaultIdempotencyConfig(store)
			cfg.SkipPaths = []string{"/health"}
			var serial atomic.Int64
			h := &countingHandler{respond: created(&serial)}
			mw := middleware.Idempotency(cfg)(h)
			r := httptest.NewRequest(tc.method, tc.path, strings.NewReader("{}"))
			if tc.key != "" {
				r.Header["Idempotency-Key"] = []string{tc.key}
			}
			w := httptest.NewRecorder()
			mw.ServeHTTP(w, r)
			if h.calls.Load() != 1 || store.calls.Load() != 0 {
				t.Errorf("handler calls = %d, store calls = %d, want 1 and 0", h.calls.Load(), store.calls.Load())
			}
		})
	}
}

func TestIdempotencyInvalidKey(t *testing.T) {
	cases := []struct {
		name   string
		values []string
	}{
		{"empty", []string{""}},
		{"256 bytes", []string{strings.Repeat("a", 256)}},
		{"control byte", []string{"ab\x01c"}},
		{"tab", []string{"ab\tc"}},
		{"DEL", []string{"ab\x7fc"}},
		{"non-ASCII", []string{"clé"}},
		{"quoted empty", []string{`""`}},
		{"quoted leading space", []string{`" abc"`}},
		{"quoted trailing space", []string{`"abc "`}},
		{"unterminated quote", []string{`"abc`}},
		{"bad escape", []string{`"a\bc"`}},
		{"inner quote", []string{`"a"c"`}},
		{"two values", []string{"a", "b"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := &countingStore{Store: middleware.NewMemoryStore()}
			var serial atomic.Int64
			h := &countingHandler{respond: created(&serial)}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(store))(h)
			r := httptest.NewRequest("POST", "/orders", strings.NewReader("{}"))
			r.Header["Idempotency-Key"] = tc.values
			w := httptest.NewRecorder()
			mw.ServeHTTP(w, r)
			if w.Code != http.StatusBadRequest || errorCode(t, w.Body.String()) != "INVALID_IDEMPOTENCY_KEY" {
				t.Errorf("key %q = %d %s, want 400 INVALID_IDEMPOTENCY_KEY", tc.values, w.Code, w.Body)
			}
			if !strings.Contains(w.Body.String(), `"reason"`) {
				t.Errorf("body %s lacks the reason detail", w.Body)
			}
			if h.calls.Load() != 0 || store.calls.Load() != 0 {
				t.Errorf("handler calls = %d, store calls = %d, want 0 and 0", h.calls.Load(), store.calls.Load())
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"abc", "abc", true},
		{`"abc"`, "abc", true},
		{`"a\"b\\c"`, `a"b\c`, true},
		{"a b", "a b", true},
		{`a"b`, `a"b`, true},
		{strings.Repeat("z", 255), strings.Repeat("z", 255), true},
		{`"` + strings.Repeat("z", 255) + `"`, strings.Repeat("z", 255), true},
		{strings.Repeat("z", 256), "", false},
		{"", "", false},
		{" a", "", false},
		{"a ", "", false},
		{`"`, "", false},
		{`"a\"`, "", false},
	}
	for _, tc := range cases {
		got, err := middleware.ParseKey(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseKey(%q) = %q, %v, want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"abc", `"abc"`, `"a\"b"`, "", " ", `"`, "\x00", strings.Repeat("k", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		key, err := middleware.ParseKey(in)
		if err != nil {
			return
		}
		if key == "" || len(key) > middleware.MaxKeyLength || key[0] == ' ' || key[len(key)-1] == ' ' {
			t.Fatalf("ParseKey(%q) = %q accepted an invalid key", in, key)
		}
		for i := 0; i < len(key); i++ {
			if key[i] < 0x20 || key[i] > 0x7e {
				t.Fatalf("ParseKey(%q) = %q has byte %#x", in, key, key[i])
			}
		}
		// Quoting a valid key yields the same key.
		quoted := `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(key) + `"`
		if again, err := middleware.ParseKey(quoted); err != nil || again != key {
			t.Fatalf("ParseKey(%q) = %q, %v, want %q", quoted, again, err, key)
		}
	})
}

func TestIdempotencyBodyLimit(t *testing.T) {
	store := &countingStore{Store: middleware.NewMemoryStore()}
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.MaxBodyBytes = 16
	var bodies []string
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("handler reading the body: %v", err)
		}
		bodies = append(bodies, string(b))
	})
	mw := middleware.Idempotency(cfg)(h)
	if got := do(t, mw, "POST", "/x", "k", strings.Repeat("a", 17)); got.status != http.StatusRequestEntityTooLarge ||
		errorCode(t, got.body) != "PAYLOAD_TOO_LARGE" {
		t.Errorf("17-byte body = %d %s, want 413 PAYLOAD_TOO_LARGE", got.status, got.body)
	}
	if store.calls.Load() != 0 {
		t.Errorf("store calls = %d after 413, want 0", store.calls.Load())
	}
	do(t, mw, "POST", "/x", "k", strings.Repeat("b", 16))
	if len(bodies) != 1 || bodies[0] != strings.Repeat("b", 16) {
		t.Errorf("handler saw bodies %q, want the 16-byte body restored once", bodies)
	}
}

// leavingClaimStore calls leave at the start of every claim, so that a
// client leaves while its claim is in flight, whatever the machine's speed.
type leavingClaimStore struct {
	middleware.Store
	leave func()
}

func (s leavingClaimStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	s.leave()
	return s.Store.Claim(ctx, key, rec, ttl)
}

// TestIdempotencyClientLeavesDuringClaim: a client that disconnects while
// its claim is in flight is not an outage (no store-error, no 503) and
// does not leave its key blocked.
func TestIdempotencyClientLeavesDuringClaim(t *testing.T) {
	mem := middleware.NewMemoryStore()
	var ev events
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	ctx, cancel := context.WithCancel(context.Background())
	cfg := middleware.DefaultIdempotencyConfig(leavingClaimStore{mem, cancel}) // the retry's claim cancels nothing
	cfg.OnEvent = ev.add
	mw := middleware.Idempotency(cfg)(h)
	r := httptest.NewRequestWithContext(ctx, "POST", "/orders", strings.NewReader("{}"))
	r.Header.Set("Idempotency-Key", "leaving")
	w := httptest.NewRecorder()
	mw.ServeHTTP(w, r)
	if w.Code != 499 || h.calls.Load() != 0 || ev.count(middleware.EventStoreError) != 0 {
		t.Errorf("client left mid-claim: %d, %d handler calls, events %v; want 499, 0 calls, no store-error",
			w.Code, h.calls.Load(), ev.String())
	}
	if got := do(t, mw, "POST", "/orders", "leaving", "{}"); got.status != http.StatusCreated {
		t.Errorf("retry = %d, want 201 (the claim was released, not left blocking)", got.status)
	}
}
