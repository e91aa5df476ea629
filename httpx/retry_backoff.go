package httpx

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// backoffCeiling returns base·2^(n-1) capped by maxDelay, for the n-th wait
// (n ≥ 1), without overflowing.
func backoffCeiling(base, maxDelay time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n; i++ {
		if d >= maxDelay/2 {
			return maxDelay
		}
		d *= 2
	}
	return min(d, maxDelay)
}

// fullJitter returns a uniformly random duration in [0, ceiling].
func fullJitter(ceiling time.Duration) time.Duration {
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling + 1)
}

// waitFor returns the wait before the next attempt after the n-th retry or
// poll (n ≥ 1): the larger of the response's Retry-After and the jittered
// backoff, capped by MaxDelay. fromHeader reports whether Retry-After set it.
func (t *retryTransport) waitFor(n int, resp *http.Response, now time.Time) (d time.Duration, fromHeader bool) {
	d = t.jitter(backoffCeiling(t.p.BaseDelay, t.p.MaxDelay, n))
	if resp != nil {
		if ra, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), now); ok && ra >= d {
			d, fromHeader = ra, true
		}
	}
	return min(d, t.p.MaxDelay), fromHeader
}
