package recorder_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/recorder"
)

// Checklist item 21: a Recorder has every optional interface, whatever it
// wraps.
func TestOptionalInterfaces(t *testing.T) {
	var w http.ResponseWriter = recorder.New(httptest.NewRecorder())
	checks := []struct {
		name string
		ok   bool
	}{
		{"http.Flusher", is[http.Flusher](w)},
		{"FlushError", is[interface{ FlushError() error }](w)},
		{"http.Hijacker", is[http.Hijacker](w)},
		{"io.ReaderFrom", is[io.ReaderFrom](w)},
		{"io.StringWriter", is[io.StringWriter](w)},
		{"http.Pusher", is[http.Pusher](w)},
		{"Unwrap", is[interface{ Unwrap() http.ResponseWriter }](w)},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("*Recorder is not a %s", c.name)
		}
	}
	// The deadline methods and EnableFullDuplex are reached through Unwrap,
	// never implemented (they would hide the real writer's).
	for name, ok := range map[string]bool{
		"SetReadDeadline":  is[interface{ SetReadDeadline(time.Time) error }](w),
		"SetWriteDeadline": is[interface{ SetWriteDeadline(time.Time) error }](w),
		"EnableFullDuplex": is[interface{ EnableFullDuplex() error }](w),
	} {
		if ok {
			t.Errorf("*Recorder has %s, want it reached through Unwrap", name)
		}
	}
}

func is[T any](v any) bool {
	_, ok := v.(T)
	return ok
}

// Checklist item 22: over every combination of features the wrapped
// writer has (2^6), the Recorder uses the real feature or says
// http.ErrNotSupported; it never fakes one.
func TestFeatureCombinations(t *testing.T) {
	src := pattern(100)
	for mask := 0; mask <= featAll; mask++ {
		has := func(f int) bool { return mask&f != 0 }
		t.Run(featString(mask), func(t *testing.T) {
			t.Run("FlushError", func(t *testing.T) {
				fake, base := newFake(mask)
				rec := recorder.New(fake)
				err := rec.FlushError()
				switch {
				case has(featFlushError):
					if err != nil || !base.called("FlushError") {
						t.Errorf("FlushError() = %v, calls %v, want nil and the writer's FlushError", err, base.calls)
					}
				case has(featFlush):
					if err != nil || !base.called("Flush") {
						t.Errorf("FlushError() = %v, calls %v, want nil and the writer's Flush", err, base.calls)
					}
				default:
					if !errors.Is(err, http.ErrNotSupported) || rec.Written() || rec.Flushed() || len(base.calls) != 0 {
						t.Errorf("FlushError() = %v, Written %v, Flushed %v, calls %v; want ErrNotSupported and no change",
							err, rec.Written(), rec.Flushed(), base.calls)
					}
				}
				rec.Flush() // never panics
			})
			t.Run("Hijack", func(t *testing.T) {
				fake, base := newFake(mask)
				rec := recorder.New(fake)
				conn, _, err := rec.Hijack()
				if has(featHijack) {
					if err != nil || conn != base.conn || !rec.Hijacked() {
						t.Errorf("Hijack() = %v, %v; Hijacked() = %v, want the writer's conn", conn, err, rec.Hijacked())
					}
					conn.Close()
					return
				}
				if !errors.Is(err, http.ErrNotSupported) || rec.Hijacked() {
					t.Errorf("Hijack() error = %v, Hijacked() = %v, want ErrNotSupported, false", err, rec.Hijacked())
				}
			})
			t.Run("Push", func(t *testing.T) {
				fake, _ := newFake(mask)
				err := recorder.New(fake).Push("/style.css", nil)
				var want error = http.ErrNotSupported
				if has(featPush) {
					want = errPushed
				}
				if err != want {
					t.Errorf("Push() = %v, want %v", err, want)
				}
			})
			t.Run("ReadFrom", func(t *testing.T) {
				fake, base := newFake(mask)
				rec := recorder.New(fake, recorder.WithCaptureLimit(10))
				n, err := rec.ReadFrom(readerOnly{bytes.NewReader(src)})
				if n != int64(len(src)) || err != nil || !bytes.Equal(base.body.Bytes(), src) {
					t.Errorf("ReadFrom() = %d, %v, wrote %d bytes, want %d, nil, all", n, err, base.body.Len(), len(src))
				}
				if got := base.called("ReadFrom"); got != has(featReadFrom) {
					t.Errorf("writer's ReadFrom called = %v, want %v", got, has(featReadFrom))
				}
				if !bytes.Equal(rec.Body(), src[:10]) || !rec.Truncated() {
					t.Errorf("Body(), Truncated() = %q, %v, want %q, true", rec.Body(), rec.Truncated(), src[:10])
				}
			})
			t.Run("WriteString", func(t *testing.T) {
				fake, base := newFake(mask)
				rec := recorder.New(fake)
				n, err := rec.WriteString("hello")
				if n != 5 || err != nil || base.body.String() != "hello" || string(rec.Body()) != "hello" {
					t.Errorf("WriteString(hello) = %d, %v; writer got %q, Body() %q", n, err, base.body.String(), rec.Body())
				}
				if got := base.called("WriteString"); got != has(featWriteString) {
					t.Errorf("writer's WriteString called = %v, want %v", got, has(featWriteString))
				}
			})
		})
	}
}

