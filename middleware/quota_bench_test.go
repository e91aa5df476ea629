package middleware_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// BenchmarkIdempotencyFirstRequestQuota compares a first request (claim,
// handler, completion) without a quota, the baseline, and with both limits
// set, so that every claim and completion also updates the accounting.
func BenchmarkIdempotencyFirstRequestQuota(b *testing.B) {
	quotas := []struct {
		name  string
		quota middleware.Quota
	}{
		{"no-quota", middleware.Quota{}},
		{"quota", middleware.Quota{MaxInFlight: 100, MaxStoredBytes: 1 << 40}},
	}
	for _, st := range benchStores(b) {
		for _, q := range quotas {
			b.Run(st.name+"/"+q.name, func(b *testing.B) {
				cfg := middleware.DefaultIdempotencyConfig(freshStore(st.name, st.store))
				cfg.Scope = func(*http.Request) string { return "bench-user-" + q.name }
				cfg.Quota = q.quota
				mw := middleware.Idempotency(cfg)(jsonHandler)
				w := &benchWriter{h: http.Header{}}
				req := newBenchRequest("x")
				i := 0
				b.ReportAllocs()
				for b.Loop() {
					i++
					req.r.Header["Idempotency-Key"][0] = "bench-quota-" + q.name + strconv.Itoa(i)
					w.reset()
					mw.ServeHTTP(w, req.next())
					if w.status != http.StatusCreated {
						b.Fatalf("status = %d, want 201", w.status)
					}
				}
			})
		}
	}
}

// BenchmarkClaimQuota compares the store's claim alone: Claim (SET NX PX
// GET on Valkey) against ClaimQuota (one script) with an in-flight limit.
func BenchmarkClaimQuota(b *testing.B) {
	for _, st := range benchStores(b) {
		qs := freshStore(st.name, st.store).(middleware.QuotaStore)
		rec := &middleware.Record{State: middleware.StateProcessing, Token: "0123456789abcdef"}
		b.Run(st.name+"/Claim", func(b *testing.B) {
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if _, err := qs.Claim(b.Context(), "idemp:{bench}c"+strconv.Itoa(i), rec, time.Minute); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(st.name+"/ClaimQuota", func(b *testing.B) {
			q := middleware.Quota{MaxInFlight: 1 << 30}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				if _, err := qs.ClaimQuota(b.Context(), "idemp:{bench}", "idemp:{bench}q"+strconv.Itoa(i), rec, time.Minute, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// freshStore returns a new memory store with room for a long benchmark
// (the shared one fills up), or the given Valkey store.
func freshStore(name string, s middleware.Store) middleware.Store {
	if name != "memory" {
		return s
	}
	return middleware.NewMemoryStore(middleware.WithMaxEntries(1<<23), middleware.WithMaxBytes(4<<30))
}
