package recorder_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

// Checklist item 14: Write, WriteString and io.Copy (through ReadFrom and
// through WriterTo) are captured byte for byte and counted once.
func TestBodyExact(t *testing.T) {
	big := pattern(100 << 10)
	want := append([]byte("a"), "bc"...)
	want = append(want, big...)
	want = append(want, "tail"...)
	forEachEnv(t, func(t *testing.T, e env) {
		h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			var n int64
			n1, _ := w.Write([]byte("a"))
			n2, _ := io.WriteString(w, "bc")
			n3, _ := io.Copy(w, readerOnly{bytes.NewReader(big)}) // ReadFrom
			n4, _ := io.Copy(w, strings.NewReader("tail"))        // WriterTo → Write
			n = int64(n1+n2) + n3 + n4
			if n != int64(len(want)) {
				t.Errorf("handler wrote %d bytes, want %d", n, len(want))
			}
		})
		ts, _ := newServer(t, e.proto, h)
		_, body := mustDo(t, ts, "GET", "/")
		st := recv(t, states)
		if !bytes.Equal(body, want) {
			t.Errorf("client body: %d bytes, want %d equal bytes", len(body), len(want))
		}
		if !bytes.Equal(st.Body, body) {
			t.Errorf("Body() = %d bytes, want the client's %d bytes", len(st.Body), len(body))
		}
		if st.BytesWritten != int64(len(want)) {
			t.Errorf("BytesWritten() = %d, want %d", st.BytesWritten, len(want))
		}
		checkReason(t, st, nil)
	})
}

// Checklist item 15 on a real server: the client goes away mid-stream, so
// the real Write fails. Body holds exactly the accepted bytes and the
// response is not storable.
func TestClientDisconnect(t *testing.T) {
	const chunk, maxTotal = 64 << 10, 256 << 20
	data := pattern(chunk)
	forEachEnv(t, func(t *testing.T, e env) {
		handlerErr := make(chan error, 1)
		held := make(chan struct{})
		h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			if e.buffered {
				// Held bytes reach the client only at Commit, which runs
				// once the client is gone.
				w.Write(bytes.Repeat(data, 64))
				close(held)
				<-r.Context().Done()
				handlerErr <- nil
				return
			}
			for total := 0; total < maxTotal; total += chunk {
				if _, err := w.Write(data); err != nil {
					handlerErr <- err
					return
				}
			}
			handlerErr <- errors.New("no write failed")
		}, recorder.WithCaptureLimit(maxTotal))
		ts, _ := newServer(t, e.proto, h)

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
		if e.buffered {
			// The response is held, so Do would wait for it: go away
			// while the handler runs.
			go func() { <-held; cancel() }()
			if resp, err := ts.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		} else {
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			io.ReadFull(resp.Body, make([]byte, chunk))
			cancel()
			resp.Body.Close()
		}
		st := recv(t, states)
		if err := <-handlerErr; !e.buffered && err == nil {
			t.Fatal("handler Write error = nil, want an error")
		}
		if e.buffered && st.CommitErr == nil {
			t.Fatal("Commit() = nil, want the real writer's error")
		}
		if e.buffered {
			st = *st.AfterCommit
		}
		checkPrefix(t, st.Body, st.BytesWritten, data)
		checkReason(t, st, recorder.ErrWriteFailed)
	})
}

// checkPrefix checks that body is the first n bytes of the repeated chunk.
func checkPrefix(t *testing.T, body []byte, n int64, chunk []byte) {
	t.Helper()
	if int64(len(body)) != n {
		t.Errorf("len(Body()) = %d, want BytesWritten() = %d", len(body), n)
	}
	for i := 0; i < len(body); i += len(chunk) {
		end := min(len(body), i+len(chunk))
		if !bytes.Equal(body[i:end], chunk[:end-i]) {
			t.Fatalf("Body()[%d:%d] differs from what the handler wrote", i, end)
		}
	}
}

