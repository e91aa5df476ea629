package recorder_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/recorder"
)

// chiBasic and its fancy variants mimic chi's middleware.WrapResponseWriter
// (go-chi/chi middleware/wrap_writer.go) closely enough to nest under a
// Recorder: chi itself is not a dependency of this module.
type chiBasic struct {
	http.ResponseWriter
	wroteHeader bool
	code, bytes int
}

func (b *chiBasic) WriteHeader(code int) {
	if !b.wroteHeader {
		b.code, b.wroteHeader = code, true
		b.ResponseWriter.WriteHeader(code)
	}
}

func (b *chiBasic) Write(p []byte) (int, error) {
	b.WriteHeader(http.StatusOK)
	n, err := b.ResponseWriter.Write(p)
	b.bytes += n
	return n, err
}

func (b *chiBasic) Unwrap() http.ResponseWriter { return b.ResponseWriter }

// chiFancy is chi's HTTP/1.x writer: Flusher, Hijacker, ReaderFrom.
type chiFancy struct{ *chiBasic }

func (f chiFancy) Flush() {
	f.wroteHeader = true
	f.ResponseWriter.(http.Flusher).Flush()
}

func (f chiFancy) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return f.ResponseWriter.(http.Hijacker).Hijack()
}

func (f chiFancy) ReadFrom(r io.Reader) (int64, error) {
	f.WriteHeader(http.StatusOK)
	n, err := f.ResponseWriter.(io.ReaderFrom).ReadFrom(r)
	f.bytes += int(n)
	return n, err
}

// chiHTTP2Fancy is chi's HTTP/2 writer: Flusher, Pusher.
type chiHTTP2Fancy struct{ *chiBasic }

func (f chiHTTP2Fancy) Flush() {
	f.wroteHeader = true
	f.ResponseWriter.(http.Flusher).Flush()
}

func (f chiHTTP2Fancy) Push(target string, opts *http.PushOptions) error {
	return f.ResponseWriter.(http.Pusher).Push(target, opts)
}

// layer puts a writer between the server and the outer Recorder; done runs
// when the handler has returned.
type layer struct {
	name string
	wrap func(w http.ResponseWriter, r *http.Request) (inner http.ResponseWriter, done func())
}

var layers = []layer{
	{"recorder", func(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func()) {
		rec := recorder.New(w, recorder.WithCaptureLimit(8<<10))
		return rec, rec.Release
	}},
	{"buffered recorder", func(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func()) {
		rec := recorder.New(w, recorder.Buffered(), recorder.WithCaptureLimit(8<<10))
		return rec, func() { rec.Commit(); rec.Release() }
	}},
	{"chi WrapResponseWriter", func(w http.ResponseWriter, r *http.Request) (http.ResponseWriter, func()) {
		if r.ProtoMajor == 2 {
			return chiHTTP2Fancy{&chiBasic{ResponseWriter: w}}, func() {}
		}
		return chiFancy{&chiBasic{ResponseWriter: w}}, func() {}
	}},
}

// nested serves h through an outer Recorder in e's mode over l, over the
// server's writer. base receives the server's writer.
func nested(e env, l layer, h http.HandlerFunc, base chan<- http.ResponseWriter, opts ...recorder.Option) (http.Handler, <-chan state) {
	outer, states := recording(e, h, opts...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if base != nil {
			base <- w
		}
		inner, done := l.wrap(w, r)
		outer.ServeHTTP(inner, r)
		done()
	}), states
}

