package middleware_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// TestUnwrittenResponseNotStored: a handler that writes nothing (no
// WriteHeader, no Write) gets net/http's implicit empty 200 delivered, but
// not stored: the key is released, a warning names the route, and a retry
// runs the handler again. StoreUnwritten stores it for handlers that mean
// it. Headers alone, without a status, are still nothing written.
func TestUnwrittenResponseNotStored(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, storeIt := range []bool{false, true} {
				name := "default"
				if storeIt {
					name = "StoreUnwritten"
				}
				t.Run(name, func(t *testing.T) {
					var logs syncBuffer
					var ev events
					h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
						w.Header().Set("X-Handler", "was-here") // a header is not a response
					}}
					cfg := middleware.DefaultIdempotencyConfig(b.store)
					cfg.StoreUnwritten = storeIt
					cfg.OnEvent = ev.add
					cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
					mux := http.NewServeMux()
					mux.Handle("POST /bookings/{id}/confirm", middleware.Idempotency(cfg)(h))
					key := newKey()
					first := do(t, mux, "POST", "/bookings/7/confirm", key, "{}")
					if first.status != http.StatusOK || first.body != "" {
						t.Fatalf("first = %d %q, want the empty 200 delivered", first.status, first.body)
					}
					retry := do(t, mux, "POST", "/bookings/7/confirm", key, "{}")
					if storeIt {
						if retry.header.Get("Idempotent-Replayed") != "true" || h.calls.Load() != 1 {
							t.Errorf("retry = %d %v after %d runs, want a replay of the stored empty 200", retry.status, retry.header, h.calls.Load())
						}
						return
					}
					if retry.header.Get("Idempotent-Replayed") != "" || h.calls.Load() != 2 {
						t.Errorf("retry = %d %v after %d runs, want the handler run again (nothing stored)", retry.status, retry.header, h.calls.Load())
					}
					if ev.count(middleware.EventUnwritten) != 2 || ev.count(middleware.EventStored) != 0 {
						t.Errorf("events = %v, want two unwritten and no stored", ev.String())
					}
					if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), `route="POST /bookings/{id}/confirm"`) {
						t.Errorf("log = %s, want a warning naming the route", logs.String())
					}
				})
			}
		})
	}
}

// TestUnwrittenEmptyWriteIsWritten: an explicit empty Write or a
// WriteHeader(200) is a response the handler wrote, and is stored.
func TestUnwrittenEmptyWriteIsWritten(t *testing.T) {
	for name, respond := range map[string]func(http.ResponseWriter, *http.Request){
		"WriteHeader(200)": func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) },
		"Write(nil)":       func(w http.ResponseWriter, r *http.Request) { w.Write(nil) },
		"Write(body)":      func(w http.ResponseWriter, r *http.Request) { bytes.NewBufferString("ok").WriteTo(w) },
	} {
		t.Run(name, func(t *testing.T) {
			h := &countingHandler{respond: respond}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))(h)
			key := newKey()
			do(t, mw, "POST", "/x", key, "{}")
			if got := do(t, mw, "POST", "/x", key, "{}"); got.header.Get("Idempotent-Replayed") != "true" || h.calls.Load() != 1 {
				t.Errorf("retry = %d %v after %d runs, want a replay", got.status, got.header, h.calls.Load())
			}
		})
	}
}
