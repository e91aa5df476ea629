package middleware

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestMemoryStoreExpiryInvariant drives one store through random claims,
// completions, releases, renewals and clock jumps (forward, and back as a
// test clock may), with more distinct times to live than a shard has
// queues, checking every 97 steps that each shard's expiry queues are
// well-linked lists in expiry order holding exactly the map's entries, and
// that its arena holds exactly their records.
func TestMemoryStoreExpiryInvariant(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := NewMemoryStore(WithClock(clock))
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := map[string]string{}
	for step := range 20_000 {
		key := fmt.Sprintf("k%d", rng.IntN(2000))
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
			// Bodies up to 12 KiB fill arena chunks, so that they are
			// sealed and compacted, and some take a chunk of their own.
			body := make([]byte, rng.IntN(3<<10)+rng.IntN(2)*rng.IntN(12<<10))
			s.Complete(ctx, key, tokens[key], &Record{State: StateCompleted, Status: 201, Body: body}, time.Duration(1+rng.IntN(600))*time.Second)
		case op < 7:
			s.Release(ctx, key, tokens[key])
		case op < 8:
			s.Extend(ctx, key, tokens[key], time.Duration(1+rng.IntN(60))*time.Second)
		default:
			mu.Lock()
			now = now.Add(time.Duration(rng.IntN(1000)-100) * time.Millisecond)
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
				key := string(sh.keyOf(e))
				if sh.slots.at(e.prev) != prev || int(e.q) != qi || sh.lookup(uint64(e.bucket)<<32, key) != e {
					t.Fatalf("step %d shard %d queue %d: entry %q badly linked (prev ok %v, q %d, in map %v)",
						step, i, qi, key, sh.slots.at(e.prev) == prev, e.q, sh.lookup(uint64(e.bucket)<<32, key) == e)
				}
				if e.exp < sh.earliest {
					t.Fatalf("step %d shard %d: %q expires at %d, before the shard's earliest %d", step, i, key, e.exp, sh.earliest)
				}
				if prev != nil && prev.exp > e.exp {
					t.Fatalf("step %d shard %d queue %d: %q expires before %q, which precedes it", step, i, qi, key, sh.keyOf(prev))
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
			if *e != (memorySlot{next: e.next}) {
				t.Fatalf("step %d shard %d: free slot %+v is not cleared", step, i, *e)
			}
			free++
		}
		if free+mapped != sh.slots.used {
			t.Fatalf("step %d shard %d: %d free and %d mapped slots, %d handed out", step, i, free, mapped, sh.slots.used)
		}
		checkArena(t, sh, step, i, mapped)
		total += mapped
		sh.mu.Unlock()
	}
	if int64(total) != s.entries.Load() {
		t.Fatalf("step %d: %d entries in shards, %d accounted", step, total, s.entries.Load())
	}
}

// checkArena checks that shard i's arena holds exactly the records of its
// mapped slots: every live record names a slot that points back at it
// with its length, each chunk's dead count is the sum of its freed
// records, and held is the capacity of the chunks not released.
func checkArena(t *testing.T, sh *memoryShard, step, i, mapped int) {
	t.Helper()
	a := &sh.arena
	live := 0
	var held int64
	for c, ch := range a.chunks {
		if ch.buf == nil {
			if ch.dead != 0 || !slices.Contains(a.free, uint32(c)) {
				t.Fatalf("step %d shard %d: released chunk %d: dead %d, listed free %v", step, i, c, ch.dead, slices.Contains(a.free, uint32(c)))
			}
			continue
		}
		held += int64(cap(ch.buf))
		dead := 0
		for off := 0; off < len(ch.buf); {
			n := int(binary.LittleEndian.Uint32(ch.buf[off:]))
			owner := slotRef(binary.LittleEndian.Uint32(ch.buf[off+4:]))
			if owner == 0 {
				dead += arenaHeaderLen + n
			} else if e := sh.slots.at(owner); e.self != owner || int(e.chunk) != c || int(e.off) != off || int(e.klen+e.vlen) != n {
				t.Fatalf("step %d shard %d chunk %d offset %d: record of slot %d does not match the slot %+v", step, i, c, off, owner, *e)
			} else {
				live++
			}
			off += arenaHeaderLen + n
		}
		if dead != ch.dead {
			t.Fatalf("step %d shard %d chunk %d: %d dead bytes found, %d counted", step, i, c, dead, ch.dead)
		}
	}
	held += int64(cap(a.spare))
	if live != mapped || held != a.held {
		t.Fatalf("step %d shard %d: %d live records in the arena for %d mapped; %d bytes held, %d counted", step, i, live, mapped, held, a.held)
	}
}

