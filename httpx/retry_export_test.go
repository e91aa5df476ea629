package httpx

import (
	"context"
	"net/http"
	"time"
)

// SetRetryClock replaces the clock and the sleep of a transport made by
// NewRetryTransport, so tests never wait for real.
func SetRetryClock(rt http.RoundTripper, now func() time.Time, sleep func(context.Context, time.Duration) error) {
	t := rt.(*retryTransport)
	t.now, t.sleep = now, sleep
}

// SetRetryJitter replaces the full-jitter function of a transport made by
// NewRetryTransport.
func SetRetryJitter(rt http.RoundTripper, jitter func(ceiling time.Duration) time.Duration) {
	rt.(*retryTransport).jitter = jitter
}
