package httpx_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// TestRetryAgainstIdempotencyMiddleware is the acceptance test: a
// POST whose first attempt times out after the server applied it is retried
// with the same key, polls while the first request still runs, and gets the
// replayed answer; the handler ran once.
func TestRetryAgainstIdempotencyMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		mode       middleware.InProgressMode
		busyStatus int
	}{
		{name: "202 processing", mode: middleware.InProgressAccepted, busyStatus: http.StatusAccepted},
		{name: "409 REQUEST_IN_PROGRESS", mode: middleware.InProgressConflict, busyStatus: http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu       sync.Mutex
				runs     int
				keys     []string
				statuses []int
				polled   = make(chan struct{}) // closed once two duplicates were answered "busy"
				once     sync.Once
			)
			// The handler applies the order, then is slow to answer: the
			// client's first attempt times out; it answers once the client
			// has polled twice.
			orders := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				runs++
				mu.Unlock()
				<-polled
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				io.WriteString(w, `{"order":"o-1","seat":"12A"}`)
			})
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.InProgress = tt.mode
			idem := middleware.Idempotency(cfg)(orders)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := &retryStatusWriter{ResponseWriter: w}
				idem.ServeHTTP(rec, r)
				mu.Lock()
				keys = append(keys, r.Header.Get("Idempotency-Key"))
				statuses = append(statuses, rec.status)
				busy := 0
				for _, s := range statuses {
					if s == tt.busyStatus {
						busy++
					}
				}
				mu.Unlock()
				if busy >= 2 {
					once.Do(func() { close(polled) })
				}
			}))
			t.Cleanup(srv.Close)
			t.Cleanup(func() { once.Do(func() { close(polled) }) })

			var events []httpx.RetryEvent
			p := httpx.RetryPolicy{
				// The first attempt waits this out; every other attempt (and
				// the first's arrival at the handler) must take far less,
				// however busy the machine.
				AttemptTimeout: time.Second,
				OnRetry:        func(e httpx.RetryEvent) { events = append(events, e) },
			}
			rt := httpx.NewRetryTransport(srv.Client().Transport, p)
			// Waits of a few milliseconds instead of Retry-After: 1.
			httpx.SetRetryClock(rt, time.Now, func(ctx context.Context, d time.Duration) error {
				return sleepFor(ctx, min(d, 10*time.Millisecond))
			})
			client := &http.Client{Transport: rt}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/orders", strings.NewReader(`{"seat":"12A"}`))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("Do(POST /orders) error = %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if resp.StatusCode != http.StatusCreated || string(body) != `{"order":"o-1","seat":"12A"}` {
				t.Errorf("Do(POST /orders) = %d %s, want 201 with the order", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Idempotent-Replayed"); got != "true" {
				t.Errorf("Idempotent-Replayed = %q, want true (the answer is the stored one)", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if runs != 1 {
				t.Errorf("handler ran %d times, want 1", runs)
			}
			for i, k := range keys {
				if k == "" || k != keys[0] {
					t.Errorf("attempt %d key = %q, want the first attempt's %q", i+1, k, keys[0])
				}
			}
			if len(events) < 3 || events[0].Decision != httpx.Retry || events[1].Decision != httpx.Poll {
				t.Errorf("OnRetry decisions = %v, want a Retry (timeout) then Polls", eventDecisions(events))
			}
			t.Logf("statuses seen by the server: %v; decisions: %v", statuses, eventDecisions(events))
		})
	}
}

type retryStatusWriter struct {
	http.ResponseWriter
	status int
}

func (w *retryStatusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *retryStatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *retryStatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func eventDecisions(events []httpx.RetryEvent) []string {
	var s []string
	for _, e := range events {
		s = append(s, e.Decision.String()+"("+e.Reason+")")
	}
	return s
}

func sleepFor(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
