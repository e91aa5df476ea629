package middleware_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// These tests provoke, over real connections, the resend that net/http's
// Transport makes on its own: a request that carries Idempotency-Key or
// X-Idempotency-Key and whose body can be rewound (GetBody) is replayable,
// and when it was written on a reused keep-alive connection that then fails
// before any response byte arrives, the Transport sends it again on a new
// connection inside the same Client.Do. Nothing on the client counts that
// resend; the server must answer it as the duplicate it is.
//
// The failure is made on the server: an outer wrapper lets the idempotency
// middleware and the handler run, then hijacks the connection and closes it
// without writing the answer. The client has written the whole request (the
// middleware read its body), so the Transport sees a read error before the
// first response byte on a reused connection: the case it resends. Every
// step waits on a channel, never on time.

// resendWait bounds each wait for the other side, so a bug fails the test
// instead of hanging it; on a healthy run nothing waits anywhere near it.
const resendWait = 30 * time.Second

// dropMode says when the wrapper closes the dropped request's connection.
type dropMode int

const (
	// dropAfterRun runs the middleware and handler to completion (the
	// response stored) into a recorder, then closes the connection.
	dropAfterRun dropMode = iota
	// dropWhileRunning closes the connection as soon as the handler has
	// started (running is closed), while it still runs, then waits for it.
	dropWhileRunning
)

// arrival is one POST as the outer wrapper received it.
type arrival struct {
	remote, key, attempt string
}

// dropServer serves inner behind a wrapper that answers GET itself (to
// warm a keep-alive connection) and drops the connection of the first POST
// as mode says; later POSTs are served normally.
type dropServer struct {
	*httptest.Server
	inner   http.Handler
	mode    dropMode
	running <-chan struct{} // dropWhileRunning: closed by the handler when it runs

	conns   atomic.Int64  // connections accepted
	dropped chan struct{} // closed when the dropped request's ServeHTTP returns

	mu       sync.Mutex
	warm     string    // remote address of the last GET
	posts    []arrival // every POST, in arrival order
	recorded *httptest.ResponseRecorder
}

func newDropServer(t *testing.T, inner http.Handler, mode dropMode, running <-chan struct{}) *dropServer {
	t.Helper()
	s := &dropServer{inner: inner, mode: mode, running: running, dropped: make(chan struct{})}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(func() {
		// A hijacked connection is not waited for by Close: wait for the
		// dropped request's handler so that it never outlives the test.
		select {
		case <-s.dropped:
		case <-time.After(resendWait):
			t.Errorf("the dropped request's handler did not return within %v", resendWait)
		}
		s.Close()
	})
	return s
}

func (s *dropServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		s.mu.Lock()
		s.warm = r.RemoteAddr
		s.mu.Unlock()
		io.WriteString(w, "warm")
		return
	}
	key := r.Header.Get(middleware.HeaderIdempotencyKey)
	if key == "" {
		key = r.Header.Get(middleware.HeaderXIdempotencyKey)
	}
	s.mu.Lock()
	s.posts = append(s.posts, arrival{remote: r.RemoteAddr, key: key, attempt: r.Header.Get("Idempotency-Attempt")})
	first := len(s.posts) == 1
	s.mu.Unlock()
	if !first {
		s.inner.ServeHTTP(w, r)
		return
	}

	defer close(s.dropped)
	rec := httptest.NewRecorder()
	switch s.mode {
	case dropAfterRun:
		s.inner.ServeHTTP(rec, r)
		s.mu.Lock()
		s.recorded = rec
		s.mu.Unlock()
		hangUp(w)
	case dropWhileRunning:
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.inner.ServeHTTP(rec, r)
		}()
		select {
		case <-s.running:
		case <-done: // answered without running the handler: the test fails on it
		}
		hangUp(w)
		<-done // keeps r's context alive while the handler runs
	}
}

// hangUp closes w's connection without writing anything on it.
func hangUp(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic("hijack: " + err.Error()) // HTTP/1.1 servers always allow it
	}
	c.Close()
}

