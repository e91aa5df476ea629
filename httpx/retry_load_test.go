package httpx_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// TestRetryBudgetWhenServerDown sends 200 requests to a server that is down
// (always 503, or refusing connections). With the default budget the fleet
// adds at most ~10% load; without it every request makes MaxAttempts.
func TestRetryBudgetWhenServerDown(t *testing.T) {
	refusedAddr := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there any more: connections are refused
		return "http://" + addr
	}
	down503 := func(t *testing.T) string { return newScriptServer(t, step{status: 503}).URL }
	tests := []struct {
		name    string
		url     func(*testing.T) string
		budget  httpx.RetryBudget
		maxMean float64
		minMean float64
	}{
		{name: "503 with default budget", url: down503, maxMean: 1.2},
		{name: "refused with default budget", url: refusedAddr, maxMean: 1.2},
		{name: "503 without budget", url: down503, budget: httpx.RetryBudget{Ratio: -1}, minMean: 4, maxMean: 4},
	}
	const requests, workers = 200, 10
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			base := &countingTransport{base: &http.Transport{}}
			t.Cleanup(base.base.(*http.Transport).CloseIdleConnections)
			// Real time with microsecond backoff: the run takes milliseconds,
			// so the budget's MinPerSecond refill barely contributes; on a
			// busy machine it takes longer and earns that many more retries,
			// which the bound below allows for.
			p := noDelay()
			p.Budget = tt.budget
			rt := httpx.NewRetryTransport(base, p)
			client := &http.Client{Transport: rt}
			jobs := make(chan int)
			start := time.Now()
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for range jobs {
						resp, err := client.Post(url, "application/json", strings.NewReader(`{}`))
						if err == nil {
							resp.Body.Close()
							t.Errorf("Post() = %d, want an error: the server is down", resp.StatusCode)
						} else if !errors.Is(err, httpx.ErrRetryBudgetExhausted) && !errors.Is(err, httpx.ErrAttemptsExhausted) {
							t.Errorf("Post() error = %v, want budget or attempts exhausted", err)
						}
					}
				})
			}
			for i := range requests {
				jobs <- i
			}
			close(jobs)
			wg.Wait()
			elapsed := time.Since(start)
			maxMean := tt.maxMean
			if tt.budget.Ratio >= 0 {
				maxMean += elapsed.Seconds() * httpx.DefaultBudgetMinPerSecond / requests
			}
			mean := float64(base.n.Load()) / requests
			t.Logf("%d attempts for %d requests in %v: %.2f per request", base.n.Load(), requests, elapsed, mean)
			if mean > maxMean || mean < tt.minMean {
				t.Errorf("attempts per request = %.2f, want within [%.2f, %.2f] (%.2f plus the budget's refill over %v)",
					mean, tt.minMean, maxMean, tt.maxMean, elapsed)
			}
		})
	}
}

// TestRetryDrainsAndReusesConnections checks that discarded responses are
// drained and closed: every attempt of sequential requests goes over one
// connection.
func TestRetryDrainsAndReusesConnections(t *testing.T) {
	big := strings.Repeat("x", 32<<10) // under the 64 KiB drain limit
	tests := []struct {
		name      string
		h2        bool
		steps     []step
		wantConns int64
	}{
		{name: "HTTP/2 retried 503 bodies drained", h2: true, steps: []step{{status: 503, body: big}, {status: 502, body: big}, {status: 200, body: "ok"}}, wantConns: 1},
		{name: "retried 503 bodies drained", steps: []step{{status: 503, body: big}, {status: 502, body: big}, {status: 200, body: "ok"}}, wantConns: 1},
		{name: "polled 202 bodies drained", steps: []step{{status: 202, body: processingBody}, {status: 201, body: "ok"}}, wantConns: 1},
		{name: "given-up bodies drained", steps: []step{{status: 503, body: big}}, wantConns: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServerProto(t, tt.h2, tt.steps...)
			rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{Budget: httpx.RetryBudget{Ratio: -1}})
			client := &http.Client{Transport: rt}
			for range 5 {
				srv.mu.Lock()
				srv.reqs = nil // replay the script
				srv.mu.Unlock()
				resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("x"))
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
			if got := srv.conns.Load(); got != tt.wantConns {
				t.Errorf("server saw %d connections, want %d (drained responses keep the connection)", got, tt.wantConns)
			}
		})
	}
}

func TestRetryCloseIdleConnections(t *testing.T) {
	srv := newScriptServer(t, step{status: 200})
	rt := httpx.NewRetryTransport(srv.Client().Transport, httpx.RetryPolicy{})
	client := &http.Client{Transport: rt}
	get := func() {
		resp, err := client.Get(srv.URL)
		if err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get()
	client.CloseIdleConnections()
	get()
	if got := srv.conns.Load(); got != 2 {
		t.Errorf("connections after CloseIdleConnections = %d, want 2", got)
	}
}

// TestRetryNoGoroutineLeak runs every kind of outcome and checks that the
// number of goroutines settles back once connections are closed.
func TestRetryNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv := newScriptServer(t,
			step{status: 503, body: "down"}, step{hangup: true}, step{status: 202, body: processingBody},
			step{status: 409, body: inProgressBody}, step{status: 200, body: "ok"})
		base := &http.Transport{}
		rt, _ := newFakeTransport(base, httpx.RetryPolicy{AttemptTimeout: time.Second, MaxAttempts: 10})
		client := &http.Client{Transport: rt}
		for range 10 {
			resp, err := client.Post(srv.URL, "text/plain", hideGetBody("payload"))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		slow := newScriptServer(t, step{status: 200})
		slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
		rt2, _ := newFakeTransport(base, httpx.RetryPolicy{AttemptTimeout: 20 * time.Millisecond, MaxAttempts: 2})
		if _, err := (&http.Client{Transport: rt2}).Get(slow.URL); !errors.Is(err, httpx.ErrAttemptTimeout) {
			t.Errorf("Get(slow) error = %v, want ErrAttemptTimeout", err)
		}
		client.CloseIdleConnections()
		srv.Close()
		slow.Close()
	}()
	deadline := time.Now().Add(time.Minute) // a generous bound: goroutines end late on a busy machine
	for pause := time.Millisecond; runtime.NumGoroutine() > before && time.Now().Before(deadline); pause = min(2*pause, 100*time.Millisecond) {
		time.Sleep(pause)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("goroutines = %d after, %d before, want no leak:\n%s", after, before, buf[:runtime.Stack(buf, true)])
	}
}
