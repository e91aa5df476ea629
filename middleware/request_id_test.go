package middleware_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

const sampleTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// ridSeen runs RequestID over a handler that reports the context's trace
// id, and returns it with the X-Request-ID response header.
func ridSeen(t testing.TB, header http.Header) (ctxID, respID string) {
	t.Helper()
	h := middleware.RequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctxID = httpx.TraceID(r.Context())
	}))
	r := httptest.NewRequest("GET", "/", nil)
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return ctxID, w.Header().Get("X-Request-ID")
}

func isGeneratedID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func TestRequestID(t *testing.T) {
	const generated = "<generated>"
	tests := []struct {
		name   string
		header http.Header
		want   string
	}{
		{"none", nil, generated},
		{"incoming", http.Header{"X-Request-Id": {"req-123"}}, "req-123"},
		{"incoming 128 bytes", http.Header{"X-Request-Id": {strings.Repeat("a", 128)}}, strings.Repeat("a", 128)},
		{"incoming printable punctuation", http.Header{"X-Request-Id": {"a!~/=+"}}, "a!~/=+"},
		{"incoming too long", http.Header{"X-Request-Id": {strings.Repeat("a", 129)}}, generated},
		{"incoming with space", http.Header{"X-Request-Id": {"a b"}}, generated},
		{"incoming with control", http.Header{"X-Request-Id": {"a\x01b"}}, generated},
		{"incoming non-ASCII", http.Header{"X-Request-Id": {"é"}}, generated},
		{"incoming empty", http.Header{"X-Request-Id": {""}}, generated},
		{"incoming wins over traceparent", http.Header{"X-Request-Id": {"req-1"}, "Traceparent": {sampleTraceparent}}, "req-1"},
		{"invalid incoming falls back to traceparent", http.Header{"X-Request-Id": {"a b"}, "Traceparent": {sampleTraceparent}}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"traceparent", http.Header{"Traceparent": {sampleTraceparent}}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"traceparent future version with more fields", http.Header{"Traceparent": {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future"}}, "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"traceparent future version, bad separator", http.Header{"Traceparent": {"cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"}}, generated},
		{"traceparent 00 too long", http.Header{"Traceparent": {sampleTraceparent + "-x"}}, generated},
		{"traceparent version ff", http.Header{"Traceparent": {"ff" + sampleTraceparent[2:]}}, generated},
		{"traceparent upper case", http.Header{"Traceparent": {strings.ToUpper(sampleTraceparent)}}, generated},
		{"traceparent zero trace id", http.Header{"Traceparent": {"00-00000000000000000000000000000000-00f067aa0ba902b7-01"}}, generated},
		{"traceparent zero parent id", http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"}}, generated},
		{"traceparent bad flags", http.Header{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g"}}, generated},
		{"traceparent short", http.Header{"Traceparent": {sampleTraceparent[:54]}}, generated},
		{"traceparent twice", http.Header{"Traceparent": {sampleTraceparent, sampleTraceparent}}, generated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctxID, respID := ridSeen(t, tt.header)
			if ctxID != respID {
				t.Errorf("RequestID: context id %q != X-Request-ID %q", ctxID, respID)
			}
			if tt.want == generated {
				if !isGeneratedID(respID) {
					t.Errorf("RequestID(%v) = %q, want a generated 32-hex id", tt.header, respID)
				}
				return
			}
			if respID != tt.want {
				t.Errorf("RequestID(%v) = %q, want %q", tt.header, respID, tt.want)
			}
		})
	}
}

func TestRequestIDGeneratedUnique(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		_, id := ridSeen(t, nil)
		if seen[id] {
			t.Fatalf("RequestID generated %q twice", id)
		}
		seen[id] = true
	}
}

// TestRequestIDInErrorBody checks end to end, on real HTTP/1.1 and HTTP/2
// servers, that the error body's trace_id is the X-Request-ID header.
func TestRequestIDInErrorBody(t *testing.T) {
	h := middleware.RequestID(middleware.Recover(httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		return errs.ErrNotFound
	})))
	tests := []struct {
		name     string
		path     string
		incoming string
		status   int
	}{
		{"error, generated id", "/x", "", 404},
		{"error, incoming id", "/x", "client-id-1", 404},
		{"panic, generated id", "/panic", "", 500},
		{"panic, incoming id", "/panic", "client-id-2", 500},
	}
	for _, proto := range []string{"h1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(h)
			srv.Config.ErrorLog = discardServerLog()
			if proto == "h2" {
				srv.EnableHTTP2 = true
				srv.StartTLS()
			} else {
				srv.Start()
			}
			defer srv.Close()
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
					if tt.incoming != "" {
						req.Header.Set("X-Request-ID", tt.incoming)
					}
					res, err := srv.Client().Do(req)
					if err != nil {
						t.Fatal(err)
					}
					defer res.Body.Close()
					raw, _ := io.ReadAll(res.Body)
					var body httpx.ErrorResponse
					if err := json.Unmarshal(raw, &body); err != nil {
						t.Fatalf("body %q: %v", raw, err)
					}
					header := res.Header.Get("X-Request-ID")
					if res.StatusCode != tt.status || body.TraceID != header || header == "" {
						t.Errorf("GET %s = %d trace_id %q, X-Request-ID %q; want %d and equal ids", tt.path, res.StatusCode, body.TraceID, header, tt.status)
					}
					if tt.incoming != "" && header != tt.incoming {
						t.Errorf("X-Request-ID = %q, want the incoming %q", header, tt.incoming)
					}
				})
			}
		})
	}
}