// A shard's arena keeps processing and final records in separate logs,
// gives a large record a chunk of its own, releases a chunk whose records
// all died, reuses released chunks, and compacts a sealed chunk once more
// than half of it is dead: the live records move, their slots follow, and
// each key still reads back its own bytes.
func TestArenaChunks(t *testing.T) {
	sh := &memoryShard{m: map[uint32]slotRef{}}
	record := func(state RecordState, i, n int) []byte {
		b := make([]byte, n)
		b[0], b[1] = recordVersion, byte(state)
		binary.LittleEndian.PutUint32(b[2:], uint32(i))
		return b
	}
	key := func(i int) string { return fmt.Sprintf("key-%03d", i) }
	check := func(what string, keys []int, mapped int) {
		t.Helper()
		for _, i := range keys {
			e := sh.lookup(uint64(i)<<32, key(i))
			if e == nil || binary.LittleEndian.Uint32(sh.valOf(e)[2:]) != uint32(i) {
				t.Fatalf("%s: key %d does not read back its record", what, i)
			}
		}
		checkArena(t, sh, 0, 0, mapped)
	}

	const n, size = 150, 1000 // final chunks of 2, 4, 8, 16, then 32 KiB
	var keys []int
	for i := range n {
		sh.insert(key(i), uint64(i)<<32, record(StateCompleted, i, size), 1, time.Hour)
		keys = append(keys, i)
	}
	claim := sh.insert(key(n), uint64(n)<<32, record(StateProcessing, n, 100), 1, time.Minute)
	if e := sh.lookup(0, key(0)); claim.chunk == e.chunk || len(sh.arena.chunks) != 9 {
		t.Fatalf("processing record in chunk %d of %d, final records from chunk %d: want a log of its own", claim.chunk, len(sh.arena.chunks), e.chunk)
	}
	check("filled", keys, n+1)

	// Free records of a full chunk, no longer current, up to half of it:
	// nothing moves.
	target := sh.lookup(100<<32, key(100)).chunk
	var first []int
	for _, i := range keys {
		if sh.lookup(uint64(i)<<32, key(i)).chunk == target {
			first = append(first, i)
		}
	}
	half := len(first) / 2
	for _, i := range first[:half] {
		sh.delete(sh.lookup(uint64(i)<<32, key(i)))
	}
	if len(first) != 32 || sh.arena.chunks[target].buf == nil {
		t.Fatalf("at half dead (%d records in the chunk): chunk released %v; want it kept", len(first), sh.arena.chunks[target].buf == nil)
	}
	// One more: the rest of the chunk moves to the current chunk.
	sh.delete(sh.lookup(uint64(first[half])<<32, key(first[half])))
	if sh.arena.chunks[target].buf != nil {
		t.Fatal("past half dead: the chunk was not compacted and released")
	}
	keys = slices.DeleteFunc(keys, func(i int) bool { return slices.Contains(first[:half+1], i) })
	check("compacted", keys, len(keys)+1)
	for _, i := range first[half+1:] {
		if c := sh.lookup(uint64(i)<<32, key(i)).chunk; c == target {
			t.Fatalf("key %d still in the compacted chunk", i)
		}
	}

	// A large record takes a chunk of its own (the released one, reused)
	// and gives it back when freed.
	big := sh.insert(key(900), 900<<32, record(StateCompleted, 900, arenaOwnChunk+1), 1, time.Hour)
	if big.chunk != target || cap(sh.arena.chunks[target].buf) != arenaHeaderLen+len(key(900))+arenaOwnChunk+1 {
		t.Fatalf("large record in chunk %d of capacity %d, want the spare chunk %d sized to it", big.chunk, cap(sh.arena.chunks[big.chunk].buf), target)
	}
	check("large record", append(keys, 900), len(keys)+2)
	sh.delete(big)
	if sh.arena.chunks[target].buf != nil {
		t.Fatal("the large record's chunk was not released with it")
	}

	// Freeing everything releases every chunk but the logs' current ones.
	sh.delete(claim)
	for _, i := range keys {
		sh.delete(sh.lookup(uint64(i)<<32, key(i)))
	}
	check("emptied", nil, 0)
	if want := int64(cap(sh.arena.chunks[sh.arena.cur[logProcessing]-1].buf) + cap(sh.arena.chunks[sh.arena.cur[logFinal]-1].buf) + arenaChunkSize); sh.arena.held != want {
		t.Fatalf("empty shard holds %d bytes of chunks, want the two current chunks' and a spare's %d", sh.arena.held, want)
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
				if e := sh.lookup(42<<32, k); e == nil || string(sh.keyOf(e)) != k {
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
		e.klen = uint32(i)
		slots = append(slots, e)
	}
	for i, e := range slots {
		if s.at(slotRef(i+1)) != e || e.klen != uint32(i) {
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
		if e != freed[i] || e.klen != 0 || e.next != 0 || e.self == 0 {
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
		existing, slot, err := s.claimSlot(ctx, key, &Record{State: StateProcessing, Token: token}, time.Minute, time.Time{})
		if err != nil || existing != nil || slot == 0 {
			t.Fatalf("claimSlot(%q) = %v, %d, %v; want a new claim", key, existing, slot, err)
		}
		return slot
	}
	done := &Record{State: StateCompleted, Status: 201}

	s := NewMemoryStore()
	slot := claim(s, "a", "t1")
	if err := s.completeSlot(ctx, "a", "t1", done, time.Hour, slot, time.Time{}); err != nil {
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
	if err := s.completeSlot(ctx, "b", "t1", done, time.Hour, slot, time.Time{}); err != ErrLeaseLost {
		t.Fatalf("completeSlot by the released owner = %v, want ErrLeaseLost", err)
	}

	// The slot reused for another key: the key's own entry is found.
	s = NewMemoryStore()
	old := claim(s, "c", "t1")
	if err := s.Release(ctx, "c", "t1"); err != nil {
		t.Fatal(err)
	}
	claim(s, "c", "t2") // takes the freed slot
	if err := s.completeSlot(ctx, "c", "t2", done, time.Hour, old+1, time.Time{}); err != nil {
		t.Fatalf("completeSlot with a slot holding another key (or none) = %v, want the key found by lookup", err)
	}
	if err := s.completeSlot(ctx, "d", "t2", done, time.Hour, old, time.Time{}); err != ErrLeaseLost {
		t.Fatalf("completeSlot of a key held nowhere, through another key's slot = %v, want ErrLeaseLost", err)
	}
}

// offsetAt takes the caller's time.Now reading as the store's now only
// with the default clock; a store with its own clock reads that.
func TestOffsetAt(t *testing.T) {
	s := NewMemoryStore()
	at := time.Now()
	before := s.offset()
	if got := s.offsetAt(at); got > before || got < before-int64(time.Second) {
		t.Errorf("offsetAt(now) = %d, want about offset() = %d", got, before)
	}
	if got, want := s.offsetAt(at.Add(time.Hour)), s.offsetAt(at)+int64(time.Hour); got != want {
		t.Errorf("offsetAt(now+1h) = %d, want %d", got, want)
	}
	fixed := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := NewMemoryStore(WithClock(func() time.Time { return fixed }))
	if got := c.offsetAt(time.Now().Add(time.Hour)); got != 0 {
		t.Errorf("with WithClock, offsetAt(a reading of time.Now) = %d, want 0 (the store's own clock)", got)
	}
}

func TestRecordShards(t *testing.T) {
	for _, tc := range []struct{ procs, want int }{
		{1, 8}, {2, 8}, {3, 16}, {4, 16}, {5, 32}, {8, 32}, {16, 64}, {17, 64}, {256, 64},
	} {
		if got := recordShards(tc.procs); got != tc.want {
			t.Errorf("recordShards(%d) = %d, want %d", tc.procs, got, tc.want)
		}
	}
	if n := len(NewMemoryStore().shards); n&(n-1) != 0 {
		t.Errorf("a new store has %d shards, want a power of two", n)
	}
}
