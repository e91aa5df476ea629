package middleware_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// benchWriter is a ResponseWriter that discards the body and reuses its
// header map, so the harness adds no allocations of its own.
type benchWriter struct {
	h      http.Header
	status int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(s int)           { w.status = s }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) reset() {
	clear(w.h)
	w.status = 0
}

// benchRequest is a reusable POST with a 64-byte JSON body.
type benchRequest struct {
	r    *http.Request
	body *bytes.Reader
	raw  []byte
}

func newBenchRequest(key string) *benchRequest {
	raw := []byte(`{"zone_id":"zone-a","quantity":2,"note":"benchmark request body"}`)
	br := &benchRequest{body: bytes.NewReader(raw), raw: raw}
	br.r, _ = http.NewRequestWithContext(context.Background(), "POST", "/api/v1/bookings/reserve", io.NopCloser(br.body))
	if key != "" {
		br.r.Header.Set("Idempotency-Key", key)
	}
	return br
}

func (br *benchRequest) next() *http.Request {
	br.body.Reset(br.raw)
	return br.r
}

// jsonHandler is the endpoint under test: a small JSON answer.
var jsonHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write([]byte(`{"booking_id":"b-1","status":"RESERVED"}`))
})

// benchStores returns the memory store and a standalone Valkey store, with
// a function that reads Valkey's processed-command counter.
func benchStores(b *testing.B) []struct {
	name     string
	store    middleware.Store
	commands func() int64
} {
	s := valkeytest.StartServer(b)
	commands := func() int64 {
		info, err := s.Do(context.Background(), "INFO", "stats")
		if err != nil {
			b.Fatal(err)
		}
		for line := range strings.SplitSeq(info, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return 0
	}
	return []struct {
		name     string
		store    middleware.Store
		commands func() int64
	}{
		{"memory", middleware.NewMemoryStore(middleware.WithMaxEntries(1<<22), middleware.WithMaxBytes(4<<30)), nil},
		{"valkey", middleware.NewValkeyStore(s.Client(b)), commands},
	}
}

// reportRoundTrips reports store calls per operation — each ValkeyStore
// call is one network round trip — and the commands Valkey executed per
// operation, script-internal ones included (the INFO call itself counts one,
// subtracted).
func reportRoundTrips(b *testing.B, store *countingStore, commands func() int64, before int64) {
	b.ReportMetric(float64(store.calls.Load())/float64(b.N), "store-calls/op")
	if commands != nil {
		b.ReportMetric(float64(commands()-before-1)/float64(b.N), "valkey-cmds/op")
	}
}

func BenchmarkBareHandler(b *testing.B) {
	w := &benchWriter{h: http.Header{}}
	req := newBenchRequest("")
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		jsonHandler.ServeHTTP(w, req.next())
	}
}

func BenchmarkIdempotencyNoKey(b *testing.B) {
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))(jsonHandler)
	w := &benchWriter{h: http.Header{}}
	req := newBenchRequest("")
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		mw.ServeHTTP(w, req.next())
	}
}

func BenchmarkIdempotencyFirstRequest(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			store := &countingStore{Store: st.store}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(store))(jsonHandler)
			w := &benchWriter{h: http.Header{}}
			req := newBenchRequest("x")
			var before int64
			if st.commands != nil {
				before = st.commands()
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				i++
				req.r.Header["Idempotency-Key"][0] = "bench-first-" + strconv.Itoa(i)
				w.reset()
				mw.ServeHTTP(w, req.next())
				if w.status != http.StatusCreated {
					b.Fatalf("status = %d, want 201", w.status)
				}
			}
			reportRoundTrips(b, store, st.commands, before)
		})
	}
}

func BenchmarkIdempotencyReplay(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			store := &countingStore{Store: st.store}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(store))(jsonHandler)
			w := &benchWriter{h: http.Header{}}
			req := newBenchRequest("bench-replay-" + st.name)
			mw.ServeHTTP(w, req.next())
			store.calls.Store(0)
			var before int64
			if st.commands != nil {
				before = st.commands()
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				mw.ServeHTTP(w, req.next())
				if w.status != http.StatusCreated || w.h.Get("Idempotent-Replayed") != "true" {
					b.Fatalf("status = %d, want a 201 replay", w.status)
				}
			}
			reportRoundTrips(b, store, st.commands, before)
		})
	}
}

func BenchmarkIdempotencyInProgress(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			started, release := make(chan struct{}), make(chan struct{})
			blocking := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(started)
				<-release
			})
			store := &countingStore{Store: st.store}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(store))(blocking)
			key := "bench-inprogress-" + st.name
			go mw.ServeHTTP(&benchWriter{h: http.Header{}}, newBenchRequest(key).next())
			<-started
			defer close(release)
			store.calls.Store(0)
			w := &benchWriter{h: http.Header{}}
			req := newBenchRequest(key)
			var before int64
			if st.commands != nil {
				before = st.commands()
			}
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				mw.ServeHTTP(w, req.next())
				if w.status != http.StatusAccepted {
					b.Fatalf("status = %d, want 202", w.status)
				}
			}
			reportRoundTrips(b, store, st.commands, before)
		})
	}
}

func BenchmarkIdempotencyReplayCached(b *testing.B) {
	for _, st := range benchStores(b) {
		b.Run(st.name, func(b *testing.B) {
			store := &countingStore{Store: st.store}
			cfg := middleware.DefaultIdempotencyConfig(store)
			cfg.ReplayCache = middleware.NewReplayCache(10_000, 64<<20)
			mw := middleware.Idempotency(cfg)(jsonHandler)
			w := &benchWriter{h: http.Header{}}
			req := newBenchRequest("bench-replay-cached-" + st.name)
			mw.ServeHTTP(w, req.next())
			store.calls.Store(0)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				mw.ServeHTTP(w, req.next())
				if w.status != http.StatusCreated || w.h.Get("Idempotent-Replayed") != "true" {
					b.Fatalf("status = %d, want a 201 replay", w.status)
				}
			}
			reportRoundTrips(b, store, nil, 0)
		})
	}
}
