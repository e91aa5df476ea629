package httpx_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

func TestRetryWaits(t *testing.T) {
	ceiling := func(d time.Duration) time.Duration { return d } // jitter at its maximum
	zero := func(time.Duration) time.Duration { return 0 }      // jitter at its minimum
	tests := []struct {
		name   string
		policy httpx.RetryPolicy
		jitter func(time.Duration) time.Duration
		steps  func(now time.Time) []step
		want   []time.Duration
	}{
		{
			name:   "backoff 1s 2s 4s",
			jitter: ceiling,
			steps:  func(time.Time) []step { return []step{{status: 503}, {status: 503}, {status: 503}, {status: 200}} },
			want:   []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
		{
			name:   "backoff capped by MaxDelay",
			policy: httpx.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Second, MaxDelay: 3 * time.Second},
			jitter: ceiling,
			steps: func(time.Time) []step {
				return []step{{status: 500}, {status: 500}, {status: 500}, {status: 500}, {status: 200}}
			},
			want: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second},
		},
		{
			name:   "Retry-After seconds honoured",
			jitter: zero,
			steps: func(time.Time) []step {
				return []step{{status: 503, header: []string{"Retry-After", "2"}}, {status: 200}}
			},
			want: []time.Duration{2 * time.Second},
		},
		{
			name:   "Retry-After beats a shorter backoff",
			jitter: ceiling,
			steps: func(time.Time) []step {
				return []step{{status: 429, header: []string{"Retry-After", "7"}}, {status: 200}}
			},
			want: []time.Duration{7 * time.Second},
		},
		{
			name:   "backoff beats a shorter Retry-After",
			jitter: ceiling,
			steps: func(time.Time) []step {
				return []step{{status: 503}, {status: 503, header: []string{"Retry-After", "0"}}, {status: 200}}
			},
			want: []time.Duration{time.Second, 2 * time.Second},
		},
		{
			name:   "Retry-After HTTP-date honoured",
			jitter: zero,
			steps: func(now time.Time) []step {
				return []step{{status: 503, header: []string{"Retry-After", now.Add(3 * time.Second).UTC().Format(http.TimeFormat)}}, {status: 200}}
			},
			want: []time.Duration{3 * time.Second},
		},
		{
			name:   "Retry-After past HTTP-date is 0",
			jitter: zero,
			steps: func(now time.Time) []step {
				return []step{{status: 503, header: []string{"Retry-After", now.Add(-time.Hour).UTC().Format(http.TimeFormat)}}, {status: 200}}
			},
			want: []time.Duration{0},
		},
		{
			name:   "Retry-After capped by MaxDelay",
			policy: httpx.RetryPolicy{MaxDelay: 10 * time.Second},
			jitter: zero,
			steps: func(time.Time) []step {
				return []step{{status: 503, header: []string{"Retry-After", "3600"}}, {status: 200}}
			},
			want: []time.Duration{10 * time.Second},
		},
		{
			name:   "malformed Retry-After ignored",
			jitter: ceiling,
			steps: func(time.Time) []step {
				return []step{{status: 503, header: []string{"Retry-After", "soon"}}, {status: 200}}
			},
			want: []time.Duration{time.Second},
		},
		{
			name:   "202 polls follow Retry-After, not a fixed 1s",
			jitter: zero,
			steps: func(time.Time) []step {
				return []step{
					{status: 202, header: []string{"Retry-After", "3"}, body: processingBody},
					{status: 202, header: []string{"Retry-After", "5"}, body: processingBody},
					{status: 201},
				}
			},
			want: []time.Duration{3 * time.Second, 5 * time.Second},
		},
		{
			name:   "202 polls without Retry-After back off",
			jitter: ceiling,
			steps: func(time.Time) []step {
				return []step{{status: 202, body: processingBody}, {status: 202, body: processingBody}, {status: 202, body: processingBody}, {status: 201}}
			},
			want: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newRetryClock()
			srv := newScriptServer(t, tt.steps(clock.Now())...)
			tt.policy.Budget.Ratio = -1
			rt := httpx.NewRetryTransport(srv.Client().Transport, tt.policy)
			httpx.SetRetryClock(rt, clock.Now, clock.Sleep)
			httpx.SetRetryJitter(rt, tt.jitter)
			req, _ := http.NewRequest("POST", srv.URL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip() error = %v", err)
			}
			resp.Body.Close()
			if got := clock.Sleeps(); !slices.Equal(got, tt.want) {
				t.Errorf("waits = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetryJitterStaysUnderCeiling(t *testing.T) {
	srv := newScriptServer(t, step{status: 503})
	p := httpx.RetryPolicy{MaxAttempts: 4, Budget: httpx.RetryBudget{Ratio: -1}}
	rt, clock := newFakeTransport(srv.Client().Transport, p)
	client := &http.Client{Transport: rt}
	for range 20 {
		if _, err := client.Get(srv.URL); !errors.Is(err, httpx.ErrAttemptsExhausted) {
			t.Fatalf("Get() error = %v, want ErrAttemptsExhausted", err)
		}
	}
	sleeps := clock.Sleeps()
	distinct := map[time.Duration]bool{}
	for i, d := range sleeps {
		if ceil := time.Second << (i % 3); d < 0 || d > ceil {
			t.Errorf("wait %d = %v, want within [0, %v]", i, d, ceil)
		}
		distinct[d] = true
	}
	if len(distinct) < len(sleeps)/2 {
		t.Errorf("%d distinct waits out of %d, want jittered waits", len(distinct), len(sleeps))
	}
}

func TestRetryAfterBeyondDeadlineFailsFast(t *testing.T) {
	srv := newScriptServer(t, step{status: 503, header: []string{"Retry-After", "30"}}, step{status: 200})
	rt, clock := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{MaxDelay: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *httpx.RetryError
	if !errors.Is(err, httpx.ErrRetryAfterDeadline) || !errors.As(err, &re) {
		t.Fatalf("RoundTrip() error = %v, want a *RetryError with ErrRetryAfterDeadline", err)
	}
	if re.Attempts != 1 || re.LastStatus != 503 || len(clock.Sleeps()) != 0 {
		t.Errorf("RetryError{Attempts:%d LastStatus:%d}, waits %v; want 1 attempt, 503, no wait", re.Attempts, re.LastStatus, clock.Sleeps())
	}
	if !strings.Contains(err.Error(), "Retry-After 30s") {
		t.Errorf("RoundTrip() error = %q, want it to name the Retry-After", err)
	}
	if ctx.Err() != nil {
		t.Errorf("context expired before RoundTrip returned, want a fast failure")
	}
}

func TestRetryPollsRunOut(t *testing.T) {
	srv := newScriptServer(t, step{status: 202, body: processingBody})
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{MaxPolls: 3, MaxAttempts: 1})
	req, _ := http.NewRequest("POST", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *httpx.RetryError
	if !errors.As(err, &re) || !errors.Is(err, httpx.ErrAttemptsExhausted) || re.Attempts != 4 || re.LastStatus != 202 {
		t.Fatalf("RoundTrip() error = %v, want *RetryError{Attempts: 4, LastStatus: 202} with ErrAttemptsExhausted", err)
	}
	if got := len(srv.Seen()); got != 4 {
		t.Errorf("server saw %d attempts, want 4 (1 + 3 polls)", got)
	}
}

func TestRetryOnRetryEvents(t *testing.T) {
	srv := newScriptServer(t, step{status: 503}, step{status: 202, body: processingBody}, step{status: 200})
	var events []httpx.RetryEvent
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{OnRetry: func(e httpx.RetryEvent) { events = append(events, e) }})
	httpx.SetRetryJitter(rt, func(d time.Duration) time.Duration { return d })
	req, _ := http.NewRequest("POST", srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip() error = %v", err)
	}
	resp.Body.Close()
	type ev struct {
		attempt  int
		decision httpx.Decision
		delay    time.Duration
		reason   string
		status   int
	}
	var got []ev
	for _, e := range events {
		got = append(got, ev{e.Attempt, e.Decision, e.Delay, e.Reason, e.StatusCode})
	}
	want := []ev{
		{1, httpx.Retry, time.Second, "503 Service Unavailable", 503},
		{2, httpx.Poll, time.Second, "202 Accepted", 202},
	}
	if !slices.Equal(got, want) {
		t.Errorf("OnRetry events = %v, want %v", got, want)
	}
}
