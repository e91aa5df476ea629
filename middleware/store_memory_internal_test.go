package middleware

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestMemoryStoreExpiryInvariant drives one store through random claims,
// completions, releases, renewals and clock jumps (forward, and back as a
// test clock may), with more distinct times to live than a shard has
// queues, checking every 97 steps that each shard's expiry queues are
// well-linked lists in expiry order holding exactly the map's entries.
func TestMemoryStoreExpiryInvariant(t *testing.T) {
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
			now = now.Add(time.Duration(rng.IntN(5000)-500) * time.Millisecond)
			mu.Unlock()
		}
		if step%97 == 0 || step == 19_999 {
			checkQueues(t, s, step)
		}
	}
}

func checkQueues(t *testing.T, s *MemoryStore, step int) {
	t.Helper()
	total := 0
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		if len(sh.queues) > maxExpiryQueues {
			t.Fatalf("step %d shard %d: %d queues, at most %d", step, i, len(sh.queues), maxExpiryQueues)
		}
		queued := 0
		for qi, q := range sh.queues {
			var prev *memorySlot
			for e := sh.slots.at(q.head); e != nil; prev, e = e, sh.slots.at(e.next) {
				if sh.slots.at(e.prev) != prev || int(e.q) != qi || sh.lookup(uint64(e.bucket)<<32, e.key) != e {
					t.Fatalf("step %d shard %d queue %d: entry %q badly linked (prev ok %v, q %d, in map %v)",
						step, i, qi, e.key, sh.slots.at(e.prev) == prev, e.q, sh.lookup(uint64(e.bucket)<<32, e.key) == e)
				}
				if e.exp < sh.earliest {
					t.Fatalf("step %d shard %d: %q expires at %d, before the shard's earliest %d", step, i, e.key, e.exp, sh.earliest)
				}
				if prev != nil && prev.exp > e.exp {
					t.Fatalf("step %d shard %d queue %d: %q expires before %q, which precedes it", step, i, qi, e.key, prev.key)
				}
				queued++
			}
			if sh.slots.at(q.tail) != prev {
				t.Fatalf("step %d shard %d queue %d: tail is not the last entry", step, i, qi)
			}
		}
		mapped := 0
		for _, r := range sh.m {
			for e := sh.slots.at(r); e != nil; e = sh.slots.at(e.same) {
				mapped++
			}
		}
		if queued != mapped {
			t.Fatalf("step %d shard %d: %d queued entries, %d map entries", step, i, queued, mapped)
		}
		free := 0
		for e := sh.slots.at(sh.slots.free); e != nil; e = sh.slots.at(e.next) {
			if e.key != "" || e.val != nil || e.same != 0 || e.prev != 0 {
				t.Fatalf("step %d shard %d: free slot %d still holds %q", step, i, e.self, e.key)
			}
			free++
		}
		if free+mapped != sh.slots.used {
			t.Fatalf("step %d shard %d: %d free and %d mapped slots, %d handed out", step, i, free, mapped, sh.slots.used)
		}
		total += mapped
		sh.mu.Unlock()
	}
	if int64(total) != s.entries.Load() {
		t.Fatalf("step %d: %d entries in shards, %d accounted", step, total, s.entries.Load())
	}
}

// Keys whose hashes collide share a map slot as a chain: each is found,
// and removing the head, a middle or the last one keeps the others. Real
// 64-bit collisions are too rare to meet in a test, so the entries are
// given one hash here.
func TestMemoryShardHashChain(t *testing.T) {
	for _, victim := range []string{"c", "b", "a"} { // inserted a, b, c: c is the head
		t.Run("remove "+victim, func(t *testing.T) {
			sh := &memoryShard{m: map[uint32]slotRef{}}
			for _, k := range []string{"a", "b", "c"} {
				sh.insert(k, 42<<32, nil, 1, time.Second)
			}
			for _, k := range []string{"a", "b", "c"} {
				if e := sh.lookup(42<<32, k); e == nil || e.key != k {
					t.Fatalf("lookup(%q) = %v", k, e)
				}
			}
			if sh.lookup(42<<32, "d") != nil || sh.lookup(7<<32, "a") != nil {
				t.Fatal("lookup found a key that is not there")
			}
			sh.delete(sh.lookup(42<<32, victim))
			for _, k := range []string{"a", "b", "c"} {
				if found := sh.lookup(42<<32, k) != nil; found != (k != victim) {
					t.Errorf("after removing %q: lookup(%q) found = %v", victim, k, found)
				}
			}
			for _, k := range []string{"a", "b", "c"} {
				if e := sh.lookup(42<<32, k); e != nil {
					sh.delete(e)
				}
			}
			if len(sh.m) != 0 || sh.first() != nil {
				t.Errorf("after removing every key: %d map slots, first %v", len(sh.m), sh.first())
			}
		})
	}
}

