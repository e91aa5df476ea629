package recorder_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"slices"
	"testing"
	"time"

	"github.com/idemkit/idemkit/recorder"
)

// Checklist items 1–5: implicit 200, nothing written, first status wins.
func TestStatus(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantCode    int
		wantBody    string
		wantWritten bool
		wantIgnored int
		wantReason  error // nil: storable
	}{
		{
			name:        "implicit 200 on first Write",
			handler:     func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) },
			wantCode:    200,
			wantBody:    "hi",
			wantWritten: true,
		},
		{
			name: "implicit 200 on empty Write(nil)",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if n, err := w.Write(nil); n != 0 || err != nil {
					panic(fmt.Sprintf("Write(nil) = %d, %v, want 0, nil", n, err))
				}
			},
			wantCode:    200,
			wantWritten: true,
		},
		{
			name: "implicit 200 on Flush before any Write",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.(http.Flusher).Flush()
				w.Write([]byte("x"))
			},
			wantCode:    200,
			wantBody:    "x",
			wantWritten: true,
			wantReason:  recorder.ErrStreamed,
		},
		{
			name: "implicit 200 on ResponseController.Flush",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if err := http.NewResponseController(w).Flush(); err != nil {
					panic(err)
				}
				w.Write([]byte("x"))
			},
			wantCode:    200,
			wantBody:    "x",
			wantWritten: true,
			wantReason:  recorder.ErrStreamed,
		},
		{
			name:     "handler writes nothing",
			handler:  func(w http.ResponseWriter, r *http.Request) {},
			wantCode: 200,
		},
		{
			name: "first final status wins",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusCreated)
				w.WriteHeader(http.StatusInternalServerError)
				w.Write([]byte("made"))
			},
			wantCode:    201,
			wantBody:    "made",
			wantWritten: true,
			wantIgnored: 1,
		},
		{
			name: "WriteHeader after Write is ignored",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("ok"))
				w.WriteHeader(http.StatusInternalServerError)
			},
			wantCode:    200,
			wantBody:    "ok",
			wantWritten: true,
			wantIgnored: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				h, states := recording(e, tt.handler)
				ts, logs := newServer(t, e.proto, h)
				resp, body := mustDo(t, ts, "GET", "/")
				st := recv(t, states)
				if resp.StatusCode != tt.wantCode || string(body) != tt.wantBody {
					t.Errorf("client got %d %q, want %d %q", resp.StatusCode, body, tt.wantCode, tt.wantBody)
				}
				if st.Status != tt.wantCode {
					t.Errorf("Status() = %d, want %d", st.Status, tt.wantCode)
				}
				if st.Written != tt.wantWritten {
					t.Errorf("Written() = %v, want %v", st.Written, tt.wantWritten)
				}
				if string(st.Body) != tt.wantBody {
					t.Errorf("Body() = %q, want %q", st.Body, tt.wantBody)
				}
				if st.Ignored != tt.wantIgnored {
					t.Errorf("IgnoredWriteHeaders() = %d, want %d", st.Ignored, tt.wantIgnored)
				}
				checkReason(t, st, tt.wantReason)
				if st.CommitErr != nil {
					t.Errorf("Commit() = %v, want nil", st.CommitErr)
				}
				if l := logs.String(); l != "" {
					t.Errorf("server ErrorLog = %q, want empty", l)
				}
			})
		})
	}
}

// checkReason checks Storable and Unstorable against want (nil: storable).
func checkReason(t *testing.T, st state, want error) {
	t.Helper()
	if want == nil {
		if !st.Storable || st.Unstorable != nil {
			t.Errorf("Storable(), Unstorable() = %v, %v, want true, nil", st.Storable, st.Unstorable)
		}
		return
	}
	if st.Storable || !errors.Is(st.Unstorable, want) {
		t.Errorf("Storable(), Unstorable() = %v, %v, want false, %v", st.Storable, st.Unstorable, want)
	}
}

type informational struct {
	code   int
	header textproto.MIMEHeader
}

