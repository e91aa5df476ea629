package httpx_test

import (
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		in     string
		want   time.Duration
		wantOK bool
	}{
		{name: "seconds", in: "120", want: 2 * time.Minute, wantOK: true},
		{name: "zero", in: "0", want: 0, wantOK: true},
		{name: "spaces trimmed", in: " 3 ", want: 3 * time.Second, wantOK: true},
		{name: "leading zeros", in: "007", want: 7 * time.Second, wantOK: true},
		{name: "huge clamped", in: "99999999999999999999999", want: time.Duration(math.MaxInt64), wantOK: true},
		{name: "IMF-fixdate future", in: now.Add(90 * time.Second).Format(http.TimeFormat), want: 90 * time.Second, wantOK: true},
		{name: "RFC 850 date", in: "Saturday, 01-Mar-25 12:00:05 GMT", want: 5 * time.Second, wantOK: true},
		{name: "asctime date", in: "Sat Mar  1 12:00:10 2025", want: 10 * time.Second, wantOK: true},
		{name: "past date is 0", in: now.Add(-time.Hour).Format(http.TimeFormat), want: 0, wantOK: true},
		{name: "empty", in: "", wantOK: false},
		{name: "negative", in: "-5", wantOK: false},
		{name: "fraction", in: "1.5", wantOK: false},
		{name: "unit", in: "5s", wantOK: false},
		{name: "garbage", in: "later", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := httpx.ParseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("ParseRetryAfter(%q) = %v, %v, want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
