package httpx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"

	"github.com/idemkit/idemkit/errs"
	"github.com/idemkit/idemkit/httpx"
)

func TestHeaderSnapshot(t *testing.T) {
	many := http.Header{}
	for i := range 12 {
		many.Set("X-Outer-"+strconv.Itoa(i), strconv.Itoa(i))
	}
	tests := []struct {
		name    string
		before  http.Header
		handler func(h http.Header)
	}{
		{"empty", http.Header{}, func(h http.Header) {
			h.Set("Content-Encoding", "gzip")
		}},
		{"Set over an outer value", http.Header{"X-Request-Id": {"outer"}}, func(h http.Header) {
			h.Set("X-Request-Id", "inner")
		}},
		{"Add to an outer value", http.Header{"Vary": {"Origin"}}, func(h http.Header) {
			h.Add("Vary", "Accept-Encoding")
		}},
		{"in-place change of an outer value", http.Header{"Vary": {"Origin"}}, func(h http.Header) {
			h["Vary"][0] = "Cookie"
		}},
		{"Del of an outer header", http.Header{"Access-Control-Allow-Origin": {"*"}}, func(h http.Header) {
			h.Del("Access-Control-Allow-Origin")
		}},
		{"header present with no value", http.Header{"Date": nil}, func(h http.Header) {
			h.Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
		}},
		{"multi-valued outer header", http.Header{"Link": {"</a>; rel=preload", "</b>; rel=preload"}}, func(h http.Header) {
			h["Link"][1] = "</c>; rel=preload"
			h.Add("Link", "</d>; rel=preload")
		}},
		{"more headers than the inline ones", many, func(h http.Header) {
			for k := range h {
				h[k][0] = "changed"
			}
			h.Set("ETag", `"v2"`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.before.Clone()
			h := tt.before.Clone()
			var saved httpx.HeaderSnapshot
			saved.Save(h)
			tt.handler(h)
			for i := range 2 { // Restore may be called more than once
				saved.Restore(h)
				if !equalHeader(h, want) {
					t.Fatalf("Restore #%d = %v, want %v", i+1, h, want)
				}
				h.Add("Vary", "Accept") // what an error writer does after Restore
				for _, vals := range h {
					if len(vals) > 0 {
						vals[0] = "scribbled" // must not reach the snapshot
					}
				}
			}
		})
	}
}

// equalHeader is maps.EqualFunc with slices.Equal that also tells a key
// with no values from a missing key.
func equalHeader(a, b http.Header) bool {
	return maps.EqualFunc(a, b, func(x, y []string) bool { return slices.Equal(x, y) })
}

func TestHeaderSnapshotZero(t *testing.T) {
	var saved httpx.HeaderSnapshot
	h := http.Header{"Etag": {`"v1"`}}
	saved.Restore(h)
	if len(h) != 0 {
		t.Errorf("zero HeaderSnapshot.Restore left %v, want an empty map", h)
	}
	saved.Save(http.Header{"X-A": {"1"}, "X-B": {"2", "3"}})
	saved.Save(http.Header{}) // a new Save forgets the old snapshot
	h.Set("X-C", "4")
	saved.Restore(h)
	if len(h) != 0 {
		t.Errorf("Restore after Save(empty) left %v, want an empty map", h)
	}
}

// withOuterHeaders is an outer middleware (CORS, request id) that sets
// headers before the handler runs.
func withOuterHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
		w.Header().Set("Vary", "Origin")
		w.Header().Set("X-Request-Id", "req-outer")
		next.ServeHTTP(w, r)
	})
}

// failedHandlerHeaders are headers a handler sets for its success answer
// that must never go out with its error answer.
var failedHandlerHeaders = []struct{ name, value string }{
	{"Content-Encoding", "gzip"},
	{"Cache-Control", "public, max-age=86400"},
	{"ETag", `"v42"`},
	{"X-Debug-DSN", "postgres://app:s3cr3t@db:5432/bookings"},
}

