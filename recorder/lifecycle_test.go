package recorder_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

// Checklist item 30: Commit and Discard are explicit and idempotent.
func TestCommitDiscard(t *testing.T) {
	tests := []struct {
		name      string
		opts      []recorder.Option
		run       func(t *testing.T, rec *recorder.Recorder)
		wantCalls []string // calls that reached the real writer
		wantBody  string   // what the real writer got
		wantCode  int
		wantCaptd string // Body()
	}{
		{
			name: "double Commit writes once",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.WriteHeader(http.StatusCreated)
				rec.Write([]byte("abc"))
				for range 2 {
					if err := rec.Commit(); err != nil {
						t.Errorf("Commit() = %v, want nil", err)
					}
				}
			},
			wantCalls: []string{"WriteHeader", "Write"},
			wantBody:  "abc",
			wantCode:  201,
			wantCaptd: "abc",
		},
		{
			name: "Write after Commit goes straight through",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Write([]byte("abc"))
				rec.Commit()
				if n, err := rec.Write([]byte("d")); n != 1 || err != nil {
					t.Errorf("Write(d) after Commit = %d, %v, want 1, nil", n, err)
				}
				if rec.Holding() {
					t.Error("Holding() after Commit = true, want false")
				}
			},
			wantCalls: []string{"WriteHeader", "Write", "Write"},
			wantBody:  "abcd",
			wantCode:  200,
			wantCaptd: "abcd",
		},
		{
			name: "Commit with nothing written sends 200",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Header().Set("X-Late", "1")
				rec.Commit()
				if got := rec.Snapshot().Get("X-Late"); got != "1" {
					t.Errorf("Snapshot() X-Late = %q, want %q (taken at Commit)", got, "1")
				}
			},
			wantCalls: []string{"WriteHeader"},
			wantCode:  200,
		},
		{
			name: "Commit after Discard",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Write([]byte("abc"))
				rec.Discard()
				rec.Discard()
				if err := rec.Commit(); !errors.Is(err, recorder.ErrDiscarded) {
					t.Errorf("Commit() after Discard = %v, want %v", err, recorder.ErrDiscarded)
				}
				if _, err := rec.Write([]byte("x")); !errors.Is(err, recorder.ErrDiscarded) {
					t.Errorf("Write() after Discard = %v, want %v", err, recorder.ErrDiscarded)
				}
				if err := rec.Unstorable(); !errors.Is(err, recorder.ErrDiscarded) {
					t.Errorf("Unstorable() = %v, want %v", err, recorder.ErrDiscarded)
				}
			},
		},
		{
			name: "Discard after Commit does nothing",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Write([]byte("abc"))
				rec.Commit()
				rec.Discard()
				if !rec.Storable() {
					t.Errorf("Storable() = false (%v), want true", rec.Unstorable())
				}
			},
			wantCalls: []string{"WriteHeader", "Write"},
			wantBody:  "abc",
			wantCode:  200,
			wantCaptd: "abc",
		},
		{
			name: "Commit and Discard do nothing in pass-through mode",
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Write([]byte("abc"))
				rec.Discard()
				if err := rec.Commit(); err != nil {
					t.Errorf("Commit() = %v, want nil", err)
				}
			},
			wantCalls: []string{"WriteHeader", "Write"},
			wantBody:  "abc",
			wantCode:  200,
			wantCaptd: "abc",
		},
		{
			name: "Release discards a held response",
			opts: []recorder.Option{recorder.Buffered()},
			run: func(t *testing.T, rec *recorder.Recorder) {
				rec.Write([]byte("abc"))
				rec.Release()
				rec.Release()
				if err := rec.Commit(); !errors.Is(err, recorder.ErrDiscarded) {
					t.Errorf("Commit() after Release = %v, want %v", err, recorder.ErrDiscarded)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, base := newFake(0)
			rec := recorder.New(fake, tt.opts...)
			tt.run(t, rec)
			if !slices.Equal(base.calls, tt.wantCalls) {
				t.Errorf("real writer calls = %v, want %v", base.calls, tt.wantCalls)
			}
			if base.body.String() != tt.wantBody || base.code != tt.wantCode {
				t.Errorf("real writer got %d %q, want %d %q", base.code, base.body.String(), tt.wantCode, tt.wantBody)
			}
			if got := string(rec.Body()); got != tt.wantCaptd {
				t.Errorf("Body() = %q, want %q", got, tt.wantCaptd)
			}
		})
	}
}

// countingWriter counts every call that reaches the real writer.
type countingWriter struct {
	http.ResponseWriter
	calls int
}

func (c *countingWriter) WriteHeader(code int) { c.calls++; c.ResponseWriter.WriteHeader(code) }
func (c *countingWriter) Write(p []byte) (int, error) {
	c.calls++
	return c.ResponseWriter.Write(p)
}

const standard500 = `{"error":"INTERNAL_ERROR","message":"Something went wrong. Please try again."}`

