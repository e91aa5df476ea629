package idemgin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	idemgin "github.com/idemkit/idemkit/contrib/gin"
	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// discard is the logger of every test: the answers are what is checked.
var discard = slog.New(slog.DiscardHandler)

// errOutOfStock is registered in the tests' own registry (see newWriter).
var errOutOfStock = errors.New("shop: out of stock")

// newWriter returns the error writer of the tests: a registry of their own
// (no global state) with errOutOfStock as 409 OUT_OF_STOCK, and no logs.
func newWriter(t *testing.T) *httpx.ErrorWriter {
	t.Helper()
	reg := errs.NewRegistry()
	if err := reg.Register(errOutOfStock, http.StatusConflict, "OUT_OF_STOCK", "Not enough items in stock"); err != nil {
		t.Fatal(err)
	}
	return &httpx.ErrorWriter{Registry: reg, Logger: discard}
}

// countingStore counts the calls that reach the store it wraps.
type countingStore struct {
	middleware.Store
	calls atomic.Int64
}

func newCountingStore() *countingStore {
	return &countingStore{Store: middleware.NewMemoryStore()}
}

func (s *countingStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	s.calls.Add(1)
	return s.Store.Claim(ctx, key, rec, ttl)
}

func (s *countingStore) Complete(ctx context.Context, key, token string, rec *middleware.Record, ttl time.Duration) error {
	s.calls.Add(1)
	return s.Store.Complete(ctx, key, token, rec, ttl)
}

func (s *countingStore) Release(ctx context.Context, key, token string) error {
	s.calls.Add(1)
	return s.Store.Release(ctx, key, token)
}

func (s *countingStore) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	s.calls.Add(1)
	return s.Store.Extend(ctx, key, token, ttl)
}

// newConfig is the idempotency configuration of the tests on store.
func newConfig(store middleware.Store) middleware.IdempotencyConfig {
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.Scope = func(r *http.Request) string { return r.Header.Get("X-User-ID") }
	cfg.Logger = discard
	return cfg
}

// newGin returns a gin engine wired as the package documentation says:
// RequestID, Recover, NoRoute and NoMethod, all on ew.
func newGin(ew *httpx.ErrorWriter) *gin.Engine {
	r := gin.New()
	r.Use(idemgin.RequestID(), idemgin.Recover(middleware.WithRecoverLogger(discard)))
	r.NoRoute(idemgin.NoRoute(idemgin.WithErrorWriter(ew)))
	r.HandleMethodNotAllowed = true
	r.NoMethod(idemgin.NoMethod(idemgin.WithErrorWriter(ew)))
	return r
}

// TestMain keeps gin quiet: no debug route listing on stdout.
func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// serve starts h on a real HTTP server for the test.
func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// client does not follow redirects: a 303 to a tombstone's Location is
// the answer under test.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// errorBody decodes r's body as the standard error body.
func (r reply) errorBody(t *testing.T) httpx.ErrorResponse {
	t.Helper()
	var got httpx.ErrorResponse
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("body %q is not the standard error body: %v", r.body, err)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q, want application/json; charset=utf-8", ct)
	}
	return got
}

// send makes one request as user alice, with the idempotency key when not
// empty, and returns the whole answer.
func send(t *testing.T, method, url, key, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-User-ID", "alice")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// within waits for ch to deliver, for at most a generous bound that only a
// broken (not a slow) implementation reaches.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}