// The slab hands out slots across chunk boundaries, never moves a slot in
// use, and reuses freed slots (zeroed) before growing.
func TestSlab(t *testing.T) {
	var s slab
	var slots []*memorySlot
	for i := range 2*slabChunk + 3 {
		e := s.alloc()
		if e == nil || e.self != slotRef(i+1) || s.at(e.self) != e {
			t.Fatalf("alloc %d = %+v, want slot %d", i, e, i+1)
		}
		e.key = fmt.Sprint(i)
		slots = append(slots, e)
	}
	for i, e := range slots {
		if s.at(slotRef(i+1)) != e || e.key != fmt.Sprint(i) {
			t.Fatalf("slot %d moved or changed after the slab grew", i+1)
		}
	}
	freed := []*memorySlot{slots[5], slots[slabChunk+1]}
	for _, e := range freed {
		s.release(e)
	}
	if used := s.used; used != 2*slabChunk+3 {
		t.Fatalf("used = %d after releases, want %d", used, 2*slabChunk+3)
	}
	for i := len(freed) - 1; i >= 0; i-- { // the free list is last in, first out
		e := s.alloc()
		if e != freed[i] || e.key != "" || e.next != 0 || e.self == 0 {
			t.Fatalf("alloc after release = %+v, want the freed slot %p zeroed", e, freed[i])
		}
	}
	if e := s.alloc(); e.self != 2*slabChunk+4 {
		t.Fatalf("alloc with no free slot = %d, want a new slot %d", e.self, 2*slabChunk+4)
	}
	if s.at(0) != nil {
		t.Fatal("at(0) is not nil")
	}
}

// completeSlot trusts the slot claimSlot returned only while it still
// holds the key: a slot freed and reused (for the same key by another
// claim, or for another key) never completes the wrong record.
func TestMemoryStoreCompleteSlot(t *testing.T) {
	ctx := context.Background()
	claim := func(s *MemoryStore, key, token string) slotRef {
		t.Helper()
		existing, slot, err := s.claimSlot(ctx, key, &Record{State: StateProcessing, Token: token}, time.Minute)
		if err != nil || existing != nil || slot == 0 {
			t.Fatalf("claimSlot(%q) = %v, %d, %v; want a new claim", key, existing, slot, err)
		}
		return slot
	}
	done := &Record{State: StateCompleted, Status: 201}

	s := NewMemoryStore()
	slot := claim(s, "a", "t1")
	if err := s.completeSlot(ctx, "a", "t1", done, time.Hour, slot); err != nil {
		t.Fatalf("completeSlot by the owner: %v", err)
	}
	if got, _ := s.Claim(ctx, "a", &Record{State: StateProcessing, Token: "t9"}, time.Minute); got == nil || got.State != StateCompleted {
		t.Fatalf("after completeSlot, Claim found %+v, want the completed record", got)
	}

	// Released, then claimed again by another request: the free slot is
	// reused for the same key, and the first owner's token no longer fits.
	s = NewMemoryStore()
	slot = claim(s, "b", "t1")
	if err := s.Release(ctx, "b", "t1"); err != nil {
		t.Fatal(err)
	}
	if again := claim(s, "b", "t2"); again != slot {
		t.Fatalf("the second claim got slot %d, want the freed slot %d (the case under test)", again, slot)
	}
	if err := s.completeSlot(ctx, "b", "t1", done, time.Hour, slot); err != ErrLeaseLost {
		t.Fatalf("completeSlot by the released owner = %v, want ErrLeaseLost", err)
	}

	// The slot reused for another key: the key's own entry is found.
	s = NewMemoryStore()
	old := claim(s, "c", "t1")
	if err := s.Release(ctx, "c", "t1"); err != nil {
		t.Fatal(err)
	}
	claim(s, "c", "t2") // takes the freed slot
	if err := s.completeSlot(ctx, "c", "t2", done, time.Hour, old+1); err != nil {
		t.Fatalf("completeSlot with a slot holding another key (or none) = %v, want the key found by lookup", err)
	}
	if err := s.completeSlot(ctx, "d", "t2", done, time.Hour, old); err != ErrLeaseLost {
		t.Fatalf("completeSlot of a key held nowhere, through another key's slot = %v, want ErrLeaseLost", err)
	}
}
