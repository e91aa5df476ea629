package middleware

import (
	"net/http"
	"testing"
	"time"
)

func TestHTTPDatesReuseWithinASecond(t *testing.T) {
	var d httpDates
	paris := time.FixedZone("CET", 3600)
	base := time.Date(2026, 11, 28, 3, 4, 5, 0, paris)
	for _, tc := range []time.Time{
		base,
		base.Add(999 * time.Millisecond), // same second: the cached text
		base.Add(time.Second),
		base.Add(-time.Hour * 24 * 400),
		base.UTC(),
	} {
		if got, want := d.values(tc)[0], tc.UTC().Format(http.TimeFormat); got != want {
			t.Errorf("values(%v) = %q, want %q", tc, got, want)
		}
	}
	v := d.values(base)
	if cap(v) != 1 || len(v) != 1 {
		t.Errorf("values() len %d cap %d, want 1 and 1: the slice is shared, an append must copy it", len(v), cap(v))
	}
	if &d.values(base.Add(time.Millisecond))[0] != &v[0] {
		t.Error("values() within one second returned a new slice, want the shared one")
	}
}