// Checklist item 15 with a writer that fails or writes short, in both modes.
func TestWriteFailure(t *testing.T) {
	errDown := errors.New("client gone")
	tests := []struct {
		name     string
		buffered bool
		accept   int   // bytes the fake accepts
		err      error // error it returns then
		wantN    int
		wantErr  error
	}{
		{"pass-through error", false, 3, errDown, 3, errDown},
		{"pass-through short write", false, 3, nil, 3, io.ErrShortWrite},
		{"buffered error at Commit", true, 3, errDown, 3, errDown},
		{"buffered short write at Commit", true, 3, nil, 3, io.ErrShortWrite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fw := &failingWriter{header: http.Header{}, accept: tt.accept, err: tt.err}
			var opts []recorder.Option
			if tt.buffered {
				opts = append(opts, recorder.Buffered())
			}
			rec := recorder.New(fw, opts...)
			n, err := rec.Write([]byte("hello"))
			if tt.buffered {
				if n != 5 || err != nil {
					t.Fatalf("buffered Write(hello) = %d, %v, want 5, nil", n, err)
				}
				err = rec.Commit()
				n = int(rec.BytesWritten())
			}
			if n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Errorf("Write(hello) = %d, %v, want %d, %v", n, err, tt.wantN, tt.wantErr)
			}
			if got := string(rec.Body()); got != "hel" {
				t.Errorf("Body() = %q, want %q", got, "hel")
			}
			if rec.BytesWritten() != 3 {
				t.Errorf("BytesWritten() = %d, want 3", rec.BytesWritten())
			}
			if err := rec.Unstorable(); !errors.Is(err, recorder.ErrWriteFailed) || !errors.Is(err, tt.wantErr) {
				t.Errorf("Unstorable() = %v, want %v wrapping %v", err, recorder.ErrWriteFailed, tt.wantErr)
			}
		})
	}
}

// failingWriter accepts the first accept bytes, then returns err.
type failingWriter struct {
	header http.Header
	accept int
	err    error
	body   []byte
}

func (f *failingWriter) Header() http.Header { return f.header }
func (f *failingWriter) WriteHeader(int)     {}
func (f *failingWriter) Write(p []byte) (int, error) {
	n := min(len(p), f.accept-len(f.body))
	f.body = append(f.body, p[:n]...)
	if n < len(p) {
		return n, f.err
	}
	return n, nil
}

// Checklist item 16: after 204 or 304 writes fail as in net/http and
// nothing is captured (unlike httptest.ResponseRecorder).
func TestBodyNotAllowed(t *testing.T) {
	for _, code := range []int{http.StatusNoContent, http.StatusNotModified} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				type result struct {
					n   int64
					err [3]error
				}
				results := make(chan result, 2)
				handler := func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(code)
					var res result
					var n int
					n, res.err[0] = w.Write([]byte("x"))
					res.n += int64(n)
					n, res.err[1] = io.WriteString(w, "x")
					res.n += int64(n)
					n64, err := io.Copy(w, readerOnly{strings.NewReader("x")})
					res.n, res.err[2] = res.n+n64, err
					results <- res
				}
				bare, _ := newServer(t, e.proto, http.HandlerFunc(handler))
				mustDo(t, bare, "GET", "/")
				want := <-results

				h, states := recording(e, handler)
				ts, _ := newServer(t, e.proto, h)
				resp, body := mustDo(t, ts, "GET", "/")
				got := <-results
				st := recv(t, states)

				for i, call := range []string{"Write", "WriteString", "ReadFrom"} {
					if !errors.Is(got.err[i], http.ErrBodyNotAllowed) || !errors.Is(want.err[i], http.ErrBodyNotAllowed) {
						t.Errorf("%s after %d = %v (net/http: %v), want %v", call, code, got.err[i], want.err[i], http.ErrBodyNotAllowed)
					}
				}
				if got.n != 0 {
					t.Errorf("bytes written after %d = %d, want 0", code, got.n)
				}
				if resp.StatusCode != code || len(body) != 0 {
					t.Errorf("client got %d %q, want %d and no body", resp.StatusCode, body, code)
				}
				if len(st.Body) != 0 || st.BytesWritten != 0 {
					t.Errorf("Body(), BytesWritten() = %q, %d, want empty, 0", st.Body, st.BytesWritten)
				}
				checkReason(t, st, nil)
			})
		})
	}
}

// Checklist item 17: a declared Content-Length is enforced like net/http's
// HTTP/1.1 server does (differential), over HTTP/2 too, and a body of
// another length is not storable.
func TestContentLength(t *testing.T) {
	tests := []struct {
		name       string
		write      string
		wantErr    error
		wantReason error
	}{
		{"exact", "abc", nil, nil},
		{"over", "hello", http.ErrContentLength, recorder.ErrLengthMismatch},
		{"under", "ab", nil, recorder.ErrLengthMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				errs := make(chan error, 2)
				handler := func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Length", "3")
					_, err := io.WriteString(w, tt.write)
					errs <- err
				}
				bare, _ := newServer(t, e.proto, http.HandlerFunc(handler))
				do(t, bare, "GET", "/")
				bareErr := <-errs

				h, states := recording(e, handler)
				ts, _ := newServer(t, e.proto, h)
				_, body, clientErr := do(t, ts, "GET", "/")
				err := <-errs
				st := recv(t, states)

				if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
					t.Errorf("WriteString(%q) with Content-Length 3 = %v, want %v", tt.write, err, tt.wantErr)
				}
				// HTTP/2 checks the length only once the headers are out, so
				// its first Write is not refused; the recorder is as strict
				// as HTTP/1.1 over both.
				if e.proto == "h1" && ((bareErr == nil) != (err == nil) || !errors.Is(bareErr, tt.wantErr)) {
					t.Errorf("WriteString(%q) = %v, net/http alone returns %v", tt.write, err, bareErr)
				}
				if tt.wantErr == nil && tt.wantReason == nil && (clientErr != nil || string(body) != tt.write) {
					t.Errorf("client got %q, %v, want %q", body, clientErr, tt.write)
				}
				checkReason(t, st, tt.wantReason)
			})
		})
	}
}

