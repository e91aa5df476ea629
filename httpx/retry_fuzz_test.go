package httpx_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, s := range []string{"0", "1", "120", " 7 ", "-1", "1.5", "", "99999999999999999999",
		now.Add(time.Minute).Format(http.TimeFormat), "Saturday, 01-Mar-25 12:00:05 GMT",
		"Sat Mar  1 12:00:10 2025", "Mon, 02 Jan 2006 15:04:05 GMT"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := httpx.ParseRetryAfter(s, now)
		if d < 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, want >= 0", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v, false, want 0 when not ok", s, d)
		}
		v := strings.TrimSpace(s)
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && v != "" && v[0] != '-' && v[0] != '+' {
			if !ok {
				t.Fatalf("ParseRetryAfter(%q) not ok, want delay-seconds accepted", s)
			}
			if n < 1<<33 && d != time.Duration(n)*time.Second {
				t.Fatalf("ParseRetryAfter(%q) = %v, want %ds", s, d, n)
			}
		}
		if ok && d > 0 {
			if tm, err := http.ParseTime(v); err == nil && !tm.After(now) {
				t.Fatalf("ParseRetryAfter(%q) = %v for a past date, want 0", s, d)
			}
		}
	})
}
