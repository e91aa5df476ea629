package middleware_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
	"github.com/valkey-io/valkey-go"
)

// backend is a store under test. Valkey backends share one server (or
// cluster) across all scenarios of TestIdempotency; scenarios use unique
// keys (and scopes).
type backend struct {
	name  string
	store middleware.Store
	// server is the standalone Valkey server, for fault tests (nil otherwise).
	server *valkeytest.Server
	// client is the Valkey backends' client, to inspect keys (nil for memory).
	client valkey.Client
	// nodes are the Valkey servers behind store (none for memory).
	nodes []*valkeytest.Server
}

// scenario is a named test of the middleware on one backend.
type scenario struct {
	name string
	run  func(t *testing.T, b backend)
}

// backends returns the memory store, a standalone Valkey and a 3-master
// Valkey Cluster, each started once for the calling test.
func backends(t *testing.T) []backend {
	t.Helper()
	bs := []backend{{name: "memory", store: middleware.NewMemoryStore()}}
	s := valkeytest.StartServer(t)
	sc := s.Client(t)
	bs = append(bs, backend{name: "valkey", store: middleware.NewValkeyStore(sc), server: s, client: sc,
		nodes: []*valkeytest.Server{s}})
	c := valkeytest.StartCluster(t)
	cc := c.Client(t)
	bs = append(bs, backend{name: "cluster", store: middleware.NewValkeyStore(cc), client: cc, nodes: c.Nodes})
	return bs
}

// newKey returns a fresh idempotency key.
func newKey() string { return "k-" + rand.Text() }

// countingHandler counts executions and answers what respond says.
type countingHandler struct {
	calls   atomic.Int64
	respond func(w http.ResponseWriter, r *http.Request)
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	h.respond(w, r)
}

// created answers 201 with a JSON body that echoes the request body and a
// per-execution serial, plus headers a replay must and must not carry.
func created(serial *atomic.Int64) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := serial.Add(1)
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Location", "/orders/1")
		h.Add("X-Multi", "a")
		h.Add("X-Multi", "b, c")
		h.Set("Set-Cookie", "session=secret")
		h.Set("X-RateLimit-Remaining", "41")
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(map[string]any{"serial": n, "echo": string(body)})
	}
}

type result struct {
	status int
	header http.Header
	body   string
}

// postBody sends a POST of body with key and the header pairs hdr (name,
// value, ...). Unlike send it returns errors instead of failing the test,
// so it may run on any goroutine.
func postBody(ctx context.Context, c *http.Client, url, key, body string, hdr ...string) (result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return result{}, err
	}
	req.Header.Set(middleware.HeaderIdempotencyKey, key)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}, err
}

// do sends one request through h (in-process, via httptest.NewRecorder).
func do(t testing.TB, h http.Handler, method, target, key, body string, hdr ...string) result {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if key != "" {
		r.Header.Set(middleware.HeaderIdempotencyKey, key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return result{status: w.Code, header: w.Header(), body: w.Body.String()}
}

// send sends one request to a real server.
func send(t testing.TB, c *http.Client, method, url, key, body string, hdr ...string) result {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set(middleware.HeaderIdempotencyKey, key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// errorCode decodes the standard error body's "error" member.
func errorCode(t testing.TB, body string) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not JSON: %v", body, err)
	}
	return e.Error
}

// countingStore counts calls to a real store (instrumentation, not a fake).
type countingStore struct {
	middleware.Store
	calls atomic.Int64
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

// failingCompleteStore fails every Complete: a store that breaks after the
// handler ran (fault injection around a real store).
type failingCompleteStore struct{ middleware.Store }

func (failingCompleteStore) Complete(context.Context, string, string, *middleware.Record, time.Duration) error {
	return io.ErrUnexpectedEOF
}

// events collects OnEvent calls.
type events struct {
	mu    sync.Mutex
	kinds []middleware.EventKind
}

func (e *events) add(ev middleware.Event) {
	e.mu.Lock()
	e.kinds = append(e.kinds, ev.Kind)
	e.mu.Unlock()
}

// String lists the events so far, for failure messages.
func (e *events) String() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return fmt.Sprint(e.kinds)
}

func (e *events) count(k middleware.EventKind) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.kinds {
		if x == k {
			n++
		}
	}
	return n
}

// patience bounds the wait for something that must happen: far beyond
// what it takes even on a busy machine, so that only an event that never
// comes fails a test, never a slow scheduler. Tests wait for events, not
// for a time window; the wait ends as soon as the event is seen.
const patience = 60 * time.Second

// eventually polls cond until it holds or d passes, sleeping 1ms, 2ms,
// 4ms ... up to 100ms between tries so that a cond that sends a request
// does not hammer a busy server.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	var bo backoff
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: did not happen within %v", what, d)
		}
		bo.wait()
	}
}

// backoff paces a retry loop: each wait sleeps about twice as long as the
// one before, from 1ms up to max (100ms when zero), jittered down to half
// so that many retrying goroutines spread out instead of arriving together.
type backoff struct {
	next, max time.Duration
}

func (b *backoff) wait() {
	if b.max <= 0 {
		b.max = 100 * time.Millisecond
	}
	d := min(max(b.next, time.Millisecond), b.max)
	time.Sleep(d/2 + mrand.N(d/2+1))
	b.next = 2 * d
}

// crashAfterClaim lets claims through and drops everything after them, like
// a worker process that died while its handler ran.
type crashAfterClaim struct{ middleware.Store }

func (crashAfterClaim) Complete(context.Context, string, string, *middleware.Record, time.Duration) error {
	return nil
}
func (crashAfterClaim) Release(context.Context, string, string) error { return nil }
func (crashAfterClaim) Extend(context.Context, string, string, time.Duration) error {
	return nil
}
