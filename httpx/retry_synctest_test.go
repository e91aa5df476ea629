package httpx_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// fakeBase is an in-memory base transport: no network, so the tests
// below can run in a synctest bubble where time is fake and the real
// timers of the retry transport are used.
type fakeBase func(*http.Request) (*http.Response, error)

func (f fakeBase) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func cannedResponse(r *http.Request, status int, header ...string) *http.Response {
	h := http.Header{}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader("")), Request: r}
}

func TestRetryAfterWaitedSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		base := fakeBase(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return cannedResponse(r, 503, "Retry-After", "2"), nil
			}
			return cannedResponse(r, 200), nil
		})
		rt := httpx.NewRetryTransport(base, httpx.RetryPolicy{BaseDelay: time.Millisecond})
		start := time.Now()
		req, _ := http.NewRequest("GET", "http://example.test/", nil)
		resp, err := rt.RoundTrip(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("RoundTrip() = %v, %v, want 200", resp, err)
		}
		if got := time.Since(start); got != 2*time.Second {
			t.Errorf("RoundTrip() took %v, want exactly the 2s of Retry-After", got)
		}
	})
}

func TestRetryContextCancelStopsWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		base := fakeBase(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return cannedResponse(r, 503, "Retry-After", "20"), nil
		})
		rt := httpx.NewRetryTransport(base, httpx.RetryPolicy{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://example.test/", nil)
		_, err := rt.RoundTrip(req)
		var re *httpx.RetryError
		if !errors.Is(err, context.Canceled) || errors.As(err, &re) {
			t.Errorf("RoundTrip() error = %v, want context.Canceled (not a *RetryError)", err)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("RoundTrip() returned after %v, want 1s (when the context was cancelled)", got)
		}
		if n.Load() != 1 {
			t.Errorf("attempts = %d, want 1", n.Load())
		}
	})
}

func TestRetryContextDeadlineDuringAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		base := fakeBase(func(r *http.Request) (*http.Response, error) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		})
		rt := httpx.NewRetryTransport(base, httpx.RetryPolicy{})
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", "http://example.test/", nil)
		_, err := rt.RoundTrip(req)
		var re *httpx.RetryError
		if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &re) {
			t.Errorf("RoundTrip() error = %v, want context.DeadlineExceeded (not a *RetryError)", err)
		}
	})
}

func TestRetryContextCancelledBeforeStart(t *testing.T) {
	var n atomic.Int64
	base := fakeBase(func(r *http.Request) (*http.Response, error) { n.Add(1); return cannedResponse(r, 200), nil })
	rt := httpx.NewRetryTransport(base, httpx.RetryPolicy{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	body := &closeTracker{Reader: strings.NewReader("x")}
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://example.test/", body)
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("x")), nil }
	if _, err := rt.RoundTrip(req); !errors.Is(err, context.Canceled) {
		t.Errorf("RoundTrip() error = %v, want context.Canceled", err)
	}
	if n.Load() != 0 || !body.closed {
		t.Errorf("attempts = %d, body closed = %v; want 0 attempts and the body closed", n.Load(), body.closed)
	}
}

type closeTracker struct {
	io.Reader
	closed bool
}

func (c *closeTracker) Close() error { c.closed = true; return nil }

func TestRetryAttemptTimeoutSynctest(t *testing.T) {
	tests := []struct {
		name      string
		hangs     int64 // attempts that hang before one answers
		wantErrIs error
	}{
		{name: "first attempt times out, second answers", hangs: 1},
		{name: "every attempt times out", hangs: 99, wantErrIs: httpx.ErrAttemptTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int64
				base := fakeBase(func(r *http.Request) (*http.Response, error) {
					if n.Add(1) <= tt.hangs {
						<-r.Context().Done()
						return nil, r.Context().Err()
					}
					return cannedResponse(r, 201), nil
				})
				rt := httpx.NewRetryTransport(base, httpx.RetryPolicy{AttemptTimeout: 100 * time.Millisecond, MaxAttempts: 3})
				req, _ := http.NewRequest("POST", "http://example.test/", strings.NewReader("x"))
				resp, err := rt.RoundTrip(req)
				if tt.wantErrIs != nil {
					var re *httpx.RetryError
					if !errors.Is(err, tt.wantErrIs) || !errors.As(err, &re) || re.Attempts != 3 {
						t.Fatalf("RoundTrip() error = %v, want a *RetryError after 3 attempts wrapping %v", err, tt.wantErrIs)
					}
					if errors.Is(err, context.Canceled) {
						t.Errorf("RoundTrip() error = %v, want no context.Canceled (the caller cancelled nothing)", err)
					}
					return
				}
				if err != nil || resp.StatusCode != 201 {
					t.Fatalf("RoundTrip() = %v, %v, want 201", resp, err)
				}
				// The response body stays readable: the attempt's timer no
				// longer applies once headers have arrived.
				time.Sleep(time.Second)
				if _, err := io.ReadAll(resp.Body); err != nil {
					t.Errorf("reading body after the attempt timeout: %v", err)
				}
				resp.Body.Close()
			})
		})
	}
}

func TestRetryBudgetRefillsOverTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		base := fakeBase(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return cannedResponse(r, 503), nil
		})
		p := httpx.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: time.Millisecond,
			Budget: httpx.RetryBudget{Ratio: 0.01, MinPerSecond: 1, Burst: 2}}
		rt := httpx.NewRetryTransport(base, p)
		send := func() error {
			req, _ := http.NewRequest("GET", "http://example.test/", nil)
			_, err := rt.RoundTrip(req)
			return err
		}
		for i, want := range []error{httpx.ErrAttemptsExhausted, httpx.ErrAttemptsExhausted, httpx.ErrRetryBudgetExhausted} {
			if err := send(); !errors.Is(err, want) {
				t.Fatalf("request %d: RoundTrip() error = %v, want %v", i+1, err, want)
			}
		}
		time.Sleep(time.Second) // MinPerSecond gives a token back
		if err := send(); !errors.Is(err, httpx.ErrAttemptsExhausted) {
			t.Errorf("after 1s: RoundTrip() error = %v, want a retry (ErrAttemptsExhausted)", err)
		}
	})
}
