package recorder_test

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/recorder"
)

// env is one way of running a behaviour test: a protocol (a real server
// over HTTP/1.1, or HTTP/2 over TLS) and a recorder mode.
type env struct {
	proto    string // "h1" or "h2"
	buffered bool
}

func (e env) String() string {
	if e.buffered {
		return e.proto + "/buffered"
	}
	return e.proto + "/pass-through"
}

// opts returns the recorder options for e, for a request with method.
func (e env) opts(method string, extra ...recorder.Option) []recorder.Option {
	opts := []recorder.Option{recorder.WithMethod(method)}
	if e.buffered {
		opts = append(opts, recorder.Buffered())
	}
	return append(opts, extra...)
}

var (
	protos = []string{"h1", "h2"}
	envs   = []env{{"h1", false}, {"h1", true}, {"h2", false}, {"h2", true}}
)

// forEachEnv runs f as a subtest for every protocol and mode.
func forEachEnv(t *testing.T, f func(t *testing.T, e env)) {
	t.Helper()
	for _, e := range envs {
		t.Run(e.String(), func(t *testing.T) { f(t, e) })
	}
}

// logBuffer collects a server's ErrorLog output.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newServer starts a real server for h speaking proto, with its ErrorLog
// captured, closed when the test ends.
func newServer(t *testing.T, proto string, h http.Handler) (*httptest.Server, *logBuffer) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	logs := &logBuffer{}
	ts.Config.ErrorLog = log.New(logs, "", 0)
	switch proto {
	case "h1":
		ts.Start()
	case "h2":
		ts.EnableHTTP2 = true
		ts.StartTLS()
	default:
		t.Fatalf("unknown protocol %q", proto)
	}
	t.Cleanup(ts.Close)
	return ts, logs
}

// state is what a test reads from a Recorder once the handler returned.
type state struct {
	Status       int
	Written      bool
	Body         []byte
	Snapshot     http.Header
	BytesWritten int64
	Storable     bool
	Unstorable   error
	Flushed      bool
	Hijacked     bool
	Truncated    bool
	Holding      bool
	Ignored      int
	CommitErr    error
	AfterCommit  *state // buffered mode: the state once Commit returned
}

func stateOf(rec *recorder.Recorder) state {
	return state{
		Status:       rec.Status(),
		Written:      rec.Written(),
		Body:         bytes.Clone(rec.Body()),
		Snapshot:     rec.Snapshot(),
		BytesWritten: rec.BytesWritten(),
		Storable:     rec.Storable(),
		Unstorable:   rec.Unstorable(),
		Flushed:      rec.Flushed(),
		Hijacked:     rec.Hijacked(),
		Truncated:    rec.Truncated(),
		Holding:      rec.Holding(),
		Ignored:      rec.IgnoredWriteHeaders(),
	}
}

// recording wraps h in a middleware that records it in e's mode. When h
// returns, a buffered response is committed and the recorder's state is
// sent on the returned channel.
func recording(e env, h http.HandlerFunc, extra ...recorder.Option) (http.Handler, <-chan state) {
	ch := make(chan state, 1)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := recorder.New(w, e.opts(r.Method, extra...)...)
		defer rec.Release()
		h(rec, r)
		var commitErr error
		if e.buffered {
			st := stateOf(rec) // what a store would see: before Commit
			commitErr = rec.Commit()
			st.CommitErr = commitErr
			after := stateOf(rec)
			st.AfterCommit = &after
			ch <- st
			return
		}
		ch <- stateOf(rec)
	}), ch
}

// recv waits for the recorder state of a request.
func recv(t *testing.T, ch <-chan state) state {
	t.Helper()
	select {
	case st := <-ch:
		return st
	case <-time.After(time.Minute): // a generous bound: the handler's end is awaited
		t.Fatal("handler did not finish")
		return state{}
	}
}

// do sends a request to ts and reads the whole response.
func do(t *testing.T, ts *httptest.Server, method, path string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// mustDo is do for requests that must succeed.
func mustDo(t *testing.T, ts *httptest.Server, method, path string) (*http.Response, []byte) {
	t.Helper()
	resp, body, err := do(t, ts, method, path)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, body
}

// pattern returns n deterministic, non-repeating-looking bytes.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + (i*7+i/251)%26)
	}
	return b
}

// readerOnly hides WriterTo, so io.Copy calls the destination's ReadFrom.
type readerOnly struct{ io.Reader }
