package middleware_test

import (
	"crypto/rand"
	"net/http"
	"strconv"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// BenchmarkWaitNotifyFirstRequest measures what wait-and-replay costs the
// owner of a key: the notification after its completion (SPUBLISH with
// Valkey), against the same first request with waiting disabled (the
// baseline, MaxWait < 0: no notification).
func BenchmarkWaitNotifyFirstRequest(b *testing.B) {
	for _, st := range benchStores(b) {
		for _, mode := range []struct {
			name    string
			maxWait int64
		}{{"waiting-disabled", -1}, {"waiting-enabled", 0}} {
			b.Run(st.name+"/"+mode.name, func(b *testing.B) {
				cfg := middleware.DefaultIdempotencyConfig(st.store) // the store itself: its Notifier is used
				cfg.Scope = func(*http.Request) string { return "tenant-1" }
				cfg.MaxWait = 0
				if mode.maxWait < 0 {
					cfg.MaxWait = -1
				}
				mw := middleware.Idempotency(cfg)(jsonHandler)
				w := &benchWriter{h: http.Header{}}
				req := newBenchRequest("x")
				var before int64
				if st.commands != nil {
					before = st.commands()
				}
				prefix := "bench-notify-" + rand.Text() + "-" // fresh keys on every run
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					i++
					req.r.Header["Idempotency-Key"][0] = prefix + strconv.Itoa(i)
					w.reset()
					mw.ServeHTTP(w, req.next())
					if w.status != http.StatusCreated {
						b.Fatalf("status = %d, want 201", w.status)
					}
				}
				if st.commands != nil {
					b.ReportMetric(float64(st.commands()-before-1)/float64(b.N), "valkey-cmds/op")
				}
			})
		}
	}
}
