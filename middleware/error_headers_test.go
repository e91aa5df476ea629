package middleware_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// withCORS is an outer middleware that sets CORS headers before the
// handler runs, as rs/cors does.
func withCORS(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "https://app.example")
		w.Header().Set("Vary", "Origin")
		next.ServeHTTP(w, r)
	})
}

// leakyHeaders are headers a handler sets for its success answer; none of
// them may go out with the error answer of a handler that then fails.
var leakyHeaders = []struct{ name, value string }{
	{"Content-Encoding", "gzip"},                              // the JSON body would be unreadable
	{"Cache-Control", "public, max-age=86400"},                // a CDN would keep the error
	{"ETag", `"v42"`},                                         // a cache would revalidate against it
	{"X-Debug-DSN", "postgres://app:s3cr3t@db:5432/bookings"}, // a secret
}

// setLeaky sets the leaky header and overwrites the outer ones.
func setLeaky(h http.Header, name, value string) {
	h.Set(name, value)
	h.Set("X-Request-Id", "req-inner")
	h.Set("Access-Control-Allow-Origin", "*")
}

// TestErrorAnswerDropsHandlerHeaders: a handler that set headers and then
// panicked behind Recover, or returned an error through httpx.HandlerFunc
// behind Idempotency, gets a 500 that carries the outer middleware's
// headers with their outer values and none of its own. The clients are
// net/http's with their default transports, which decode gzip by
// themselves: a leaked Content-Encoding: gzip fails the body read.
func TestErrorAnswerDropsHandlerHeaders(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	stacks := []struct {
		name  string
		stack func(name, value string) http.Handler
	}{
		{"Recover, panic", func(name, value string) http.Handler {
			return middleware.RecoverWith(middleware.WithRecoverLogger(quiet))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				setLeaky(w.Header(), name, value)
				panic("boom")
			}))
		}},
		{"Idempotency, HandlerFunc error", func(name, value string) http.Handler {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.Logger = quiet
			return middleware.Idempotency(cfg)(httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				setLeaky(w.Header(), name, value)
				return errors.New("export: upstream refused")
			}))
		}},
		{"Recover over Idempotency, panic", func(name, value string) http.Handler {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.Logger = quiet
			return middleware.RecoverWith(middleware.WithRecoverLogger(quiet))(middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				setLeaky(w.Header(), name, value)
				panic("boom")
			})))
		}},
	}
	for _, st := range stacks {
		for _, lh := range leakyHeaders {
			t.Run(st.name+"/"+lh.name, func(t *testing.T) {
				h := middleware.RequestID(withCORS(st.stack(lh.name, lh.value)))
				for _, proto := range []string{"h1", "h2"} {
					t.Run(proto, func(t *testing.T) {
						srv := httptest.NewUnstartedServer(h)
						srv.Config.ErrorLog = discardServerLog()
						client := &http.Client{} // http.DefaultTransport
						if proto == "h2" {
							srv.EnableHTTP2 = true
							srv.StartTLS()
							client = srv.Client()
						} else {
							srv.Start()
						}
						defer srv.Close()
						req, _ := http.NewRequest("POST", srv.URL+"/exports", strings.NewReader(`{}`))
						req.Header.Set(middleware.HeaderIdempotencyKey, newKey())
						req.Header.Set("X-Request-Id", "req-outer")
						res, err := client.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						defer res.Body.Close()
						body, err := io.ReadAll(res.Body)
						if err != nil {
							t.Fatalf("reading the 500 body: %v", err)
						}
						var e httpx.ErrorResponse
						if err := json.Unmarshal(body, &e); err != nil || res.StatusCode != http.StatusInternalServerError || e.Error != "INTERNAL_ERROR" {
							t.Fatalf("POST = %d %q, want 500 INTERNAL_ERROR", res.StatusCode, body)
						}
						if got := res.Header.Get(lh.name); got != "" {
							t.Errorf("%s = %q on the 500, want none", lh.name, got)
						}
						for k, want := range map[string]string{
							"Access-Control-Allow-Origin": "https://app.example",
							"X-Request-Id":                "req-outer",
							"Content-Type":                "application/json; charset=utf-8",
						} {
							if got := res.Header.Get(k); got != want {
								t.Errorf("%s = %q on the 500, want %q", k, got, want)
							}
						}
						if got := res.Header.Values("Vary"); len(got) != 2 || got[0] != "Origin" || got[1] != "Accept" {
							t.Errorf("Vary = %q on the 500, want [Origin Accept]", got)
						}
					})
				}
			})
		}
	}
}
