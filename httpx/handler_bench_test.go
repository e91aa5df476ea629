package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

// BenchmarkHandlerFunc measures HandlerFunc's success path beside the same
// handler as a plain http.HandlerFunc (its baseline), with an empty header
// map at entry and with headers an outer middleware set.
func BenchmarkHandlerFunc(b *testing.B) {
	body := []byte(`{"booking_id":"b-1","status":"RESERVED"}`)
	ct := []string{"application/json"}[:1:1]
	write := func(w http.ResponseWriter) {
		w.Header()["Content-Type"] = ct
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}
	outer := map[string][]string{
		"Access-Control-Allow-Origin": []string{"https://app.example"}[:1:1],
		"X-Request-Id":                []string{"req-7f3a"}[:1:1],
	}
	r := httptest.NewRequest("POST", "/bookings", nil)
	for _, hc := range []struct {
		name  string
		outer map[string][]string
	}{{"empty", nil}, {"outer-headers", outer}} {
		for _, hh := range []struct {
			name string
			h    http.Handler
		}{
			{"http.HandlerFunc", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { write(w) })},
			{"httpx.HandlerFunc", httpx.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { write(w); return nil })},
		} {
			b.Run(hc.name+"/"+hh.name, func(b *testing.B) {
				w := &nopWriter{h: make(http.Header)}
				b.ReportAllocs()
				for b.Loop() {
					w.reset()
					for k, v := range hc.outer {
						w.h[k] = v
					}
					hh.h.ServeHTTP(w, r)
				}
			})
		}
	}
}