// Checklist item 28: FlushError returns the real writer's error.
func TestFlushErrorPropagates(t *testing.T) {
	errFlush := errors.New("flush failed")
	for _, buffered := range []bool{false, true} {
		fake, base := newFake(featFlushError)
		base.flushErr = errFlush
		var opts []recorder.Option
		if buffered {
			opts = append(opts, recorder.Buffered())
		}
		rec := recorder.New(fake, opts...)
		if err := rec.FlushError(); !errors.Is(err, errFlush) {
			t.Errorf("buffered=%v: FlushError() = %v, want %v", buffered, err, errFlush)
		}
		if err := http.NewResponseController(rec).Flush(); !errors.Is(err, errFlush) {
			t.Errorf("buffered=%v: ResponseController.Flush() = %v, want %v", buffered, err, errFlush)
		}
		if err := rec.Unstorable(); !errors.Is(err, recorder.ErrWriteFailed) || !errors.Is(err, errFlush) {
			t.Errorf("buffered=%v: Unstorable() = %v, want %v wrapping %v", buffered, err, recorder.ErrWriteFailed, errFlush)
		}
	}
}

// Checklist item 23: ResponseController reaches the real writer's deadline
// and full-duplex methods through Unwrap.
func TestResponseControllerUnwrap(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		errs := make(chan map[string]error, 1)
		h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			errs <- map[string]error{
				"SetReadDeadline":  rc.SetReadDeadline(time.Now().Add(time.Minute)),
				"SetWriteDeadline": rc.SetWriteDeadline(time.Now().Add(time.Minute)),
				"EnableFullDuplex": rc.EnableFullDuplex(),
			}
			w.Write([]byte("ok"))
		})
		ts, _ := newServer(t, e.proto, h)
		mustDo(t, ts, "GET", "/")
		recv(t, states)
		for name, err := range <-errs {
			if err != nil {
				t.Errorf("ResponseController.%s() = %v, want nil", name, err)
			}
		}
	})
}