// Checklist item 31: when a buffered handler panics, nothing it wrote has
// reached the real writer, so an outer recover writes a clean 500, and
// nothing is storable. http.ErrAbortHandler aborts as usual.
func TestPanicInBufferedHandler(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{"panic", "boom"},
		{"ErrAbortHandler", http.ErrAbortHandler},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, proto := range protos {
				t.Run(proto, func(t *testing.T) {
					type outcome struct {
						st    state
						calls int
					}
					outcomes := make(chan outcome, 1)
					handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("X-Handler", "leak")
						w.WriteHeader(http.StatusCreated)
						w.Write([]byte("partial"))
						panic(tt.value)
					})
					storing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						cw := &countingWriter{ResponseWriter: w}
						rec := recorder.New(cw, recorder.Buffered())
						defer rec.Release()
						defer func() {
							if v := recover(); v != nil {
								rec.Discard()
								outcomes <- outcome{stateOf(rec), cw.calls}
								panic(v)
							}
						}()
						handler.ServeHTTP(rec, r)
						rec.Commit()
					})
					recovering := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						defer func() {
							if v := recover(); v != nil {
								if v == http.ErrAbortHandler {
									panic(v)
								}
								w.Header().Set("Content-Type", "application/json; charset=utf-8")
								w.WriteHeader(http.StatusInternalServerError)
								io.WriteString(w, standard500)
							}
						}()
						storing.ServeHTTP(w, r)
					})
					ts, logs := newServer(t, proto, recovering)
					resp, body, err := do(t, ts, "POST", "/")
					out := <-outcomes

					if out.calls != 0 {
						t.Errorf("real writer calls before the panic reached the outer recover = %d, want 0", out.calls)
					}
					if out.st.Storable || !errors.Is(out.st.Unstorable, recorder.ErrDiscarded) {
						t.Errorf("Storable(), Unstorable() = %v, %v, want false, %v", out.st.Storable, out.st.Unstorable, recorder.ErrDiscarded)
					}
					if tt.value == http.ErrAbortHandler {
						if err == nil {
							t.Errorf("client got %d %q, want the response aborted", resp.StatusCode, body)
						}
						if l := logs.String(); l != "" {
							t.Errorf("server ErrorLog = %q, want empty", l)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != 500 || !bytes.Equal(body, []byte(standard500)) || resp.Header.Get("X-Handler") != "" {
						t.Errorf("client got %d %q X-Handler=%q, want 500 %q and no X-Handler",
							resp.StatusCode, body, resp.Header.Get("X-Handler"), standard500)
					}
				})
			}
		})
	}
}

// Checklist item 34: Body is invalid after Release, and a store that
// copied it first keeps its copy intact while the pooled buffer is reused.
func TestReleaseAndReuse(t *testing.T) {
	fake, _ := newFake(0)
	rec := recorder.New(fake, recorder.Buffered())
	rec.Header().Set("X-First", "1")
	rec.Write([]byte("first response"))
	stored := bytes.Clone(rec.Body())
	snap := rec.Snapshot()
	rec.Commit()
	sent := fake.Header()
	rec.Release()
	if rec.Body() != nil {
		t.Errorf("Body() after Release = %q, want nil", rec.Body())
	}
	if rec.SnapshotView() != nil || rec.Snapshot() != nil {
		t.Errorf("SnapshotView(), Snapshot() after Release = %v, %v, want nil (the map is recycled)", rec.SnapshotView(), rec.Snapshot())
	}
	if err := rec.Unstorable(); !errors.Is(err, recorder.ErrReleased) {
		t.Errorf("Unstorable() after Release = %v, want %v", err, recorder.ErrReleased)
	}
	for range 100 { // reuse the pooled buffers
		fake, _ := newFake(0)
		other := recorder.New(fake, recorder.Buffered())
		other.Header().Set("X-First", "overwritten")
		other.Header().Set("X-Other", "2")
		other.Write(bytes.Repeat([]byte("X"), 64))
		other.Commit()
		other.Release()
	}
	if string(stored) != "first response" {
		t.Errorf("stored copy = %q after buffer reuse, want %q", stored, "first response")
	}
	want := http.Header{"X-First": {"1"}}
	if !equalHeader(snap, want) || !equalHeader(sent, want) {
		t.Errorf("after the pooled maps were reused: Snapshot() = %v, headers sent = %v, want %v", snap, sent, want)
	}
}

// Checklist item 7 without a server: 101 is final, takes no body, and is
// not storable.
func TestSwitchingProtocolsIsFinal(t *testing.T) {
	for _, opts := range [][]recorder.Option{nil, {recorder.Buffered()}} {
		fake, _ := newFake(0)
		rec := recorder.New(fake, opts...)
		rec.WriteHeader(http.StatusSwitchingProtocols)
		rec.WriteHeader(http.StatusOK)
		if _, err := rec.Write([]byte("x")); !errors.Is(err, http.ErrBodyNotAllowed) {
			t.Errorf("Write after 101 = %v, want %v", err, http.ErrBodyNotAllowed)
		}
		if rec.Status() != 101 || rec.IgnoredWriteHeaders() != 1 || !errors.Is(rec.Unstorable(), recorder.ErrSwitchingProtocols) {
			t.Errorf("Status(), IgnoredWriteHeaders(), Unstorable() = %d, %d, %v, want 101, 1, %v",
				rec.Status(), rec.IgnoredWriteHeaders(), rec.Unstorable(), recorder.ErrSwitchingProtocols)
		}
	}
}

