package middleware

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestMemoryStoreHeapInvariant drives one store through random claims,
// completions, releases, renewals and clock jumps, checking after every
// step that each shard's expiry heap is a heap, that its slots repeat
// their entries' expiry and positions, and that every map entry is in it.
func TestMemoryStoreHeapInvariant(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewMemoryStore(WithClock(clock))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := map[string]string{}
	for step := range 20_000 {
		key := fmt.Sprintf("k%d", rng.IntN(500))
		switch op := rng.IntN(10); {
		case op < 4:
			token := fmt.Sprintf("t%d", step)
			existing, err := s.Claim(ctx, key, &Record{State: StateProcessing, Token: token}, time.Duration(1+rng.IntN(60))*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if existing == nil {
				tokens[key] = token
			}
		case op < 6:
			s.Complete(ctx, key, tokens[key], &Record{State: StateCompleted, Status: 201}, time.Duration(1+rng.IntN(600))*time.Second)
		case op < 7:
			s.Release(ctx, key, tokens[key])
		case op < 8:
			s.Extend(ctx, key, tokens[key], time.Duration(1+rng.IntN(60))*time.Second)
		default:
			mu.Lock()
			now = now.Add(time.Duration(rng.IntN(5000)) * time.Millisecond)
			mu.Unlock()
		}
		if step%97 == 0 || step == 19_999 {
			checkHeaps(t, s, step)
		}
	}
}

func checkHeaps(t *testing.T, s *MemoryStore, step int) {
	t.Helper()
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if len(sh.heap) != len(sh.m) {
			t.Fatalf("step %d shard %d: %d heap slots, %d map entries", step, i, len(sh.heap), len(sh.m))
		}
		for j, slot := range sh.heap {
			if slot.e.idx != j || slot.exp != slot.e.exp || sh.m[slot.e.key] != slot.e {
				t.Fatalf("step %d shard %d slot %d: idx %d, slot exp %d, entry exp %d, in map %v",
					step, i, j, slot.e.idx, slot.exp, slot.e.exp, sh.m[slot.e.key] == slot.e)
			}
			if j > 0 && sh.heap[(j-1)/2].exp > slot.exp {
				t.Fatalf("step %d shard %d: slot %d expires before its parent", step, i, j)
			}
		}
		total += len(sh.m)
		sh.mu.Unlock()
	}
	if int64(total) != s.entries.Load() {
		t.Fatalf("step %d: %d entries in shards, %d accounted", step, total, s.entries.Load())
	}
}
