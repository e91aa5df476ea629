package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
	"github.com/idemkit/idemkit/middleware/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func(*testing.T) middleware.Store { return middleware.NewMemoryStore() })
}

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.UnixMilli(1_700_000_000_000)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func processingRecord(token string) *middleware.Record {
	return &middleware.Record{State: middleware.StateProcessing, Token: token}
}

func completedRecord(token string, body []byte) *middleware.Record {
	return &middleware.Record{
		State:  middleware.StateCompleted,
		Token:  token,
		Status: http.StatusCreated,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   body,
	}
}

// claimState claims key with a probe token and returns "acquired", or the
// state and token of the record it found.
func claimState(t *testing.T, s middleware.Store, key string, ttl time.Duration) string {
	t.Helper()
	got, err := s.Claim(context.Background(), key, processingRecord("probe"), ttl)
	switch {
	case err != nil:
		return "error: " + err.Error()
	case got == nil:
		return "acquired"
	default:
		return got.State.String() + " " + got.Token
	}
}

func TestMemoryStoreExpiresExactlyAtTTL(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		complete bool
		want     string
	}{
		{"processing", false, "processing A"},
		{"completed", true, "completed A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newFakeClock()
			s := middleware.NewMemoryStore(middleware.WithClock(clock.Now))
			if got, err := s.Claim(ctx, "k", processingRecord("A"), time.Minute); got != nil || err != nil {
				t.Fatalf("Claim(k) = %+v, %v, want nil, nil", got, err)
			}
			ttl := time.Minute
			if tt.complete {
				ttl = time.Hour
				if err := s.Complete(ctx, "k", "A", completedRecord("A", []byte("ok")), ttl); err != nil {
					t.Fatalf("Complete(k, A) = %v, want nil", err)
				}
			}
			clock.Advance(ttl - time.Nanosecond)
			if got := claimState(t, s, "k", time.Second); got != tt.want {
				t.Fatalf("Claim(k) just before expiry = %q, want %q", got, tt.want)
			}
			clock.Advance(time.Nanosecond)
			if err := s.Extend(ctx, "k", "A", time.Hour); !errors.Is(err, middleware.ErrLeaseLost) {
				t.Errorf("Extend(k, A) at expiry = %v, want ErrLeaseLost", err)
			}
			if got := claimState(t, s, "k", time.Second); got != "acquired" {
				t.Errorf("Claim(k) at expiry = %q, want %q", got, "acquired")
			}
		})
	}
}

func TestMemoryStoreExtendMovesExpiresAt(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := middleware.NewMemoryStore(middleware.WithClock(clock.Now))
	rec := processingRecord("A")
	rec.ExpiresAt = clock.Now().Add(time.Second)
	if got, err := s.Claim(ctx, "k", rec, time.Second); got != nil || err != nil {
		t.Fatalf("Claim(k) = %+v, %v, want nil, nil", got, err)
	}
	clock.Advance(900 * time.Millisecond)
	if err := s.Extend(ctx, "k", "A", 5*time.Second); err != nil {
		t.Fatalf("Extend(k, A, 5s) = %v, want nil", err)
	}
	want := clock.Now().Add(5 * time.Second)
	clock.Advance(4 * time.Second)
	got, err := s.Claim(ctx, "k", processingRecord("B"), time.Second)
	if err != nil || got == nil {
		t.Fatalf("Claim(k) 4.9s after a 1s claim extended by 5s = %+v, %v, want the record", got, err)
	}
	if !got.ExpiresAt.Equal(want) {
		t.Errorf("Claim(k).ExpiresAt = %v, want %v (clock + ttl at Extend)", got.ExpiresAt, want)
	}
}