// Changing a snapshot changes neither the Recorder nor what Commit sends.
func TestSnapshotIsACopy(t *testing.T) {
	fake, base := newFake(0)
	rec := recorder.New(fake, recorder.Buffered())
	rec.Header().Set("Set-Cookie", "id=1")
	rec.Write([]byte("x"))
	snap := rec.Snapshot()
	snap.Del("Set-Cookie")
	if got := rec.Snapshot().Get("Set-Cookie"); got != "id=1" {
		t.Errorf("Snapshot() Set-Cookie after changing a copy = %q, want %q", got, "id=1")
	}
	rec.Commit()
	if got := base.header.Get("Set-Cookie"); got != "id=1" {
		t.Errorf("committed Set-Cookie = %q, want %q", got, "id=1")
	}
}

// Reset reuses a Recorder's memory for a new response: nothing of the
// previous one (status, body, snapshot, owner headers) is left, and a
// Recorder reset without Release is released first.
func TestReset(t *testing.T) {
	var rec recorder.Recorder // the zero value is ready for Reset
	first, _ := newFake(0)
	rec.Reset(first, recorder.Buffered())
	rec.Header().Set("X-First", "1")
	rec.SetCommitHeader("X-Owner", "1")
	rec.WriteHeader(http.StatusCreated)
	rec.Write([]byte("first"))
	rec.Commit() // not released: Reset does it

	second, _ := newFake(0)
	rec.Reset(second, recorder.WithMethod(http.MethodHead))
	if rec.Written() || rec.Status() != http.StatusOK || rec.Body() != nil || rec.BytesWritten() != 0 {
		t.Fatalf("after Reset: written %v, status %d, body %q, %d bytes; want a fresh recorder",
			rec.Written(), rec.Status(), rec.Body(), rec.BytesWritten())
	}
	if rec.Holding() {
		t.Error("Reset without Buffered kept buffered mode")
	}
	rec.Write([]byte("second"))
	if got := second.Header(); got.Get("X-First") != "" || got.Get("X-Owner") != "" {
		t.Errorf("second response headers = %v, want none of the first response's", got)
	}
	if err := rec.Unstorable(); !errors.Is(err, recorder.ErrHeadResponse) {
		t.Errorf("Unstorable() = %v, want the HEAD option of the second Reset to apply", err)
	}
	rec.Release()
	defer func() {
		if recover() == nil {
			t.Error("Reset(nil) did not panic")
		}
	}()
	rec.Reset(nil)
}

// Reset in buffered mode gives the next handler the previous handler's
// header map, cleared, with only what the new real writer holds: nothing
// of the previous response shows, and (checklist item 11) neither real
// writer's map changes through it.
func TestResetReusesHeaderMap(t *testing.T) {
	var rec recorder.Recorder
	first, firstBase := newFake(0)
	rec.Reset(first, recorder.Buffered())
	used := reflect.ValueOf(rec.Header()).Pointer()
	rec.Header().Set("X-First", "1")
	rec.Header().Set("Trailer", "X-Sum")
	rec.WriteHeader(http.StatusCreated)
	rec.Write([]byte("first"))
	rec.Header().Set("X-Sum", "abc") // a trailer: shared with the real map at Commit
	if err := rec.Commit(); err != nil {
		t.Fatal(err)
	}
	rec.Release()

	second, secondBase := newFake(0)
	second.Header().Set("X-Outer", "o") // set by a middleware in front
	rec.Reset(second, recorder.Buffered())
	h := rec.Header()
	if got := reflect.ValueOf(h).Pointer(); got != used {
		t.Error("Reset allocated a new header map instead of reusing the previous one")
	}
	if want := (http.Header{"X-Outer": {"o"}}); !reflect.DeepEqual(h, want) {
		t.Fatalf("header map after Reset = %v, want %v", h, want)
	}
	h["X-Outer"][0] = "changed"
	h.Set("X-Sum", "other")
	h.Set("X-First", "2")
	if got := secondBase.header.Get("X-Outer"); got != "o" {
		t.Errorf("second real writer's X-Outer = %q before Commit, want it untouched", got)
	}
	if got, want := firstBase.header, (http.Header{"X-First": {"1"}, "Trailer": {"X-Sum"}, "X-Sum": {"abc"}}); !reflect.DeepEqual(got, want) {
		t.Errorf("first real writer's headers = %v after the next handler's changes, want %v", got, want)
	}
	rec.Release()
}
