package httpx_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// leftPattern finds the time left in the message of a deadline give-up.
var leftPattern = regexp.MustCompile(`but (\S+) left`)

// TestRetryDeadlineGiveUpIsDeadlineExceeded checks that giving up because
// the next wait would end after the deadline is both ErrRetryAfterDeadline
// and context.DeadlineExceeded, directly and through http.Client (which
// wraps it in a *url.Error), and that its message names the last status,
// the wait it needed and the time left.
func TestRetryDeadlineGiveUpIsDeadlineExceeded(t *testing.T) {
	// The deadline is generous so that a busy machine never lets it expire
	// during the single attempt; every wait below is far longer.
	const timeout = 5 * time.Second
	tests := []struct {
		name       string
		method     string
		step       step
		policy     httpx.RetryPolicy
		wantWait   string // as the message names it
		wantStatus string
	}{
		{
			name:       "503 Retry-After beyond the deadline",
			method:     "GET",
			step:       step{status: 503, header: []string{"Retry-After", "30"}},
			policy:     httpx.RetryPolicy{MaxDelay: time.Minute},
			wantWait:   "Retry-After 30s",
			wantStatus: "last status 503 Service Unavailable",
		},
		{
			name:       "backoff beyond the deadline",
			method:     "POST",
			step:       step{status: 500},
			policy:     httpx.RetryPolicy{BaseDelay: 10 * time.Second, MaxDelay: 10 * time.Second},
			wantWait:   "backoff 10s",
			wantStatus: "last status 500 Internal Server Error",
		},
		{
			name:       "processing poll beyond the deadline",
			method:     "POST",
			step:       step{status: 202, header: []string{"Retry-After", "30"}, body: processingBody},
			policy:     httpx.RetryPolicy{MaxDelay: time.Minute},
			wantWait:   "Retry-After 30s",
			wantStatus: "last status 202 Accepted",
		},
	}
	callers := []struct {
		name string
		// call sends req through rt, with a deadline timeout from now.
		call func(rt http.RoundTripper, req *http.Request) error
		// viaClient: the error comes from http.Client, in a *url.Error.
		viaClient bool
	}{
		{
			name: "RoundTrip with a context deadline",
			call: func(rt http.RoundTripper, req *http.Request) error {
				ctx, cancel := context.WithTimeout(req.Context(), timeout)
				defer cancel()
				resp, err := rt.RoundTrip(req.WithContext(ctx))
				if err == nil {
					resp.Body.Close()
				}
				return err
			},
		},
		{
			name: "Client.Do with a context deadline",
			call: func(rt http.RoundTripper, req *http.Request) error {
				ctx, cancel := context.WithTimeout(req.Context(), timeout)
				defer cancel()
				resp, err := (&http.Client{Transport: rt}).Do(req.WithContext(ctx))
				if err == nil {
					resp.Body.Close()
				}
				return err
			},
			viaClient: true,
		},
		{
			name: "Client.Do with Client.Timeout",
			call: func(rt http.RoundTripper, req *http.Request) error {
				resp, err := (&http.Client{Transport: rt, Timeout: timeout}).Do(req)
				if err == nil {
					resp.Body.Close()
				}
				return err
			},
			viaClient: true,
		},
	}
	for _, tt := range tests {
		for _, c := range callers {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				srv := newScriptServer(t, tt.step, step{status: 200})
				p := tt.policy
				p.Budget.Ratio = -1
				rt := httpx.NewRetryTransport(srv.Client().Transport, p)
				httpx.SetRetryJitter(rt, func(d time.Duration) time.Duration { return d })
				req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader(`{"seat":"12A"}`))

				start := time.Now()
				err := c.call(rt, req)
				elapsed := time.Since(start)

				if !errors.Is(err, httpx.ErrRetryAfterDeadline) {
					t.Errorf("error = %v, want errors.Is(err, httpx.ErrRetryAfterDeadline)", err)
				}
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("error = %v, want errors.Is(err, context.DeadlineExceeded)", err)
				}
				if errors.Is(err, context.Canceled) {
					t.Errorf("error = %v, want no context.Canceled", err)
				}
				var re *httpx.RetryError
				if !errors.As(err, &re) {
					t.Fatalf("error = %v, want a *httpx.RetryError", err)
				}
				if re.Attempts != 1 || !re.Timeout() {
					t.Errorf("RetryError{Attempts: %d}.Timeout() = %v, want 1 attempt and true", re.Attempts, re.Timeout())
				}
				var ne net.Error
				if !errors.As(err, &ne) || !ne.Timeout() {
					t.Errorf("error = %v, want a net.Error whose Timeout() is true", err)
				}
				if c.viaClient {
					var ue *url.Error
					if !errors.As(err, &ue) || !ue.Timeout() {
						t.Errorf("error = %#v, want a *url.Error whose Timeout() is true", err)
					}
				}

				msg := err.Error()
				for _, want := range []string{tt.wantWait, tt.wantStatus} {
					if !strings.Contains(msg, want) {
						t.Errorf("error = %q, want it to contain %q", msg, want)
					}
				}
				m := leftPattern.FindStringSubmatch(msg)
				if m == nil {
					t.Fatalf("error = %q, want it to name the time left (\"but ... left\")", msg)
				}
				if left, perr := time.ParseDuration(m[1]); perr != nil || left <= 0 || left > timeout {
					t.Errorf("time left in %q = %v (%v), want within (0, %v]", msg, left, perr, timeout)
				}

				if elapsed >= timeout {
					t.Errorf("call returned after %v, want a fast failure before the %v deadline", elapsed, timeout)
				}
				if got := len(srv.Seen()); got != 1 {
					t.Errorf("server saw %d attempts, want 1", got)
				}
			})
		}
	}
}

// TestRetryErrorTimeoutOtherReasons checks that RetryError.Timeout reports
// only the deadline give-up (tested above): not other reasons, nor attempts
// that each ran into AttemptTimeout.
func TestRetryErrorTimeoutOtherReasons(t *testing.T) {
	tests := []struct {
		name string
		err  *httpx.RetryError
	}{
		{name: "attempts exhausted", err: &httpx.RetryError{Attempts: 4, Reason: httpx.ErrAttemptsExhausted, LastStatus: 503}},
		{name: "budget exhausted", err: &httpx.RetryError{Attempts: 1, Reason: httpx.ErrRetryBudgetExhausted, LastStatus: 503}},
		{name: "attempt timeouts exhausted", err: &httpx.RetryError{Attempts: 4, Reason: httpx.ErrAttemptsExhausted, Err: httpx.ErrAttemptTimeout}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Timeout() || errors.Is(tt.err, context.DeadlineExceeded) {
				t.Errorf("(%v).Timeout() = true or matches context.DeadlineExceeded, want neither", tt.err)
			}
		})
	}
}