func TestMemoryStoreMaxEntries(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := middleware.NewMemoryStore(middleware.WithMaxEntries(3), middleware.WithClock(clock.Now))
	for i, ttl := range []time.Duration{time.Second, time.Minute, time.Minute} {
		key := "k" + strconv.Itoa(i)
		if got, err := s.Claim(ctx, key, processingRecord("A"), ttl); got != nil || err != nil {
			t.Fatalf("Claim(%s) = %+v, %v, want nil, nil", key, got, err)
		}
	}
	if got, err := s.Claim(ctx, "k3", processingRecord("A"), time.Minute); !errors.Is(err, middleware.ErrStoreFull) {
		t.Fatalf("Claim(k3) on a full store = %+v, %v, want ErrStoreFull", got, err)
	}
	// Live records are never evicted, and existing keys still answer.
	for i := range 3 {
		key := "k" + strconv.Itoa(i)
		if got := claimState(t, s, key, time.Minute); got != "processing A" {
			t.Errorf("Claim(%s) on a full store = %q, want %q", key, got, "processing A")
		}
	}
	clock.Advance(time.Second) // k0 expires: its slot frees up
	if got := claimState(t, s, "k3", time.Minute); got != "acquired" {
		t.Errorf("Claim(k3) after k0 expired = %q, want %q", got, "acquired")
	}
	if got := s.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
	if err := s.Release(ctx, "k1", "A"); err != nil {
		t.Fatalf("Release(k1, A) = %v, want nil", err)
	}
	if got := claimState(t, s, "k4", time.Minute); got != "acquired" {
		t.Errorf("Claim(k4) after a release = %q, want %q", got, "acquired")
	}
}

func TestMemoryStoreMaxBytes(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := middleware.NewMemoryStore(middleware.WithMaxBytes(2048), middleware.WithClock(clock.Now))
	if got, err := s.Claim(ctx, "k", processingRecord("A"), time.Minute); got != nil || err != nil {
		t.Fatalf("Claim(k) = %+v, %v, want nil, nil", got, err)
	}
	before := s.Bytes()
	big := completedRecord("A", bytes.Repeat([]byte("x"), 4096))
	if err := s.Complete(ctx, "k", "A", big, time.Hour); !errors.Is(err, middleware.ErrStoreFull) {
		t.Fatalf("Complete(k, 4 KiB body) with 2 KiB limit = %v, want ErrStoreFull", err)
	}
	if got := claimState(t, s, "k", time.Minute); got != "processing A" {
		t.Errorf("Claim(k) after a Complete that did not fit = %q, want %q", got, "processing A")
	}
	if got := s.Bytes(); got != before {
		t.Errorf("Bytes() after a failed Complete = %d, want %d", got, before)
	}
	small := completedRecord("A", []byte("ok"))
	if err := s.Complete(ctx, "k", "A", small, time.Hour); err != nil {
		t.Fatalf("Complete(k, small body) = %v, want nil", err)
	}
	// Fill the rest with processing records until the byte limit refuses one.
	var full bool
	for i := range 100 {
		_, err := s.Claim(ctx, "p"+strconv.Itoa(i), processingRecord("B"), time.Minute)
		if errors.Is(err, middleware.ErrStoreFull) {
			full = true
			break
		}
		if err != nil {
			t.Fatalf("Claim(p%d) = %v", i, err)
		}
	}
	if !full {
		t.Fatalf("100 claims under a 2 KiB limit never returned ErrStoreFull (Bytes() = %d)", s.Bytes())
	}
	if got := s.Bytes(); got > 2048 {
		t.Errorf("Bytes() = %d, want <= 2048", got)
	}
	clock.Advance(time.Minute) // the processing records expire; k (completed) stays
	if got := claimState(t, s, "fresh", time.Minute); got != "acquired" {
		t.Errorf("Claim(fresh) after expiry = %q, want %q", got, "acquired")
	}
	if got := claimState(t, s, "k", time.Minute); got != "completed A" {
		t.Errorf("Claim(k) = %q, want %q", got, "completed A")
	}
}

