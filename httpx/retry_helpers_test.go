package httpx_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// retryClock is an injected clock: Sleep records the wait and advances Now.
type retryClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newRetryClock() *retryClock {
	return &retryClock{now: time.Now().Truncate(time.Second)}
}

func (c *retryClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *retryClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

func (c *retryClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// newFakeTransport returns a retry transport over base whose clock is fake.
func newFakeTransport(base http.RoundTripper, p httpx.RetryPolicy) (http.RoundTripper, *retryClock) {
	rt := httpx.NewRetryTransport(base, p)
	c := newRetryClock()
	httpx.SetRetryClock(rt, c.Now, c.Sleep)
	return rt, c
}

// step is one scripted answer of a scriptServer.
type step struct {
	status int
	header []string // key, value pairs
	body   string
	hangup bool // close the connection without answering
}

// seen is one request as the scriptServer received it.
type seen struct {
	method, key, altKey, attempt, body string
	contentLength                      int64
}

// scriptServer answers the n-th request with the n-th step (the last step
// repeats) and records what it received and how many connections it saw.
type scriptServer struct {
	*httptest.Server
	mu    sync.Mutex
	steps []step
	reqs  []seen
	conns atomic.Int64
}

func newScriptServer(t *testing.T, steps ...step) *scriptServer {
	t.Helper()
	return newScriptServerProto(t, false, steps...)
}

// newScriptServerProto starts a scriptServer, over HTTP/2 with TLS when h2 is
// set; its Client speaks the same protocol.
func newScriptServerProto(t *testing.T, h2 bool, steps ...step) *scriptServer {
	t.Helper()
	s := &scriptServer{steps: steps}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	if h2 {
		s.EnableHTTP2 = true
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

func (s *scriptServer) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, seen{
		method: r.Method, key: r.Header.Get("Idempotency-Key"), altKey: r.Header.Get("X-Idempotency-Key"),
		attempt: r.Header.Get("Idempotency-Attempt"), body: string(b), contentLength: r.ContentLength,
	})
	st := s.steps[min(len(s.reqs), len(s.steps))-1]
	s.mu.Unlock()
	if st.hangup {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	for i := 0; i+1 < len(st.header); i += 2 {
		w.Header().Set(st.header[i], st.header[i+1])
	}
	w.WriteHeader(st.status)
	io.WriteString(w, st.body)
}

func (s *scriptServer) Seen() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// hideGetBody returns a body http.NewRequest cannot make a GetBody for.
func hideGetBody(s string) io.Reader { return struct{ io.Reader }{strings.NewReader(s)} }

// noDelay is a policy whose waits are tiny, for tests that use real time.
func noDelay() httpx.RetryPolicy {
	return httpx.RetryPolicy{BaseDelay: time.Microsecond, MaxDelay: time.Millisecond}
}

// countingTransport counts the attempts that reach base.
type countingTransport struct {
	base http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}