// TestHandlerFuncErrorDropsHandlerHeaders: an error answer carries the
// headers from before the handler ran, with their outer values, plus the
// error writer's own; none of what the failed handler set. A leaked
// Content-Encoding: gzip would make the JSON body unreadable for net/http's
// client, which decodes gzip on its own.
func TestHandlerFuncErrorDropsHandlerHeaders(t *testing.T) {
	reg := bookingRegistry(t)
	ew := &httpx.ErrorWriter{Registry: reg, Logger: discardLogger}
	for _, hh := range failedHandlerHeaders {
		fail := func(err error) httpx.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) error {
				w.Header().Set(hh.name, hh.value)
				w.Header().Set("X-Request-Id", "req-inner")
				w.Header().Add("Vary", "Accept-Encoding")
				w.Header().Set("Content-Length", "1234")
				return err
			}
		}
		mux := http.NewServeMux()
		mux.Handle("/plain", fail(fmt.Errorf("get: %w", errs.ErrNotFound)))
		mux.Handle("/configured", ew.Handler(fail(fmt.Errorf("reserve: %w", errNotFound))))
		routes := []struct{ path, code string }{{"/plain", "NOT_FOUND"}, {"/configured", "BOOKING_NOT_FOUND"}}
		t.Run(hh.name, func(t *testing.T) {
			serveBoth(t, withOuterHeaders(mux), func(t *testing.T, srv *httptest.Server) {
				for _, route := range routes {
					path := route.path
					t.Run(path, func(t *testing.T) {
						res, err := srv.Client().Get(srv.URL + path)
						if err != nil {
							t.Fatal(err)
						}
						defer res.Body.Close()
						body, err := io.ReadAll(res.Body)
						if err != nil {
							t.Fatalf("reading the error body: %v", err)
						}
						var e httpx.ErrorResponse
						if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != http.StatusNotFound || e.Error != route.code {
							t.Fatalf("GET %s = %d %q, want 404 %s", path, res.StatusCode, body, route.code)
						}
						if got := res.Header.Get(hh.name); got != "" {
							t.Errorf("%s = %q on the error answer, want none", hh.name, got)
						}
						want := map[string][]string{
							"Access-Control-Allow-Origin": {"https://app.example"},
							"X-Request-Id":                {"req-outer"},
							"Vary":                        {"Origin", "Accept"},
							"Content-Type":                {"application/json; charset=utf-8"},
						}
						for k, v := range want {
							if got := res.Header.Values(k); !slices.Equal(got, v) {
								t.Errorf("%s = %q, want %q", k, got, v)
							}
						}
					})
				}
			})
		})
	}
}

// TestHandlerFuncSuccessKeepsHeaders: only an error answer drops the
// handler's headers.
func TestHandlerFuncSuccessKeepsHeaders(t *testing.T) {
	h := withOuterHeaders(httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("ETag", `"v42"`)
		w.Header().Set("X-Request-Id", "req-inner")
		return httpx.WriteJSON(w, http.StatusOK, map[string]string{"id": "42"})
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/bookings/42", nil))
	if w.Code != http.StatusOK || w.Header().Get("ETag") != `"v42"` || w.Header().Get("X-Request-Id") != "req-inner" {
		t.Errorf("success = %d %v, want 200 with the handler's headers", w.Code, w.Header())
	}
}

// TestHandlerFuncErrorAfterStart: once the response started the header map
// is left alone (later changes could only be trailers), and nothing is
// written.
func TestHandlerFuncErrorAfterStart(t *testing.T) {
	ew := &httpx.ErrorWriter{Logger: discardLogger}
	h := ew.Handler(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Trailer", "X-Checksum")
		w.Header().Set("ETag", `"v42"`)
		_, _ = w.Write([]byte("partial"))
		w.Header().Set("X-Checksum", "abc")
		return errors.New("stream broke")
	})
	rec := httptest.NewRecorder()
	w := &startedWriter{ResponseWriter: rec}
	h.ServeHTTP(w, httptest.NewRequest("GET", "/export", nil))
	if rec.Body.String() != "partial" || w.Header().Get("ETag") != `"v42"` || w.Header().Get("X-Checksum") != "abc" {
		t.Errorf("after start = %q %v, want the partial body and the handler's headers untouched", rec.Body.String(), w.Header())
	}
}

// A middleware that answers a failed handler itself restores the headers
// from before the handler ran, so the answer carries the outer ones only.
func ExampleHeaderSnapshot() {
	handler := func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Encoding", "gzip") // meant for the success answer
		return errors.New("export failed")
	}
	ew := httpx.ErrorWriter{Logger: slog.New(slog.DiscardHandler)}
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/exports", nil)
	w.Header().Set("X-Request-Id", "req-1") // set by an outer middleware

	var saved httpx.HeaderSnapshot
	saved.Save(w.Header())
	if err := handler(w, r); err != nil {
		if !httpx.ResponseStarted(w) {
			saved.Restore(w.Header())
		}
		ew.Write(w, r, err)
	}
	fmt.Println(w.Code, w.Header().Get("X-Request-Id"), w.Header().Get("Content-Type"))
	fmt.Printf("Content-Encoding: %q\n", w.Header().Get("Content-Encoding"))
	// Output:
	// 500 req-1 application/json; charset=utf-8
	// Content-Encoding: ""
}

// BenchmarkHeaderSnapshot measures Save of two outer headers beside
// Header.Clone, its baseline.
func BenchmarkHeaderSnapshot(b *testing.B) {
	h := http.Header{"Access-Control-Allow-Origin": {"https://app.example"}, "X-Request-Id": {"req-7f3a"}}
	b.Run("Save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var saved httpx.HeaderSnapshot
			saved.Save(h)
		}
	})
	b.Run("Header.Clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = h.Clone()
		}
	})
}