// Checklist items 6 and 10: 1xx responses reach the client before the
// handler finishes, carry the headers set so far, and are never final.
func TestInformationalResponses(t *testing.T) {
	const linkA, linkB = "</a.css>; rel=preload", "</b.js>; rel=preload"
	forEachEnv(t, func(t *testing.T, e env) {
		gate := make(chan struct{})
		h, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Early", "1")
			w.WriteHeader(http.StatusContinue)
			w.WriteHeader(http.StatusProcessing)
			w.Header().Add("Link", linkA)
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Add("Link", linkB)
			w.WriteHeader(http.StatusEarlyHints)
			select { // the client must have seen all four 1xx by now
			case <-gate:
			case <-r.Context().Done():
				return
			}
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte("done"))
		})
		ts, logs := newServer(t, e.proto, h)

		var got []informational
		trace := &httptrace.ClientTrace{
			Got1xxResponse: func(code int, header textproto.MIMEHeader) error {
				got = append(got, informational{code, cloneMIME(header)})
				if len(got) == 4 {
					close(gate)
				}
				return nil
			},
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", ts.URL, nil)
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatalf("Do: %v", err)
		}
		resp.Body.Close()
		st := recv(t, states)

		codes := make([]int, len(got))
		for i, g := range got {
			codes[i] = g.code
			if g.header.Get("X-Early") != "1" {
				t.Errorf("1xx #%d (%d) X-Early = %q, want %q", i, g.code, g.header.Get("X-Early"), "1")
			}
		}
		if want := []int{100, 102, 103, 103}; !slices.Equal(codes, want) {
			t.Fatalf("client 1xx codes = %v, want %v", codes, want)
		}
		if links, want := got[2].header.Values("Link"), []string{linkA}; !slices.Equal(links, want) {
			t.Errorf("first 103 Link = %q, want %q", links, want)
		}
		if links, want := got[3].header.Values("Link"), []string{linkA, linkB}; !slices.Equal(links, want) {
			t.Errorf("second 103 Link = %q, want %q", links, want)
		}
		if resp.StatusCode != 201 {
			t.Errorf("client status = %d, want 201", resp.StatusCode)
		}
		for name, h := range map[string]http.Header{"client": resp.Header, "Snapshot()": st.Snapshot} {
			if links := h.Values("Link"); !slices.Equal(links, []string{linkA, linkB}) {
				t.Errorf("%s Link = %q, want %q", name, links, []string{linkA, linkB})
			}
			if h.Get("X-Early") != "1" {
				t.Errorf("%s X-Early = %q, want %q", name, h.Get("X-Early"), "1")
			}
		}
		if st.Status != 201 || !st.Storable {
			t.Errorf("Status(), Storable() = %d, %v, want 201, true", st.Status, st.Storable)
		}
		if l := logs.String(); l != "" {
			t.Errorf("server ErrorLog = %q, want empty", l)
		}
	})
}

func cloneMIME(h textproto.MIMEHeader) textproto.MIMEHeader {
	return textproto.MIMEHeader(http.Header(h).Clone())
}

// Checklist item 8: invalid codes panic exactly as net/http's do, and the
// recorder never takes them as the status.
func TestInvalidStatusPanics(t *testing.T) {
	for _, code := range []int{0, 99, 1000} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				panics := make(chan any, 2)
				writeHeader := func(w http.ResponseWriter, r *http.Request) {
					defer func() { panics <- recover() }()
					w.WriteHeader(code)
				}
				bare, _ := newServer(t, e.proto, http.HandlerFunc(writeHeader))
				mustDo(t, bare, "GET", "/")
				want := <-panics

				h, states := recording(e, writeHeader)
				ts, _ := newServer(t, e.proto, h)
				resp, _ := mustDo(t, ts, "GET", "/")
				st := recv(t, states)
				got := <-panics

				if want == nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("WriteHeader(%d) panicked with %v, want %v (as net/http)", code, got, want)
				}
				if st.Written || st.Status != 200 || resp.StatusCode != 200 {
					t.Errorf("Written(), Status(), client status = %v, %d, %d, want false, 200, 200", st.Written, st.Status, resp.StatusCode)
				}
			})
		})
	}
}