// FuzzRequestID: whatever the incoming headers, the id is valid, echoed, in
// the context, and taken from the headers exactly when they are valid.
func FuzzRequestID(f *testing.F) {
	f.Add("", "")
	f.Add("req-1", "")
	f.Add("", sampleTraceparent)
	f.Add("a b", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")
	f.Add(strings.Repeat("z", 200), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0")
	f.Fuzz(func(t *testing.T, incoming, traceparent string) {
		h := http.Header{}
		if incoming != "" {
			h.Set("X-Request-ID", incoming)
		}
		if traceparent != "" {
			h.Set("Traceparent", traceparent)
		}
		ctxID, respID := ridSeen(t, h)
		if ctxID != respID {
			t.Fatalf("context id %q != header %q", ctxID, respID)
		}
		if len(respID) == 0 || len(respID) > 128 {
			t.Fatalf("id %q has length %d", respID, len(respID))
		}
		for i := 0; i < len(respID); i++ {
			if respID[i] < 0x21 || respID[i] > 0x7e {
				t.Fatalf("id %q has byte %#x", respID, respID[i])
			}
		}
		validIncoming := incoming != "" && len(incoming) <= 128 && !strings.ContainsFunc(incoming, func(r rune) bool { return r < 0x21 || r > 0x7e })
		switch {
		case validIncoming:
			if respID != incoming {
				t.Fatalf("valid incoming %q replaced by %q", incoming, respID)
			}
		case len(traceparent) >= 35 && respID == traceparent[3:35]:
			if !isGeneratedID(respID) || respID == strings.Repeat("0", 32) {
				t.Fatalf("traceparent %q gave the invalid trace id %q", traceparent, respID)
			}
		default:
			if !isGeneratedID(respID) {
				t.Fatalf("generated id %q is not 32 lower-case hex digits", respID)
			}
		}
	})
}

func BenchmarkRequestID(b *testing.B) {
	h := middleware.RequestID(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	cases := []struct {
		name   string
		header string
		value  string
	}{
		{"generated", "", ""},
		{"incoming", "X-Request-ID", "req-1234567890"},
		{"traceparent", "Traceparent", sampleTraceparent},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			if c.header != "" {
				r.Header.Set(c.header, c.value)
			}
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}