func TestMemoryStoreSweepsOnWrite(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := middleware.NewMemoryStore(middleware.WithClock(clock.Now))
	const n = 1000
	for i := range n {
		if _, err := s.Claim(ctx, "old"+strconv.Itoa(i), processingRecord("A"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Len(); got != n {
		t.Fatalf("Len() = %d, want %d", got, n)
	}
	clock.Advance(time.Second)
	// Each write removes a few expired records of its shard, so writes
	// reclaim the expired records without a full sweep or a goroutine.
	for i := range 2 * n {
		if _, err := s.Claim(ctx, "new"+strconv.Itoa(i), processingRecord("B"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Len(); got != 2*n {
		t.Errorf("Len() after %d writes over %d expired records = %d, want %d", 2*n, n, got, 2*n)
	}
}

func TestMemoryStoreFullSweepBeforeFull(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	const n = 500
	s := middleware.NewMemoryStore(middleware.WithMaxEntries(n), middleware.WithClock(clock.Now))
	for i := range n {
		if _, err := s.Claim(ctx, "old"+strconv.Itoa(i), processingRecord("A"), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(time.Second)
	// Writes concentrated on few keys cannot sweep every shard on their
	// own: a claim that finds the store full sweeps all shards first.
	for i := range n {
		if got := claimState(t, s, "new"+strconv.Itoa(i), time.Minute); got != "acquired" {
			t.Fatalf("Claim(new%d) with %d expired records = %q, want %q", i, n, got, "acquired")
		}
	}
	if got := s.Len(); got != n {
		t.Errorf("Len() = %d, want %d", got, n)
	}
}

func TestMemoryStoreAccountingUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	clock := newFakeClock()
	s := middleware.NewMemoryStore(middleware.WithMaxEntries(64), middleware.WithClock(clock.Now))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				key := fmt.Sprintf("k%d", (g*7+i)%100)
				token := fmt.Sprintf("t%d-%d", g, i)
				got, err := s.Claim(ctx, key, processingRecord(token), time.Second)
				if err != nil || got != nil {
					if i%50 == 0 {
						clock.Advance(time.Second)
					}
					continue
				}
				_ = s.Extend(ctx, key, token, 2*time.Second)
				switch i % 3 {
				case 0:
					_ = s.Release(ctx, key, token)
				case 1:
					_ = s.Complete(ctx, key, token, completedRecord(token, []byte(key)), time.Second)
				}
			}
		})
	}
	wg.Wait()
	clock.Advance(time.Hour)
	// Claim every key once (replacing what expired) and release it: the
	// accounting must return to exactly zero.
	for i := range 100 {
		key := fmt.Sprintf("k%d", i)
		if got := claimState(t, s, key, time.Minute); got != "acquired" {
			t.Fatalf("Claim(%s) after all expired = %q, want %q", key, got, "acquired")
		}
		if err := s.Release(ctx, key, "probe"); err != nil {
			t.Fatalf("Release(%s, probe) = %v, want nil", key, err)
		}
	}
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Errorf("after every record expired or was released: Len() = %d, Bytes() = %d, want 0, 0", s.Len(), s.Bytes())
	}
}

func TestMemoryStoreInvalidInput(t *testing.T) {
	ctx := context.Background()
	s := middleware.NewMemoryStore()
	tests := []struct {
		name string
		err  error
	}{
		{"zero ttl", func() error { _, err := s.Claim(ctx, "k", processingRecord("A"), 0); return err }()},
		{"sub-millisecond ttl", func() error { _, err := s.Claim(ctx, "k", processingRecord("A"), time.Microsecond); return err }()},
		{"nil record", func() error { _, err := s.Claim(ctx, "k", nil, time.Second); return err }()},
		{"state zero", func() error { _, err := s.Claim(ctx, "k", &middleware.Record{}, time.Second); return err }()},
		{"extend zero ttl", s.Extend(ctx, "k", "A", 0)},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: error = nil, want an error", tt.name)
		}
	}
	if got := s.Len(); got != 0 {
		t.Errorf("Len() after rejected input = %d, want 0", got)
	}
}

func TestMemoryStoreOptionsPanic(t *testing.T) {
	tests := map[string]func(){
		"WithMaxEntries(0)": func() { middleware.WithMaxEntries(0) },
		"WithMaxBytes(-1)":  func() { middleware.WithMaxBytes(-1) },
		"WithClock(nil)":    func() { middleware.WithClock(nil) },
	}
	for name, f := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			f()
		})
	}
}

func ExampleNewMemoryStore() {
	ctx := context.Background()
	store := middleware.NewMemoryStore(middleware.WithMaxEntries(10_000), middleware.WithMaxBytes(16<<20))

	first := &middleware.Record{State: middleware.StateProcessing, Token: "owner-1"}
	existing, err := store.Claim(ctx, "idemp:abc", first, time.Minute)
	fmt.Println("first claim acquired:", existing == nil && err == nil)

	existing, _ = store.Claim(ctx, "idemp:abc", &middleware.Record{State: middleware.StateProcessing, Token: "owner-2"}, time.Minute)
	fmt.Println("retry sees:", existing.State, existing.Token)

	err = store.Release(ctx, "idemp:abc", "owner-2")
	fmt.Println("release by another token:", err)
	// Output:
	// first claim acquired: true
	// retry sees: processing owner-1
	// release by another token: idempotency: lease lost
}

