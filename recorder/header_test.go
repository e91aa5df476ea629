package recorder_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/idemkit/idemkit/recorder"
)

// Checklist items 9, 12 and 13: what the client gets and what the snapshot
// holds.
func TestHeaders(t *testing.T) {
	tests := []struct {
		name         string
		handler      http.HandlerFunc
		wantClient   map[string]string // header → value; "" means absent
		wantSnapshot http.Header       // exact
		trailers     []string          // trailers the client must get as from a bare server
		wantReason   error
	}{
		{
			name: "snapshot at WriteHeader",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Before", "1")
				w.WriteHeader(http.StatusAccepted)
				w.Header().Set("X-After", "1")
				w.Write([]byte("x"))
			},
			wantClient:   map[string]string{"X-Before": "1", "X-After": ""},
			wantSnapshot: http.Header{"X-Before": {"1"}},
		},
		{
			name: "snapshot at implicit WriteHeader",
			handler: func(w http.ResponseWriter, r *http.Request) {
				h := w.Header()
				h.Set("X-Before", "1")
				w.Write([]byte("x"))
				h.Set("X-After", "1")
			},
			wantClient:   map[string]string{"X-Before": "1", "X-After": ""},
			wantSnapshot: http.Header{"X-Before": {"1"}},
		},
		{
			name:         "recorder adds no headers",
			handler:      func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<p>hello</p>")) },
			wantClient:   map[string]string{"Content-Type": "text/html; charset=utf-8", "Content-Length": "12"},
			wantSnapshot: http.Header{},
		},
		{
			name: "declared trailer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Trailer", "X-T")
				w.Write([]byte("body"))
				w.Header().Set("X-T", "v")
			},
			wantSnapshot: http.Header{"Trailer": {"X-T"}},
			trailers:     []string{"X-T"},
			wantReason:   recorder.ErrTrailers,
		},
		{
			name: "TrailerPrefix trailer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Write(pattern(8 << 10)) // over net/http's buffer, so HTTP/1.1 chunks and can send trailers
				w.Header().Set(http.TrailerPrefix+"X-T", "v")
			},
			wantSnapshot: http.Header{},
			trailers:     []string{"X-T"},
			wantReason:   recorder.ErrTrailers,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachEnv(t, func(t *testing.T, e env) {
				h, states := recording(e, tt.handler)
				ts, _ := newServer(t, e.proto, h)
				resp, _ := mustDo(t, ts, "GET", "/")
				st := recv(t, states)
				for k, want := range tt.wantClient {
					if got := resp.Header.Get(k); got != want {
						t.Errorf("client header %s = %q, want %q", k, got, want)
					}
				}
				if !equalHeader(st.Snapshot, tt.wantSnapshot) {
					t.Errorf("Snapshot() = %v, want %v", st.Snapshot, tt.wantSnapshot)
				}
				if len(tt.trailers) > 0 {
					bare, _ := newServer(t, e.proto, tt.handler)
					bareResp, _ := mustDo(t, bare, "GET", "/")
					for _, k := range tt.trailers {
						if got, want := resp.Trailer.Get(k), bareResp.Trailer.Get(k); got != want {
							t.Errorf("client trailer %s = %q, want %q (as without recorder)", k, got, want)
						}
					}
					if got := resp.Trailer.Get("X-T"); got != "v" {
						t.Errorf("client trailer X-T = %q, want %q", got, "v")
					}
				}
				checkReason(t, st, tt.wantReason)
			})
		})
	}
}

func equalHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || len(va) != len(vb) {
			return false
		}
		for i := range va {
			if va[i] != vb[i] {
				return false
			}
		}
	}
	return true
}

// Checklist item 11: before Commit the real writer's header map is
// untouched, so a discarded response leaks none of the handler's headers
// into the error response written instead.
func TestBufferedDiscardLeaksNoHeaders(t *testing.T) {
	for _, proto := range protos {
		t.Run(proto, func(t *testing.T) {
			realBefore := make(chan http.Header, 1)
			ts, _ := newServer(t, proto, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Outer", "kept") // set by an outer middleware
				rec := recorder.New(w, recorder.Buffered())
				defer rec.Release()

				rec.Header().Set("X-Handler", "leak")
				rec.Header().Del("X-Outer")
				rec.WriteHeader(http.StatusCreated)
				rec.Write([]byte("secret"))

				realBefore <- w.Header().Clone()
				rec.Discard()
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, "conflict")
			}))
			resp, body := mustDo(t, ts, "GET", "/")
			if got, want := <-realBefore, (http.Header{"X-Outer": {"kept"}}); !equalHeader(got, want) {
				t.Errorf("real header map before Discard = %v, want %v", got, want)
			}
			if resp.StatusCode != http.StatusConflict || string(body) != "conflict" {
				t.Errorf("client got %d %q, want 409 %q", resp.StatusCode, body, "conflict")
			}
			if got := resp.Header.Get("X-Handler"); got != "" {
				t.Errorf("client X-Handler = %q, want absent", got)
			}
			if got := resp.Header.Get("X-Outer"); got != "kept" {
				t.Errorf("client X-Outer = %q, want %q", got, "kept")
			}
		})
	}
}

// Headers an outer middleware set before New are in the handler's view in
// both modes, and a handler may delete them, as without a recorder.
func TestOuterHeaders(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		inner, states := recording(e, func(w http.ResponseWriter, r *http.Request) {
			if got := w.Header().Get("X-Outer"); got != "1" {
				t.Errorf("handler sees X-Outer = %q, want %q", got, "1")
			}
			w.Header().Del("X-Remove")
			w.Write([]byte("x"))
		})
		ts, _ := newServer(t, e.proto, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Outer", "1")
			w.Header().Set("X-Remove", "1")
			inner.ServeHTTP(w, r)
		}))
		resp, _ := mustDo(t, ts, "GET", "/")
		st := recv(t, states)
		if resp.Header.Get("X-Outer") != "1" || resp.Header.Get("X-Remove") != "" {
			t.Errorf("client X-Outer, X-Remove = %q, %q, want %q, %q", resp.Header.Get("X-Outer"), resp.Header.Get("X-Remove"), "1", "")
		}
		if want := (http.Header{"X-Outer": {"1"}}); !equalHeader(st.Snapshot, want) {
			t.Errorf("Snapshot() = %v, want %v", st.Snapshot, want)
		}
	})
}
