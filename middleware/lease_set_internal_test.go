package middleware

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// extendCounter is a Store that counts Extend calls per key; Claim,
// Complete and Release are not used by these tests.
type extendCounter struct {
	Store
	mu    sync.Mutex
	calls map[string]int
}

func (s *extendCounter) Extend(_ context.Context, key, _ string, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[key]++
	return nil
}

func (s *extendCounter) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[key]
}

func newLeaseTestMiddleware(t *testing.T, ttl time.Duration) (*idempotency, *extendCounter) {
	t.Helper()
	store := &extendCounter{Store: NewMemoryStore(), calls: map[string]int{}}
	cfg := DefaultIdempotencyConfig(store)
	cfg.ProcessingTTL = ttl
	return newIdempotency(cfg), store
}

func startTestLease(m *idempotency, key string) *lease {
	c := &claimed{Lease: Lease{Key: key, Token: "t-" + key}, at: time.Now()}
	return m.startLease(nil, c)
}

// awaitLeases polls cond, every 1ms, 2ms, 4ms ... up to 50ms, until it
// holds, failing the test after patience: renewals run on the set's timer
// and goroutines of their own, which a busy machine may run late.
func awaitLeases(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(pause)
	}
}

// isRenewing reports whether a renewal of l was started and has not ended.
func (l *lease) isRenewing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.renewing
}

// A lease held past its renewal interval is renewed, repeatedly, until
// it stops; one stopped early is never renewed; and with no lease left the
// set's timer stops setting itself again.
func TestLeaseSetRenewsOnlyRunningLeases(t *testing.T) {
	m, store := newLeaseTestMiddleware(t, 120*time.Millisecond) // renewal every 40ms, tick 10ms
	long := startTestLease(m, "idemp:long")
	begun := time.Now()
	short := startTestLease(m, "idemp:short")
	short.stop()
	// Stopped before its first renewal was due, unless the machine paused
	// this goroutine for longer than that.
	stoppedEarly := time.Since(begun) < m.renewEvery
	awaitLeases(t, "the running lease renewed twice", func() bool { return store.count("idemp:long") >= 2 })
	long.stop()
	// A renewal started before stop may still be running: let it end.
	awaitLeases(t, "the last renewal ended", func() bool { return !long.isRenewing() })
	renewed := store.count("idemp:long")
	if got := store.count("idemp:short"); got != 0 && stoppedEarly {
		t.Errorf("a lease stopped at once was renewed %d times, want 0", got)
	}
	awaitLeases(t, "the set's timer disarmed with no lease running", func() bool { return !m.leases.armed.Load() })
	time.Sleep(100 * time.Millisecond) // room for a renewal that must not come (several intervals)
	if got := store.count("idemp:long"); got != renewed {
		t.Errorf("renewals went on after stop: %d, then %d", renewed, got)
	}
	if m.leases.armed.Load() {
		t.Error("the set's timer armed itself again with no lease running")
	}
}

// Many goroutines start and stop leases while the timer scans; the long
// ones among them must all be renewed (run with -race). This also covers
// the hand-over between a scan that finds the set empty and a lease added
// at that moment: every long lease is renewed, so none was left without a
// timer.
func TestLeaseSetConcurrentStartStop(t *testing.T) {
	m, store := newLeaseTestMiddleware(t, 60*time.Millisecond) // renewal every 20ms, tick 5ms
	var wg sync.WaitGroup
	var long atomic.Int64
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				key := "idemp:" + strconv.Itoa(g) + "-" + strconv.Itoa(i)
				l := startTestLease(m, key)
				if i%50 == 0 { // held until renewed, however late the renewal
					deadline := time.Now().Add(patience)
					for store.count(key) == 0 && time.Now().Before(deadline) {
						time.Sleep(5 * time.Millisecond)
					}
					l.stop()
					if store.count(key) == 0 {
						t.Errorf("lease %s held for %v was never renewed", key, patience)
					}
					long.Add(1)
					continue
				}
				l.stop()
			}
		})
	}
	wg.Wait()
	if long.Load() != 8*6 {
		t.Fatalf("long leases = %d, want %d", long.Load(), 8*6)
	}
	for i := range m.leases.shards {
		if h := m.leases.shards[i].head; h != nil {
			t.Errorf("shard %d still holds lease %q after every lease stopped", i, h.key)
		}
	}
}