// Checklist item 24: ResponseController finds the Recorder's own Flush and
// Hijack first, so the Recorder knows.
func TestResponseControllerStopsAtRecorder(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		t.Run("Flush", func(t *testing.T) {
			holding := make(chan bool, 1)
			h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
				http.NewResponseController(w).Flush()
				holding <- w.(*recorder.Recorder).Holding()
			})
			ts, _ := newServer(t, e.proto, h)
			resp, _ := mustDo(t, ts, "GET", "/")
			st := recv(t, states)
			if resp.StatusCode != 200 || st.Status != 200 || !st.Flushed || <-holding {
				t.Errorf("after Flush: client %d, Status() %d, Flushed() %v, Holding() %v; want 200, 200, true, false",
					resp.StatusCode, st.Status, st.Flushed, <-holding)
			}
			checkReason(t, st, recorder.ErrStreamed)
		})
		if e.proto != "h1" {
			return
		}
		t.Run("Hijack", func(t *testing.T) {
			h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err != nil {
					t.Errorf("Hijack() error = %v", err)
					return
				}
				io.WriteString(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
				conn.Close()
			})
			ts, _ := newServer(t, e.proto, h)
			resp, _ := mustDo(t, ts, "GET", "/")
			st := recv(t, states)
			if resp.StatusCode != 204 || !st.Hijacked || st.Status != 0 {
				t.Errorf("after Hijack: client %d, Hijacked() %v, Status() %d; want 204, true, 0", resp.StatusCode, st.Hijacked, st.Status)
			}
			checkReason(t, st, recorder.ErrHijacked)
		})
	})
}

// Checklist item 25: server-sent events flushed through the Recorder reach
// a real client one by one.
func TestServerSentEvents(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		got1 := make(chan struct{})
		h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: 1\n\n")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("Flush() = %v", err)
			}
			select { // event 2 only once the client has read event 1
			case <-got1:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "data: 2\n\n")
		})
		ts, _ := newServer(t, e.proto, h)
		resp, err := ts.Client().Get(ts.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for i, want := range []string{"data: 1\n", "\n", "data: 2\n", "\n"} {
			line, err := br.ReadString('\n')
			if line != want || err != nil {
				t.Fatalf("line %d = %q, %v, want %q", i, line, err, want)
			}
			if i == 1 {
				close(got1)
			}
		}
		st := recv(t, states)
		if string(st.Body) != "data: 1\n\ndata: 2\n\n" {
			t.Errorf("Body() = %q, want both events", st.Body)
		}
		checkReason(t, st, recorder.ErrStreamed)
	})
}

// spyWriter counts calls that reach the real writer, and passes Hijack and
// Flush on.
type spyWriter struct {
	http.ResponseWriter
	hijacked       bool
	callsAfterHijk int
}

func (s *spyWriter) WriteHeader(code int) {
	if s.hijacked {
		s.callsAfterHijk++
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *spyWriter) Write(p []byte) (int, error) {
	if s.hijacked {
		s.callsAfterHijk++
	}
	return s.ResponseWriter.Write(p)
}

func (s *spyWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(s.ResponseWriter).Hijack()
	s.hijacked = err == nil
	return c, rw, err
}

func (s *spyWriter) Flush() { http.NewResponseController(s.ResponseWriter).Flush() }

// Checklist items 7 and 26: a WebSocket-style upgrade works through the
// Recorder (with and without a 101 written first); afterwards the Recorder
// never calls the real writer, and net/http logs nothing. Over HTTP/2
// Hijack fails cleanly.
func TestHijack(t *testing.T) {
	tests := []struct {
		name       string
		write101   bool
		wantStatus int
		wantReason error
	}{
		{"raw 101 on the connection", false, 0, recorder.ErrHijacked},
		{"WriteHeader(101) then Hijack", true, 101, recorder.ErrSwitchingProtocols},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				spyCalls := make(chan int, 1)
				inner, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
					if e.proto == "h2" {
						_, _, err := http.NewResponseController(w).Hijack()
						if !errors.Is(err, http.ErrNotSupported) || w.(*recorder.Recorder).Hijacked() {
							t.Errorf("h2 Hijack() = %v, want ErrNotSupported", err)
						}
						io.WriteString(w, "no upgrade")
						return
					}
					w.Header().Set("Upgrade", "echo")
					w.Header().Set("Connection", "Upgrade")
					if tt.write101 {
						w.WriteHeader(http.StatusSwitchingProtocols)
					}
					conn, brw, err := w.(http.Hijacker).Hijack()
					if err != nil {
						t.Errorf("Hijack() = %v", err)
						return
					}
					defer conn.Close()
					if !tt.write101 {
						brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
						brw.Flush()
					}
					line, _ := brw.ReadString('\n')
					brw.WriteString("echo: " + line)
					brw.Flush()
					// Late calls after the hijack must not reach net/http.
					w.WriteHeader(http.StatusInternalServerError)
					if _, err := w.Write([]byte("late")); !errors.Is(err, http.ErrHijacked) {
						t.Errorf("Write after Hijack = %v, want %v", err, http.ErrHijacked)
					}
				})
				ts, logs := newServer(t, e.proto, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					spy := &spyWriter{ResponseWriter: w}
					inner.ServeHTTP(spy, r)
					spyCalls <- spy.callsAfterHijk
				}))
				req, _ := http.NewRequest("GET", ts.URL, nil)
				if e.proto == "h1" {
					req.Header.Set("Connection", "Upgrade")
					req.Header.Set("Upgrade", "echo")
				}
				resp, err := ts.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if e.proto == "h2" {
					recv(t, states)
					body, _ := io.ReadAll(resp.Body)
					if resp.StatusCode != 200 || string(body) != "no upgrade" {
						t.Errorf("h2 client got %d %q, want 200 %q", resp.StatusCode, body, "no upgrade")
					}
					return
				}
				if resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("client status = %d, want 101", resp.StatusCode)
				}
				rw := resp.Body.(io.ReadWriteCloser)
				io.WriteString(rw, "ping\n")
				line, err := bufio.NewReader(rw).ReadString('\n')
				if line != "echo: ping\n" {
					t.Errorf("echo = %q, %v, want %q", line, err, "echo: ping\n")
				}
				st := recv(t, states)
				if n := <-spyCalls; n != 0 {
					t.Errorf("real writer calls after Hijack = %d, want 0", n)
				}
				if !st.Hijacked || st.Status != tt.wantStatus {
					t.Errorf("Hijacked(), Status() = %v, %d, want true, %d", st.Hijacked, st.Status, tt.wantStatus)
				}
				checkReason(t, st, tt.wantReason)
				if l := logs.String(); l != "" {
					t.Errorf("server ErrorLog = %q, want empty", l)
				}
			})
		})
	}
}

