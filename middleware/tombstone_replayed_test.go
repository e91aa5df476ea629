package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// TestTombstoneAnswersAreReplayed: both answers to a retry of a streamed
// response — 303 See Other to its Location, and 409
// RESPONSE_NOT_REPLAYABLE without one — carry Idempotent-Replayed: true, as
// docs/idempotency.md promises, on every store; the first response does
// not.
func TestTombstoneAnswersAreReplayed(t *testing.T) {
	cases := []struct {
		name     string
		location string
		want     int
	}{
		{"with Location", "/exports/7", http.StatusSeeOther},
		{"without Location", "", http.StatusConflict},
	}
	for _, b := range backends(t) {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				h := &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
					if tc.location != "" {
						w.Header().Set("Location", tc.location)
					}
					w.WriteHeader(http.StatusCreated)
					w.Write([]byte("part 1\n"))
					w.(http.Flusher).Flush() // streamed: leaves a tombstone
					w.Write([]byte("part 2\n"))
				}}
				srv := httptest.NewServer(middleware.Idempotency(middleware.DefaultIdempotencyConfig(b.store))(h))
				defer srv.Close()
				client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				key := newKey()

				first := send(t, client, "POST", srv.URL+"/exports", key, "")
				if first.status != http.StatusCreated || first.header.Get(middleware.HeaderReplayed) != "" {
					t.Fatalf("first = %d %s=%q, want 201 without %s",
						first.status, middleware.HeaderReplayed, first.header.Get(middleware.HeaderReplayed), middleware.HeaderReplayed)
				}
				retry := send(t, client, "POST", srv.URL+"/exports", key, "")
				if retry.status != tc.want {
					t.Fatalf("retry = %d %s, want %d", retry.status, retry.body, tc.want)
				}
				if got := retry.header.Get(middleware.HeaderReplayed); got != "true" {
					t.Errorf("retry %d %s = %q, want true", retry.status, middleware.HeaderReplayed, got)
				}
				if got := retry.header.Get("Location"); got != tc.location {
					t.Errorf("retry Location = %q, want %q", got, tc.location)
				}
				if tc.want == http.StatusConflict {
					if code := errorCode(t, retry.body); code != middleware.CodeResponseNotReplayable {
						t.Errorf("retry code = %s, want %s", code, middleware.CodeResponseNotReplayable)
					}
				}
				if got := h.calls.Load(); got != 1 {
					t.Errorf("handler calls = %d, want 1", got)
				}
			})
		}
	}
}
