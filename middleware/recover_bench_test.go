package middleware_test

import (
	"net/http"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// outerHeaders are headers an outer middleware (CORS, RequestID) set before
// the handler runs. The values are capped slices assigned directly, so
// setting them costs the harness no allocation.
var outerHeaders = map[string][]string{
	"Access-Control-Allow-Origin": []string{"https://app.example"}[:1:1],
	"X-Request-Id":                []string{"req-7f3a"}[:1:1],
}

// BenchmarkRecover measures Recover's no-panic path beside the bare handler
// (its baseline), with an empty header map at entry and with headers an
// outer middleware set.
func BenchmarkRecover(b *testing.B) {
	for _, hc := range []struct {
		name  string
		outer map[string][]string
	}{{"empty", nil}, {"outer-headers", outerHeaders}} {
		for _, hh := range []struct {
			name string
			h    http.Handler
		}{{"bare", jsonHandler}, {"recover", middleware.Recover(jsonHandler)}} {
			b.Run(hc.name+"/"+hh.name, func(b *testing.B) {
				w := &benchWriter{h: http.Header{}}
				req := newBenchRequest("")
				b.ReportAllocs()
				for b.Loop() {
					w.reset()
					for k, v := range hc.outer {
						w.h[k] = v
					}
					hh.h.ServeHTTP(w, req.next())
				}
			})
		}
	}
}
