package loadbench_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/loadbench"
	"github.com/idemkit/idemkit/middleware"
)

var flagMemKeys = flag.Int("loadbench.memkeys", 1_000_000, "distinct keys of the memory store check")

// fakeClock is a clock the test moves forward, so a million records can
// expire at once without waiting a day.
type fakeClock struct {
	base time.Time
	off  atomic.Int64
}

func (c *fakeClock) Now() time.Time          { return c.base.Add(time.Duration(c.off.Load())) }
func (c *fakeClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// memPhase is what one phase of the memory store check measured.
type memPhase struct {
	name       string
	ops        int // keys claimed and completed
	wall       time.Duration
	cpu        time.Duration // process user+system time
	p50, p99   time.Duration // Claim latency
	p999, pMax time.Duration
	heapInuse  uint64 // after a full GC
	records    int
	storeBytes int64
	gcs        uint32
	gcPause    time.Duration
}

// TestMemoryStoreMillionKeys is the memory store check of issue 9: a
// million distinct keys claimed and completed (bounded memory), then a
// million more after the first million expired, so that every write also
// sweeps expired records (Claim latency while sweeping). It prints a
// Markdown table.
func TestMemoryStoreMillionKeys(t *testing.T) {
	if os.Getenv(loadEnv) != "1" {
		t.Skipf("memory store check: set %s=1 (make bench-load)", loadEnv)
	}
	n := *flagMemKeys
	clock := &fakeClock{base: time.Now()}
	// Bounded at n records: the second million only fits because expired
	// records are swept as it goes.
	store := middleware.NewMemoryStore(middleware.WithMaxEntries(n), middleware.WithMaxBytes(1<<30),
		middleware.WithClock(clock.Now))
	workers := runtime.GOMAXPROCS(0)

	var phases []memPhase
	baseline := heapAfterGC()
	phases = append(phases, runMemPhase(t, "fill: 1M new keys", store, clock, n, workers, "a"))

	// Full of live records: one more claim must be refused, not evict.
	fullStart := time.Now()
	_, err := store.Claim(context.Background(), "idemp:one-too-many", processingRecord(clock), time.Minute)
	fullLatency := time.Since(fullStart)
	if !errors.Is(err, middleware.ErrStoreFull) {
		t.Errorf("Claim on a store full of live records = %v, want ErrStoreFull", err)
	}

	clock.Advance(middleware.DefaultCompletedTTL + time.Hour) // every record expires
	phases = append(phases, runMemPhase(t, "1M more new keys while the first 1M expire (sweeping)", store, clock, n, workers, "b"))

	var out bytes.Buffer
	w := io.MultiWriter(os.Stdout, &out)
	fmt.Fprintf(w, "\n## Memory store under %d distinct keys\n\n", n)
	fmt.Fprintf(w, "MemoryStore with WithMaxEntries(%d), WithMaxBytes(1 GiB); each key is claimed (processing record) then completed "+
		"(201, Content-Type, %d-byte body, CompletedTTL 24h) by %d goroutines (GOMAXPROCS); heap measured after a full GC "+
		"(baseline before the store was filled: %.1f MiB).\n\n", n, len(loadbench.ResponseBody), workers, mib(baseline))
	fmt.Fprintln(w, "| phase | keys | wall | CPU µs per key | Claim p50 | Claim p99 | Claim p99.9 | Claim max | records held | heap in use | heap per record | store-accounted bytes per record | GCs (total pause) |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, p := range phases {
		fmt.Fprintf(w, "| %s | %d | %v | %.2f | %v | %v | %v | %v | %d | %.1f MiB | %.0f B | %.0f B | %d (%v) |\n",
			p.name, p.ops, p.wall.Round(time.Millisecond), float64(p.cpu)/float64(time.Microsecond)/float64(p.ops),
			p.p50, p.p99, p.p999, p.pMax,
			p.records, mib(p.heapInuse), float64(p.heapInuse-min(baseline, p.heapInuse))/float64(max(p.records, 1)),
			float64(p.storeBytes)/float64(max(p.records, 1)), p.gcs, p.gcPause.Round(time.Microsecond))
	}
	fmt.Fprintf(w, "\nA claim on the store full of live records answered ErrStoreFull in %v (no eviction of live records).\n", fullLatency)
	appendOut(t, out.Bytes())
}

// runMemPhase claims and completes n new keys with the given key prefix
// from workers goroutines, timing every Claim.
func runMemPhase(t *testing.T, name string, store *middleware.MemoryStore, clock *fakeClock, n, workers int, prefix string) memPhase {
	t.Helper()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	start := time.Now()

	lats := make([][]time.Duration, workers)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	per := n / workers
	for w := range workers {
		lats[w] = make([]time.Duration, 0, per)
		wg.Go(func() {
			ctx := context.Background()
			body := []byte(loadbench.ResponseBody)
			header := http.Header{"Content-Type": {"application/json"}}
			for i := range per {
				key := "idemp:" + prefix + strconv.Itoa(w) + "-" + strconv.Itoa(i) + "-0123456789abcdef0123456789abcdef"
				rec := processingRecord(clock)
				t0 := time.Now()
				existing, err := store.Claim(ctx, key, rec, middleware.DefaultProcessingTTL)
				lats[w] = append(lats[w], time.Since(t0))
				if err == nil && existing != nil {
					err = fmt.Errorf("Claim(%q) found a record for a new key", key)
				}
				if err == nil {
					done := &middleware.Record{State: middleware.StateCompleted, Fingerprint: rec.Fingerprint, Status: http.StatusCreated,
						Header: header, Body: body, ExpiresAt: clock.Now().Add(middleware.DefaultCompletedTTL)}
					err = store.Complete(ctx, key, rec.Token, done, middleware.DefaultCompletedTTL)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	p := memPhase{name: name, ops: per * workers, wall: time.Since(start), cpu: processCPU() - cpu0}
	if f := failed.Load(); f > 0 {
		t.Errorf("%s: %d of %d keys failed, first: %v", name, f, p.ops, firstErr.Load())
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	p.p50, p.p99, p.p999, p.pMax = pct(all, 50), pct(all, 99), pct(all, 99.9), pct(all, 100)
	runtime.ReadMemStats(&ms1)
	p.gcs = ms1.NumGC - ms0.NumGC
	p.gcPause = time.Duration(ms1.PauseTotalNs - ms0.PauseTotalNs)
	p.heapInuse = heapAfterGC()
	p.records = store.Len()
	p.storeBytes = store.Bytes()
	return p
}

func processingRecord(clock *fakeClock) *middleware.Record {
	var fp [32]byte
	copy(fp[:], "fingerprint of the request body.")
	return &middleware.Record{State: middleware.StateProcessing, Token: "0123456789abcdef", Fingerprint: fp,
		ExpiresAt: clock.Now().Add(middleware.DefaultProcessingTTL)}
}

func heapAfterGC() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return rusageTime(ru)
}

// pct returns the p-th percentile of sorted latencies.
func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