// Checklist item 29: a Recorder over another Recorder or over chi's writer
// keeps streaming, hijacking, the ResponseController and sendfile working,
// and its Unwrap chain reaches the server's writer.
func TestNesting(t *testing.T) {
	file := pattern(1 << 20)
	path := filepath.Join(t.TempDir(), "file.bin")
	if err := os.WriteFile(path, file, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		t.Run(l.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				t.Run("Unwrap and deadlines", func(t *testing.T) {
					base := make(chan http.ResponseWriter, 1)
					reached := make(chan http.ResponseWriter, 1)
					h, states := nested(e, l, func(w http.ResponseWriter, r *http.Request) {
						if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
							t.Errorf("SetWriteDeadline() = %v, want nil", err)
						}
						for {
							u, ok := w.(interface{ Unwrap() http.ResponseWriter })
							if !ok {
								break
							}
							w = u.Unwrap()
						}
						reached <- w
					}, base)
					ts, _ := newServer(t, e.proto, h)
					mustDo(t, ts, "GET", "/")
					recv(t, states)
					if got, want := <-reached, <-base; got != want {
						t.Errorf("Unwrap chain ends at %T, want the server's %T", got, want)
					}
				})
				t.Run("streaming", func(t *testing.T) {
					got1 := make(chan struct{})
					h, states := nested(e, l, func(w http.ResponseWriter, r *http.Request) {
						io.WriteString(w, "one\n")
						w.(http.Flusher).Flush()
						select {
						case <-got1:
						case <-r.Context().Done():
							return
						}
						io.WriteString(w, "two\n")
					}, nil)
					ts, _ := newServer(t, e.proto, h)
					resp, err := ts.Client().Get(ts.URL)
					if err != nil {
						t.Fatal(err)
					}
					defer resp.Body.Close()
					br := bufio.NewReader(resp.Body)
					if line, err := br.ReadString('\n'); line != "one\n" {
						t.Fatalf("first line = %q, %v, want %q", line, err, "one\n")
					}
					close(got1)
					if line, err := br.ReadString('\n'); line != "two\n" {
						t.Fatalf("second line = %q, %v, want %q", line, err, "two\n")
					}
					checkReason(t, recv(t, states), recorder.ErrStreamed)
				})
				if e.proto != "h1" {
					return
				}
				t.Run("hijack", func(t *testing.T) {
					h, states := nested(e, l, func(w http.ResponseWriter, r *http.Request) {
						conn, _, err := w.(http.Hijacker).Hijack()
						if err != nil {
							t.Errorf("Hijack() = %v", err)
							return
						}
						io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nraw")
						conn.Close()
					}, nil)
					ts, _ := newServer(t, e.proto, h)
					_, body := mustDo(t, ts, "GET", "/")
					st := recv(t, states)
					if string(body) != "raw" || !st.Hijacked {
						t.Errorf("client body, Hijacked() = %q, %v, want %q, true", body, st.Hijacked, "raw")
					}
				})
				t.Run("sendfile", func(t *testing.T) {
					h, states := nested(e, l, func(w http.ResponseWriter, r *http.Request) {
						http.ServeFile(w, r, path)
					}, nil, recorder.WithCaptureLimit(4<<10))
					var readFroms atomic.Int64
					ts := httptest.NewUnstartedServer(h)
					ts.Listener = countingListener{ts.Listener, &readFroms}
					ts.Start()
					defer ts.Close()
					_, body := mustDo(t, ts, "GET", "/")
					st := recv(t, states)
					if !bytes.Equal(body, file) || !bytes.Equal(st.Body, file[:4<<10]) {
						t.Errorf("client body %d bytes, Body() %d bytes; want %d and %d", len(body), len(st.Body), len(file), 4<<10)
					}
					if !e.buffered && l.name != "buffered recorder" && readFroms.Load() == 0 {
						t.Error("connection ReadFrom calls = 0, want > 0 (sendfile path lost)")
					}
				})
			})
		})
	}
}

// Checklist item 29 over httptest.ResponseRecorder, and several layers of
// Recorders (httpsnoop's TestUnwrapMultipleLayers).
func TestOverResponseRecorder(t *testing.T) {
	rr := httptest.NewRecorder()
	rec := recorder.New(recorder.New(recorder.New(rr)))
	var w http.ResponseWriter = rec
	for range 3 {
		w = w.(interface{ Unwrap() http.ResponseWriter }).Unwrap()
	}
	if w != rr {
		t.Fatalf("three Unwraps reach %T, want the *httptest.ResponseRecorder", w)
	}
	if _, _, err := rec.Hijack(); !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Hijack() = %v, want ErrNotSupported", err)
	}
	if err := rec.Push("/x", nil); err != http.ErrNotSupported {
		t.Errorf("Push() = %v, want ErrNotSupported", err)
	}
	n, err := rec.ReadFrom(readerOnly{strings.NewReader("body")})
	if n != 4 || err != nil {
		t.Errorf("ReadFrom() = %d, %v, want 4, nil", n, err)
	}
	if err := rec.FlushError(); err != nil || !rr.Flushed || !rec.Flushed() {
		t.Errorf("FlushError() = %v, ResponseRecorder.Flushed %v, Flushed() %v; want nil, true, true", err, rr.Flushed, rec.Flushed())
	}
	if rr.Code != 200 || rr.Body.String() != "body" || string(rec.Body()) != "body" {
		t.Errorf("ResponseRecorder got %d %q, Body() %q; want 200 %q", rr.Code, rr.Body, rec.Body(), "body")
	}
}