// countingListener hands out connections whose ReadFrom (the path to
// sendfile) is counted.
type countingListener struct {
	net.Listener
	readFroms *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.readFroms}, nil
}

type countingConn struct {
	net.Conn
	readFroms *atomic.Int64
}

func (c countingConn) ReadFrom(r io.Reader) (int64, error) {
	c.readFroms.Add(1)
	return c.Conn.(io.ReaderFrom).ReadFrom(r)
}

// Checklist item 27: a file served through the Recorder still reaches the
// connection's ReadFrom (sendfile) once the capture has stopped, and
// arrives byte for byte.
func TestSendfile(t *testing.T) {
	const size = 3 << 20
	data := pattern(size)
	path := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, buffered := range []bool{false, true} {
		e := env{"h1", buffered}
		for _, limit := range []int{4 << 10, recorder.DefaultCaptureLimit} {
			t.Run(fmt.Sprintf("%v/limit=%d", e, limit), func(t *testing.T) {
				h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
					http.ServeFile(w, r, path)
				}, recorder.WithCaptureLimit(limit))
				var readFroms atomic.Int64
				ts := httptest.NewUnstartedServer(h)
				ts.Listener = countingListener{ts.Listener, &readFroms}
				ts.Start()
				defer ts.Close()
				_, body := mustDo(t, ts, "GET", "/")
				st := recv(t, states)
				if !bytes.Equal(body, data) {
					t.Fatalf("client body: %d bytes, want the file's %d", len(body), len(data))
				}
				if !bytes.Equal(st.Body, data[:limit]) || !st.Truncated || st.BytesWritten != size {
					t.Errorf("Body() %d bytes, Truncated() %v, BytesWritten() %d; want the first %d, true, %d",
						len(st.Body), st.Truncated, st.BytesWritten, limit, size)
				}
				if !buffered && readFroms.Load() == 0 {
					t.Error("connection ReadFrom calls = 0, want > 0 (sendfile path lost)")
				}
				checkReason(t, st, recorder.ErrTruncated)
			})
		}
	}
}