// Arrivals returns the POSTs received so far and the warm-up's address.
func (s *dropServer) Arrivals() (posts []arrival, warm string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrival(nil), s.posts...), s.warm
}

// Recorded returns what the middleware answered the dropped request, which
// never reached the client (dropAfterRun only).
func (s *dropServer) Recorded() *httptest.ResponseRecorder {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recorded
}

// warmUp sends a GET and reads its answer to the end, which puts its
// keep-alive connection back in c's idle pool before it returns, so the
// next request reuses that connection.
func warmUp(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("warm-up GET: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("warm-up GET body: %v", err)
	}
	resp.Body.Close()
}

// connTrace records the connections one request got, as
// httptrace.ClientTrace.GotConn reports them.
type connTrace struct {
	mu     sync.Mutex
	reused []bool
}

func (ct *connTrace) request(req *http.Request) *http.Request {
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		ct.mu.Lock()
		ct.reused = append(ct.reused, info.Reused)
		ct.mu.Unlock()
	}}
	return req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
}

func (ct *connTrace) Reused() []bool {
	ct.mu.Lock()
	defer ct.mu.Unlock()
	return append([]bool(nil), ct.reused...)
}

// checkResent checks that the server saw the keyed POST twice, first on
// the warmed connection and then on a new one, with the same key.
func checkResent(t *testing.T, s *dropServer, key string, ct *connTrace) {
	t.Helper()
	posts, warm := s.Arrivals()
	if len(posts) != 2 {
		t.Fatalf("server saw %d POSTs (%v), want 2: the request and the Transport's own resend", len(posts), posts)
	}
	if posts[0].key != key || posts[1].key != key {
		t.Errorf("POST keys = %q, %q, want %q on both", posts[0].key, posts[1].key, key)
	}
	if posts[0].remote != warm {
		t.Errorf("first POST came from %s, want the warmed keep-alive connection %s", posts[0].remote, warm)
	}
	if posts[1].remote == posts[0].remote {
		t.Errorf("resend came from %s, the dropped connection; want a new one", posts[1].remote)
	}
	if got := s.conns.Load(); got != 2 {
		t.Errorf("server accepted %d connections, want 2 (warmed, then the resend's)", got)
	}
	if got := ct.Reused(); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("httptrace GotConn Reused = %v, want [true false]: the reused connection, then the resend's new one", got)
	}
}