// benchClock advances by step on every reading, so records written with a
// time to live of step expire by the next operation.
type benchClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("idemp:%064x", i)
	}
	return keys
}

func benchBody() []byte { return bytes.Repeat([]byte("x"), 512) }

// BenchmarkMemoryStoreClaim claims a new key each time, in a steady state
// where the records written before expire and are swept.
func BenchmarkMemoryStoreClaim(b *testing.B) {
	ctx := context.Background()
	clock := &benchClock{t: time.Now(), step: time.Millisecond}
	s := middleware.NewMemoryStore(middleware.WithClock(clock.Now))
	keys := benchKeys(1 << 16)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if got, err := s.Claim(ctx, keys[i&(len(keys)-1)], rec, 10*time.Millisecond); err != nil || got != nil {
			b.Fatalf("Claim = %+v, %v", got, err)
		}
		i++
	}
}

// BenchmarkMemoryStoreClaimExisting is a replay: the claim returns a
// completed record with a 512-byte body.
func BenchmarkMemoryStoreClaimExisting(b *testing.B) {
	ctx := context.Background()
	s := middleware.NewMemoryStore()
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	if _, err := s.Claim(ctx, "k", rec, time.Hour); err != nil {
		b.Fatal(err)
	}
	if err := s.Complete(ctx, "k", rec.Token, completedRecord(rec.Token, benchBody()), time.Hour); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if got, err := s.Claim(ctx, "k", rec, time.Hour); err != nil || got == nil {
			b.Fatalf("Claim = %+v, %v", got, err)
		}
	}
}

// BenchmarkMemoryStoreComplete measures Complete with a 512-byte body; each
// iteration first claims a new key (see BenchmarkMemoryStoreClaim).
func BenchmarkMemoryStoreComplete(b *testing.B) {
	ctx := context.Background()
	clock := &benchClock{t: time.Now(), step: time.Millisecond}
	s := middleware.NewMemoryStore(middleware.WithClock(clock.Now))
	keys := benchKeys(1 << 16)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	done := completedRecord(rec.Token, benchBody())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		key := keys[i&(len(keys)-1)]
		if _, err := s.Claim(ctx, key, rec, 10*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, key, rec.Token, done, 10*time.Millisecond); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkMemoryStoreClaimParallel claims new keys from all goroutines,
// measuring shard lock contention.
func BenchmarkMemoryStoreClaimParallel(b *testing.B) {
	ctx := context.Background()
	s := middleware.NewMemoryStore(middleware.WithMaxEntries(1<<30), middleware.WithMaxBytes(1<<40))
	keys := benchKeys(1 << 16)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	var seq sync.Mutex
	next := 0
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		seq.Lock()
		base := next
		next += 1 << 12
		seq.Unlock()
		i := 0
		for pb.Next() {
			key := keys[(base+i)&(len(keys)-1)]
			if got, err := s.Claim(ctx, key, rec, time.Millisecond); err == nil && got == nil {
				_ = s.Release(ctx, key, rec.Token)
			}
			i++
		}
	})
}

// BenchmarkMemoryStoreClaimComplete is a first request's store work with
// the middleware's default times to live (claim for ProcessingTTL,
// complete for CompletedTTL) in a store already holding 2^17 completed
// records: the short-lived processing records and the long-lived
// completed ones share each shard's expiry bookkeeping.
func BenchmarkMemoryStoreClaimComplete(b *testing.B) {
	ctx := context.Background()
	s := middleware.NewMemoryStore(middleware.WithMaxEntries(1<<24), middleware.WithMaxBytes(1<<32))
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	done := completedRecord(rec.Token, benchBody()[:100])
	claimComplete := func(key string) {
		if _, err := s.Claim(ctx, key, rec, middleware.DefaultProcessingTTL); err != nil {
			b.Fatal(err)
		}
		if err := s.Complete(ctx, key, rec.Token, done, middleware.DefaultCompletedTTL); err != nil {
			b.Fatal(err)
		}
	}
	for i := range 1 << 17 {
		claimComplete("filled-" + strconv.Itoa(i))
	}
	keys := benchKeys(1 << 20)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		claimComplete(keys[i&(len(keys)-1)])
		i++
	}
}
