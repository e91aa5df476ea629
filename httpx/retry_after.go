package httpx

import (
	"math"
	"net/http"
	"strings"
	"time"
)

// maxRetryAfterSeconds keeps seconds·time.Second from overflowing.
const maxRetryAfterSeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter parses a Retry-After header value (RFC 9110 §10.2.3): either
// delay-seconds (a non-negative integer) or an HTTP-date, read relative to now.
// A date in the past yields 0. ok is false for an empty or malformed value.
// Huge second counts are clamped to the largest time.Duration; callers cap
// the result with their own maximum.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if v[0] >= '0' && v[0] <= '9' {
		var n int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			if n <= maxRetryAfterSeconds {
				n = n*10 + int64(c-'0')
			}
		}
		if n > maxRetryAfterSeconds {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d, true
	}
	return 0, true
}