// TestTransportResendAfterRunReplays: the keyed POST ran and its answer was
// stored, but the connection died before the answer was written. The
// Transport resends it within the same Do; the middleware replays the
// stored answer, and the handler runs once.
func TestTransportResendAfterRunReplays(t *testing.T) {
	tests := []struct {
		name      string
		keyHeader string
		// retrying sends through httpx.NewRetryTransport, to show that its
		// attempt count and OnRetry do not see the resend.
		retrying bool
	}{
		{name: "Idempotency-Key", keyHeader: middleware.HeaderIdempotencyKey},
		{name: "X-Idempotency-Key", keyHeader: middleware.HeaderXIdempotencyKey},
		{name: "through the retry transport", keyHeader: middleware.HeaderIdempotencyKey, retrying: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var serial atomic.Int64
			h := &countingHandler{respond: created(&serial)}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))
			srv := newDropServer(t, mw(h), dropAfterRun, nil)

			client := srv.Client()
			var retries atomic.Int64
			if tt.retrying {
				p := httpx.DefaultRetryPolicy()
				p.OnRetry = func(httpx.RetryEvent) { retries.Add(1) }
				client = &http.Client{Transport: httpx.NewRetryTransport(client.Transport, p)}
			}
			warmUp(t, client, srv.URL)

			key := newKey()
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"seat":"12A"}`))
			req.Header.Set(tt.keyHeader, key)
			var ct connTrace
			resp, err := client.Do(ct.request(req))
			if err != nil {
				t.Fatalf("Do(keyed POST) error = %v, want the replayed answer of the Transport's resend", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			checkResent(t, srv, key, &ct)
			stored := srv.Recorded()
			if resp.StatusCode != http.StatusCreated || resp.Header.Get(middleware.HeaderReplayed) != "true" {
				t.Errorf("Do(keyed POST) = %d, %s: %q; want 201 with %s: true",
					resp.StatusCode, middleware.HeaderReplayed, resp.Header.Get(middleware.HeaderReplayed), middleware.HeaderReplayed)
			}
			if stored == nil {
				t.Fatal("the dropped request recorded no answer")
			}
			if stored.Code != http.StatusCreated || string(body) != stored.Body.String() {
				t.Errorf("replayed body = %q, want the dropped run's answer byte for byte: %d %q", body, stored.Code, stored.Body.String())
			}
			if got := h.calls.Load(); got != 1 {
				t.Errorf("handler ran %d times, want 1", got)
			}
			if tt.retrying {
				posts, _ := srv.Arrivals()
				if retries.Load() != 0 || posts[0].attempt != "1" || posts[1].attempt != "1" {
					t.Errorf("OnRetry calls = %d, Idempotency-Attempt = %q, %q; want 0 and \"1\" twice: the resend is inside one attempt",
						retries.Load(), posts[0].attempt, posts[1].attempt)
				}
			}
		})
	}
}

// TestTransportResendWhileRunningInProgress: the connection dies while the
// handler still runs, so the Transport's resend finds the key processing
// and the client's Do returns the in-progress answer. The handler runs
// once, and a later request with the key gets its stored answer.
func TestTransportResendWhileRunningInProgress(t *testing.T) {
	var serial atomic.Int64
	running, release := make(chan struct{}), make(chan struct{})
	h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		close(running)
		<-release
		created(&serial)(w, r)
	}}
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))
	srv := newDropServer(t, mw(h), dropWhileRunning, running)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release) // a failed test must not leave the handler blocked
		}
	})
	client := srv.Client()
	warmUp(t, client, srv.URL)

	key := newKey()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"seat":"12A"}`))
	req.Header.Set(middleware.HeaderIdempotencyKey, key)
	var ct connTrace
	resp, err := client.Do(ct.request(req))
	if err != nil {
		t.Fatalf("Do(keyed POST) error = %v, want the in-progress answer to the Transport's resend", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	checkResent(t, srv, key, &ct)
	if resp.StatusCode != http.StatusAccepted || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"processing"`) {
		t.Errorf("Do(keyed POST) = %d, Retry-After %q, body %q; want 202 {\"status\":\"processing\"} with Retry-After",
			resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}

	close(release)
	select {
	case <-srv.dropped:
	case <-time.After(resendWait):
		t.Fatalf("the first request's handler did not finish within %v", resendWait)
	}
	later := send(t, client, http.MethodPost, srv.URL+"/orders", key, `{"seat":"12A"}`)
	if later.status != http.StatusCreated || later.header.Get(middleware.HeaderReplayed) != "true" {
		t.Errorf("POST with the key after the first finished = %d (%s: %q), want the stored 201 replayed",
			later.status, middleware.HeaderReplayed, later.header.Get(middleware.HeaderReplayed))
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler ran %d times, want 1", got)
	}
}

// TestTransportNoResendWithoutKey is the control: the same failure on a
// POST without a key is not replayable, so the Transport returns the error
// and the server sees the request once.
func TestTransportNoResendWithoutKey(t *testing.T) {
	var serial atomic.Int64
	h := &countingHandler{respond: created(&serial)}
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))
	srv := newDropServer(t, mw(h), dropAfterRun, nil)
	client := srv.Client()
	warmUp(t, client, srv.URL)

	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/orders", strings.NewReader(`{"seat":"12A"}`))
	resp, err := client.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("Do(POST without a key) = %d, want an error (the connection closed before any answer)", resp.StatusCode)
	}
	if posts, _ := srv.Arrivals(); len(posts) != 1 {
		t.Errorf("server saw %d POSTs, want 1: a POST without a key is not resent", len(posts))
	}
	if got := h.calls.Load(); got != 1 {
		t.Errorf("handler ran %d times, want 1", got)
	}
}
