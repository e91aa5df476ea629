package httpx_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

func TestRetryBodyReplay(t *testing.T) {
	const payload = `{"seat":"12A","passenger":"Ada"}`
	tests := []struct {
		name      string
		h2        bool
		body      func() io.Reader
		maxBuffer int64
		steps     []step
		wantSent  int
		wantErrIs error
	}{
		{name: "GetBody (strings.Reader)", body: func() io.Reader { return strings.NewReader(payload) }, steps: []step{{status: 503}, {status: 503}, {status: 201}}, wantSent: 3},
		{name: "HTTP/2 GetBody", h2: true, body: func() io.Reader { return strings.NewReader(payload) }, steps: []step{{status: 503}, {status: 503}, {status: 201}}, wantSent: 3},
		{name: "HTTP/2 buffered", h2: true, body: func() io.Reader { return hideGetBody(payload) }, steps: []step{{status: 502}, {status: 201}}, wantSent: 2},
		{name: "buffered (no GetBody)", body: func() io.Reader { return hideGetBody(payload) }, steps: []step{{status: 503}, {hangup: true}, {status: 201}}, wantSent: 3},
		{name: "buffered exactly at the limit", body: func() io.Reader { return hideGetBody(payload) }, maxBuffer: int64(len(payload)), steps: []step{{status: 503}, {status: 201}}, wantSent: 2},
		{name: "too large to buffer: sent once", body: func() io.Reader { return hideGetBody(payload) }, maxBuffer: 8, steps: []step{{status: 503}, {status: 201}}, wantSent: 1, wantErrIs: httpx.ErrBodyNotReplayable},
		{name: "buffering off: sent once", body: func() io.Reader { return hideGetBody(payload) }, maxBuffer: -1, steps: []step{{hangup: true}, {status: 201}}, wantSent: 1, wantErrIs: httpx.ErrBodyNotReplayable},
		{name: "too large but not retried: delivered", body: func() io.Reader { return hideGetBody(payload) }, maxBuffer: 8, steps: []step{{status: 201}}, wantSent: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServerProto(t, tt.h2, tt.steps...)
			rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{MaxBufferedBody: tt.maxBuffer})
			req, _ := http.NewRequest("POST", srv.URL, tt.body())
			resp, err := rt.RoundTrip(req)
			if tt.wantErrIs != nil {
				if !errors.Is(err, tt.wantErrIs) {
					t.Fatalf("RoundTrip() error = %v, want errors.Is %v", err, tt.wantErrIs)
				}
				if !strings.Contains(err.Error(), "sent once") {
					t.Errorf("RoundTrip() error = %q, want it to say the body was sent once", err)
				}
			} else if err != nil || resp.StatusCode != 201 {
				t.Fatalf("RoundTrip() = %v, %v, want 201", resp, err)
			} else {
				resp.Body.Close()
			}
			got := srv.Seen()
			if len(got) != tt.wantSent {
				t.Fatalf("server saw %d attempts, want %d", len(got), tt.wantSent)
			}
			for i, s := range got {
				if s.body != payload {
					t.Errorf("attempt %d body = %q, want %q", i+1, s.body, payload)
				}
			}
		})
	}
}

// dyingConnServer answers the first request on every connection and then
// reads the next request on that connection and hangs up without answering:
// the client's reused connection dies under the second request. net/http
// then replays a request carrying an Idempotency-Key by itself.
type dyingConnServer struct {
	ln     net.Listener
	mu     sync.Mutex
	bodies []string
	wg     sync.WaitGroup
}

func newDyingConnServer(t *testing.T) *dyingConnServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &dyingConnServer{ln: ln}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *dyingConnServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (s *dyingConnServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	br := bufio.NewReader(c)
	for n := 1; ; n++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		b, _ := io.ReadAll(req.Body)
		s.mu.Lock()
		s.bodies = append(s.bodies, req.Header.Get("Idempotency-Attempt")+":"+string(b))
		s.mu.Unlock()
		if n == 2 {
			return // hang up under the second request
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	}
}

func (s *dyingConnServer) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// TestRetryDeadReusedConnection checks that net/http's own replay of a keyed
// request on a dead reused connection neither counts as an attempt of ours
// nor consumes the body twice.
func TestRetryDeadReusedConnection(t *testing.T) {
	tests := []struct {
		name       string
		body       func() io.Reader
		maxBuffer  int64
		wantStatus int
		wantErrIs  error
		wantBodies []string
	}{
		// net/http rewinds the body with GetBody and replays on a new
		// connection: one attempt of ours, the same attempt number twice.
		{name: "GetBody", body: func() io.Reader { return strings.NewReader("second") }, wantStatus: 200, wantBodies: []string{"1:first", "1:second", "1:second"}},
		{name: "buffered", body: func() io.Reader { return hideGetBody("second") }, wantStatus: 200, wantBodies: []string{"1:first", "1:second", "1:second"}},
		// Without GetBody nothing can be replayed, by net/http or by us.
		{name: "not rewindable", body: func() io.Reader { return hideGetBody("second") }, maxBuffer: -1, wantErrIs: httpx.ErrBodyNotReplayable, wantBodies: []string{"1:first", "1:second"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newDyingConnServer(t)
			base := &http.Transport{}
			t.Cleanup(base.CloseIdleConnections)
			counted := &countingTransport{base: base}
			var retries int
			rt, _ := newFakeTransport(counted, httpx.RetryPolicy{MaxBufferedBody: tt.maxBuffer, OnRetry: func(httpx.RetryEvent) { retries++ }})
			client := &http.Client{Transport: rt}
			url := "http://" + srv.ln.Addr().String()

			resp, err := client.Post(url, "text/plain", strings.NewReader("first"))
			if err != nil {
				t.Fatalf("first Post() error = %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()

			resp, err = client.Post(url, "text/plain", tt.body())
			if tt.wantErrIs != nil {
				if !errors.Is(err, tt.wantErrIs) {
					t.Fatalf("second Post() error = %v, want errors.Is %v", err, tt.wantErrIs)
				}
			} else {
				if err != nil || resp.StatusCode != tt.wantStatus {
					t.Fatalf("second Post() = %v, %v, want %d", resp, err, tt.wantStatus)
				}
				resp.Body.Close()
			}
			if got := counted.n.Load(); got != 2 {
				t.Errorf("attempts through the retry transport = %d, want 2 (one per Post)", got)
			}
			if retries != 0 {
				t.Errorf("OnRetry called %d times, want 0", retries)
			}
			if got := srv.Bodies(); strings.Join(got, ",") != strings.Join(tt.wantBodies, ",") {
				t.Errorf("server received %q, want %q", got, tt.wantBodies)
			}
		})
	}
}