// Checklist item 18: a HEAD response gets the same headers as without the
// recorder (including the Content-Length net/http computes), no body, and
// is never storable.
func TestHEAD(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"implicit length", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("0123456789")) }},
		{"declared length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "10")
			w.Write([]byte("0123456789"))
		}},
		{"ReadFrom", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, readerOnly{strings.NewReader("0123456789")})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				bare, _ := newServer(t, e.proto, tt.handler)
				want, _ := mustDo(t, bare, "HEAD", "/")

				h, states := recording(e, tt.handler)
				ts, _ := newServer(t, e.proto, h)
				got, body := mustDo(t, ts, "HEAD", "/")
				st := recv(t, states)

				got.Header.Del("Date")
				want.Header.Del("Date")
				if !equalHeader(got.Header, want.Header) || got.ContentLength != want.ContentLength {
					t.Errorf("HEAD headers = %v (length %d), want %v (length %d) as without recorder",
						got.Header, got.ContentLength, want.Header, want.ContentLength)
				}
				if len(body) != 0 || len(st.Body) != 0 {
					t.Errorf("client body, Body() = %q, %q, want both empty", body, st.Body)
				}
				if st.BytesWritten != 10 {
					t.Errorf("BytesWritten() = %d, want 10", st.BytesWritten)
				}
				checkReason(t, st, recorder.ErrHeadResponse)
			})
		})
	}
}

// Checklist items 19 and 20: a body over the capture limit reaches the
// client whole; the capture is its prefix and the response not storable.
// In buffered mode the recorder switches to pass-through without the
// handler seeing an error.
func TestCaptureLimit(t *testing.T) {
	const limit = 1000
	tests := []struct {
		name          string
		size          int
		viaReadFrom   bool
		wantTruncated bool
	}{
		{"under", 999, false, false},
		{"exactly at", 1000, false, false},
		{"over", 5000, false, true},
		{"ReadFrom under", 999, true, false},
		{"ReadFrom exactly at", 1000, true, false},
		{"ReadFrom over", 5000, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				want := pattern(tt.size)
				h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
					if tt.viaReadFrom {
						if n, err := io.Copy(w, readerOnly{bytes.NewReader(want)}); n != int64(len(want)) || err != nil {
							t.Errorf("io.Copy = %d, %v, want %d, nil", n, err, len(want))
						}
						return
					}
					s := string(want)
					for off := 0; off < len(want); {
						k := min(len(want)-off, 333)
						var n int
						var err error
						if off%2 == 0 {
							n, err = w.Write(want[off : off+k])
						} else {
							n, err = io.WriteString(w, s[off:off+k])
						}
						if n != k || err != nil {
							t.Errorf("write of %d bytes = %d, %v, want %d, nil", k, n, err, k)
							return
						}
						off += k
					}
				}, recorder.WithCaptureLimit(limit))
				ts, _ := newServer(t, e.proto, h)
				_, body := mustDo(t, ts, "GET", "/")
				st := recv(t, states)

				if !bytes.Equal(body, want) {
					t.Errorf("client body: %d bytes, want %d", len(body), len(want))
				}
				wantBody := want[:min(len(want), limit)]
				if !bytes.Equal(st.Body, wantBody) {
					t.Errorf("Body() = %d bytes, want the first %d", len(st.Body), len(wantBody))
				}
				if st.Truncated != tt.wantTruncated || st.BytesWritten != int64(len(want)) {
					t.Errorf("Truncated(), BytesWritten() = %v, %d, want %v, %d", st.Truncated, st.BytesWritten, tt.wantTruncated, len(want))
				}
				if tt.wantTruncated {
					checkReason(t, st, recorder.ErrTruncated)
				} else {
					checkReason(t, st, nil)
				}
			})
		})
	}
}
