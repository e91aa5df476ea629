package middleware

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of [NewMemoryStore].
const (
	// DefaultMemoryMaxEntries is the default record limit of a MemoryStore.
	DefaultMemoryMaxEntries = 100_000
	// DefaultMemoryMaxBytes is the default size limit of a MemoryStore (64 MiB).
	DefaultMemoryMaxBytes = 64 << 20
)

const (
	// memoryShards is the number of shards of a MemoryStore's waiter and
	// quota tables; its records are spread over recordShards.
	memoryShards = 64
	// minRecordShards and maxRecordShards bound recordShards.
	minRecordShards, maxRecordShards = 8, 64
	// memoryEntryOverhead approximates what one record costs besides its
	// key and encoded bytes: its slot, its map slot and its arena header,
	// rounded up.
	memoryEntryOverhead = 128
	// sweepPerWrite is how many expired records a write removes from its
	// shard; more than one per write keeps up with any insert rate.
	sweepPerWrite = 8
	// sweepBatch bounds how many records a full sweep removes under one lock.
	sweepBatch = 256
)

// MemoryOption configures [NewMemoryStore].
type MemoryOption func(*memoryOptions)

type memoryOptions struct {
	maxEntries int64
	maxBytes   int64
	now        func() time.Time
}

// WithMaxEntries limits how many records the store holds, live or expired
// but not yet swept. The default is [DefaultMemoryMaxEntries]. It panics if
// n is not positive.
func WithMaxEntries(n int) MemoryOption {
	if n <= 0 {
		panic(fmt.Sprintf("middleware: WithMaxEntries(%d): the limit must be positive", n))
	}
	return func(o *memoryOptions) { o.maxEntries = int64(n) }
}

// WithMaxBytes limits the bytes the store holds, counting keys, encoded
// records and an estimate of the per-record bookkeeping (about 128 bytes).
// The chunks that hold the records may take up to about twice that while
// records die out of the order they were written in, before compaction.
// The default is [DefaultMemoryMaxBytes]. It panics if n is not positive.
func WithMaxBytes(n int64) MemoryOption {
	if n <= 0 {
		panic(fmt.Sprintf("middleware: WithMaxBytes(%d): the limit must be positive", n))
	}
	return func(o *memoryOptions) { o.maxBytes = n }
}

// WithClock sets the clock the store reads to expire records, for tests.
// The default is time.Now. It panics if now is nil.
func WithClock(now func() time.Time) MemoryOption {
	if now == nil {
		panic("middleware: WithClock(nil)")
	}
	return func(o *memoryOptions) { o.now = now }
}

// MemoryStore is the embedded [Store]: records live in this process, with
// the same semantics as [ValkeyStore] (time to live, owner tokens,
// [ErrLeaseLost]). Use it for a single instance or for tests; instances
// behind a load balancer need a shared store.
//
// Memory is bounded by [WithMaxEntries] and [WithMaxBytes]. A live record is
// never evicted to make room, because that would allow a second execution:
// when the store is full even after removing expired records, Claim returns
// [ErrStoreFull] (and Complete returns it when the larger completed record
// does not fit, leaving the processing record in place).
//
// Expired records are invisible at once and removed without a background
// goroutine: every write removes a few expired records of its shard, and a
// write that finds the store full sweeps every shard in small batches
// before giving up. No lock is held for more than a short, bounded batch,
// so sweeping never stalls other requests. Memory of expired records is
// therefore reclaimed by later writes, not while the store is idle.
//
// Records are copied in and out: callers may reuse what they pass and
// modify what they get. A MemoryStore is safe for concurrent use; keys are
// spread over independently locked shards, four per CPU the process may
// use (GOMAXPROCS when the store is made), at least 8 and at most 64.
type MemoryStore struct {
	now        func() time.Time
	mono       bool // now is time.Now: offsets need only its monotonic clock
	base       time.Time
	maxEntries int64
	maxBytes   int64
	seed       maphash.Seed

	// The counters are written by every claim and completion on every
	// core: each has a cache line of its own, so that the fields above,
	// read by every call, are not invalidated with them.
	_       [64]byte
	entries atomic.Int64
	_       [56]byte
	bytes   atomic.Int64
	_       [56]byte

	shards []memoryShard // a power of two of them: see recordShards
	notify memoryNotify  // waiters' subscriptions (store_memory_notify.go)
	quota  memoryQuota   // per-scope quota accounting (store_memory_quota.go)
}

type memoryShard struct {
	mu       sync.Mutex
	m        map[uint32]slotRef // by bucketOf the key's hash; keys sharing one are chained by same
	slots    slab               // the records (store_memory_slab.go)
	arena    arena              // their keys and encoded records (store_memory_arena.go)
	queues   []expiryQueue      // expiry order (store_memory_expiry.go), in queueMem
	queueMem [maxExpiryQueues]expiryQueue
	earliest int64    // no entry expires before this: a sweep before it has nothing to do
	_        [64]byte // keep shard locks on separate cache lines
}

var (
	_ Store  = (*MemoryStore)(nil)
	_ Pinger = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore(opts ...MemoryOption) *MemoryStore {
	o := memoryOptions{maxEntries: DefaultMemoryMaxEntries, maxBytes: DefaultMemoryMaxBytes}
	for _, opt := range opts {
		opt(&o)
	}
	s := &MemoryStore{
		now:        o.now,
		mono:       o.now == nil,
		maxEntries: o.maxEntries,
		maxBytes:   o.maxBytes,
		seed:       maphash.MakeSeed(),
	}
	if s.mono {
		s.now = time.Now
	}
	s.base = s.now()
	s.shards = make([]memoryShard, recordShards(runtime.GOMAXPROCS(0)))
	for i := range s.shards {
		sh := &s.shards[i]
		sh.m = make(map[uint32]slotRef)
		sh.queues = sh.queueMem[:0] // beside the lock, not a cache miss away
	}
	return s
}

// Claim implements [Store.Claim].
func (s *MemoryStore) Claim(ctx context.Context, key string, rec *Record, ttl time.Duration) (*Record, error) {
	existing, _, err := s.claimSlot(ctx, key, rec, ttl, time.Time{})
	return existing, err
}

// claimSlot is Claim, also returning the slot that holds the new claim,
// so that the middleware can complete it with completeSlot without
// looking the key up again. at, when not zero, is a time.Now reading
// taken just before the call, used as the store's now (see offsetAt).
func (s *MemoryStore) claimSlot(ctx context.Context, key string, rec *Record, ttl time.Duration, at time.Time) (*Record, slotRef, error) {
	if err := checkWrite(ctx, ttl); err != nil {
		return nil, 0, err
	}
	if err := checkRecord(rec); err != nil {
		return nil, 0, err
	}
	var (
		buf [encodeBuffer]byte
		val []byte // encoded only when the key is free: a replay costs no encoding
	)
	sh, h := s.locate(key)
	for attempt := range 2 {
		now := s.offsetAt(at)
		at = time.Time{} // a second attempt follows a full sweep: read the clock again
		sh.mu.Lock()
		if e := sh.lookup(h, key); e != nil {
			if e.exp > now {
				existing := string(sh.valOf(e)) // a copy: the arena is reused once unlocked
				sh.mu.Unlock()
				r, err := decodeStored(existing)
				return r, 0, err
			}
			s.remove(sh, e)
		}
		if val == nil {
			val, _ = appendRecord(buf[:0], rec) // checked above
		}
		if len(key)+len(val) > arenaMaxRecord {
			sh.mu.Unlock()
			return nil, 0, ErrStoreFull
		}
		s.sweep(sh, now, sweepPerWrite)
		size := entrySize(len(key) + len(val))
		if s.reserve(1, size) {
			if e := sh.insert(key, h, val, deadline(now, ttl), ttl); e != nil {
				slot := e.self // before unlocking: the slot may be freed and reused at once
				sh.mu.Unlock()
				return nil, slot, nil
			}
			s.entries.Add(-1) // the shard has maxSlots records: full
			s.bytes.Add(-size)
		}
		sh.mu.Unlock()
		if attempt == 0 {
			s.sweepAll()
		}
	}
	return nil, 0, ErrStoreFull
}

func (*MemoryStore) inProcess() {}

// Complete implements [Store.Complete].
func (s *MemoryStore) Complete(ctx context.Context, key, token string, rec *Record, ttl time.Duration) error {
	return s.completeSlot(ctx, key, token, rec, ttl, 0, time.Time{})
}

// completeSlot is Complete of a claim that claimSlot stored in slot (0:
// not known, look the key up); at is as for claimSlot.
func (s *MemoryStore) completeSlot(ctx context.Context, key, token string, rec *Record, ttl time.Duration, slot slotRef, at time.Time) error {
	var buf [encodeBuffer]byte
	val, err := encodeCompletion(ctx, rec, ttl, buf[:0])
	if err != nil {
		return err
	}
	if err := s.completeEncoded(key, token, val, ttl, slot, at); err != errAlreadyComplete {
		return err
	}
	return nil // the same claim's final record is there already
}

// errAlreadyComplete is completeEncoded's answer when the key already holds
// the same claim's final record: Complete succeeds without writing.
var errAlreadyComplete = errors.New("idempotency: already complete")

// holdsFinal reports whether key, whose hash is h, holds a live final
// record of the same claim as val (see sameFinal). The shard must be
// locked.
func (sh *memoryShard) holdsFinal(h uint64, key string, val []byte, now int64) bool {
	e := sh.lookup(h, key)
	return e != nil && e.exp > now && sameFinal(sh.valOf(e), val)
}

// checkWrite is what every write checks first: the caller has not given
// up, and the time to live is one the store can honour.
func checkWrite(ctx context.Context, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return checkTTL(ttl)
}

// encodeBuffer is the size of the stack buffer a MemoryStore write
// encodes a record into before copying it into the arena; larger records
// are encoded on the heap.
const encodeBuffer = 1024

// encodeCompletion checks a completion (see checkWrite) and appends its
// encoded record to buf, before any lock is taken.
func encodeCompletion(ctx context.Context, rec *Record, ttl time.Duration, buf []byte) ([]byte, error) {
	if err := checkWrite(ctx, ttl); err != nil {
		return nil, err
	}
	return appendRecord(buf, rec)
}

// completeEncoded is Complete of the encoded record val; slot, when not
// zero, is where claimSlot stored the claim, and at is as for claimSlot.
func (s *MemoryStore) completeEncoded(key, token string, val []byte, ttl time.Duration, slot slotRef, at time.Time) error {
	if len(key)+len(val) > arenaMaxRecord {
		return ErrStoreFull
	}
	sh, h := s.locate(key)
	for attempt := range 2 {
		now := s.offsetAt(at)
		at = time.Time{}
		sh.mu.Lock()
		e := s.ownedIn(sh, slot, h, key, token, now)
		if e == nil {
			done := sh.holdsFinal(h, key, val, now)
			sh.mu.Unlock()
			if done {
				return errAlreadyComplete
			}
			return ErrLeaseLost
		}
		if s.reserve(0, int64(len(val))-int64(e.vlen)) {
			sh.free(e)
			sh.put(logOf(val), e, key, val)
			e.exp = deadline(now, ttl)
			sh.requeue(e, ttl)
			s.sweep(sh, now, sweepPerWrite)
			sh.mu.Unlock()
			s.wake(key)
			return nil
		}
		sh.mu.Unlock()
		if attempt == 0 {
			s.sweepAll()
		}
	}
	return ErrStoreFull
}

// Release implements [Store.Release].
func (s *MemoryStore) Release(ctx context.Context, key, token string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := s.offset()
	sh, h := s.locate(key)
	sh.mu.Lock()
	e := s.owned(sh, h, key, token, now)
	if e == nil {
		sh.mu.Unlock()
		return ErrLeaseLost
	}
	s.remove(sh, e)
	sh.mu.Unlock()
	s.wake(key)
	return nil
}

// Extend implements [Store.Extend]. The record's ExpiresAt moves to the
// store clock's now plus ttl, as with [ValkeyStore].
func (s *MemoryStore) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	if err := checkWrite(ctx, ttl); err != nil {
		return err
	}
	t, now := s.clock()
	sh, h := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := s.owned(sh, h, key, token, now)
	if e == nil {
		return ErrLeaseLost
	}
	setExpiresAt(sh.valOf(e), t.Add(ttl)) // in place: readers copy under the lock
	e.exp = deadline(now, ttl)
	sh.requeue(e, ttl)
	return nil
}

// Len returns how many records the store holds, counting expired records
// that are not swept yet.
func (s *MemoryStore) Len() int { return int(s.entries.Load()) }

// Bytes returns the size the store accounts for its records against the
// [WithMaxBytes] limit.
func (s *MemoryStore) Bytes() int64 { return s.bytes.Load() }

// Ping implements [Pinger]; a MemoryStore is always reachable.
func (s *MemoryStore) Ping(context.Context) error { return nil }

// offset returns the store's monotonic offset in nanoseconds, as clock
// does. With the default clock it reads the monotonic clock alone
// (time.Since of a time.Now reading does), not the wall clock as well.
func (s *MemoryStore) offset() int64 {
	if s.mono {
		return int64(time.Since(s.base))
	}
	return int64(s.now().Sub(s.base))
}

// offsetAt is offset at the time at, a time.Now reading the caller just
// took: with the default clock the store's now is then at's monotonic
// reading, saving a clock read. A zero at, or a store with its own clock
// (WithClock), reads the store's clock.
func (s *MemoryStore) offsetAt(at time.Time) int64 {
	if s.mono && !at.IsZero() {
		return int64(at.Sub(s.base))
	}
	return s.offset()
}

// clock returns the time and the store's monotonic offset in nanoseconds.
func (s *MemoryStore) clock() (time.Time, int64) {
	t := s.now()
	return t, int64(t.Sub(s.base))
}

// bucketOf returns the shard's map key for a key whose hash is h: its high
// 32 bits (the low bits pick the shard). Keys that share it are chained by
// same; 32 bits keep chains short in any shard a process can hold, and
// halve the map's slots against the whole hash, so a lookup touches fewer
// cache lines: in a large store every probe is a cache miss.
func bucketOf(h uint64) uint32 { return uint32(h >> 32) }

// locate returns key's shard and hash, computed once per call.
func (s *MemoryStore) locate(key string) (*memoryShard, uint64) {
	h := maphash.String(s.seed, key)
	return &s.shards[h&uint64(len(s.shards)-1)], h
}

// recordShards returns how many shards a MemoryStore spreads its records
// over on procs CPUs: four per CPU, a power of two, within minRecordShards
// and maxRecordShards. Enough that requests on different CPUs rarely wait
// for one lock, and no more: each shard's hot memory (its lock, the tails
// of its arena logs and slab, its expiry queues) is touched once per that
// many writes, and with fewer shards it is still in the CPU's cache when
// the next write comes. 64 shards on 2 CPUs measured 1.7–3.7 µs more server
// CPU per first request under load than 8.
func recordShards(procs int) int {
	n := minRecordShards
	for n < 4*procs && n < maxRecordShards {
		n *= 2
	}
	return n
}

// owned returns the live processing entry of key owned by token, removing
// key's entry if it expired. The shard must be locked.
func (s *MemoryStore) owned(sh *memoryShard, h uint64, key, token string, now int64) *memorySlot {
	return s.ownedIn(sh, 0, h, key, token, now)
}

// ownedIn is owned, looking in slot first: a slot that holds key holds
// its only entry, and one that no longer does (freed, or reused for
// another key) or never did sends it to the map.
func (s *MemoryStore) ownedIn(sh *memoryShard, slot slotRef, h uint64, key, token string, now int64) *memorySlot {
	e := sh.slots.lookup(slot)
	if e == nil || e.self == 0 || string(sh.keyOf(e)) != key {
		e = sh.lookup(h, key)
	}
	if e == nil {
		return nil
	}
	if e.exp <= now {
		s.remove(sh, e)
		return nil
	}
	if !isOwner(sh.valOf(e), token) {
		return nil
	}
	return e
}

// lookup returns the entry of key, whose hash is h, or nil.
func (sh *memoryShard) lookup(h uint64, key string) *memorySlot {
	e := sh.slots.at(sh.m[bucketOf(h)])
	for e != nil && string(sh.keyOf(e)) != key {
		e = sh.slots.at(e.same)
	}
	return e
}

// insert adds the record val of key, whose hash is h, expiring at exp
// (set from ttl), to the map and the expiry order, and returns its slot;
// the shard has no entry of key. It returns nil, changing nothing, when
// the shard has no slot left.
func (sh *memoryShard) insert(key string, h uint64, val []byte, exp int64, ttl time.Duration) *memorySlot {
	e := sh.slots.alloc()
	if e == nil {
		return nil
	}
	sh.put(logOf(val), e, key, val)
	e.bucket, e.exp = bucketOf(h), exp
	e.same = sh.m[e.bucket]
	sh.m[e.bucket] = e.self
	sh.enqueue(e, ttl)
	return e
}

// delete removes e from the map and the expiry order and frees its record
// and slot.
func (sh *memoryShard) delete(e *memorySlot) {
	switch head := sh.m[e.bucket]; {
	case head == e.self && e.same == 0:
		delete(sh.m, e.bucket)
	case head == e.self:
		sh.m[e.bucket] = e.same
	default:
		p := sh.slots.at(head)
		for p.same != e.self {
			p = sh.slots.at(p.same)
		}
		p.same = e.same
	}
	sh.dequeue(e)
	sh.free(e)
	sh.slots.release(e)
}

// reserve accounts for n more entries and delta more bytes, or reports
// false and changes nothing when a limit would be exceeded.
func (s *MemoryStore) reserve(n, delta int64) bool {
	if n > 0 && s.entries.Add(n) > s.maxEntries {
		s.entries.Add(-n)
		return false
	}
	if delta > 0 && s.bytes.Add(delta) > s.maxBytes {
		s.bytes.Add(-delta)
		if n > 0 {
			s.entries.Add(-n)
		}
		return false
	}
	if delta <= 0 {
		s.bytes.Add(delta)
	}
	return true
}

// remove deletes e from its locked shard and from the accounting.
func (s *MemoryStore) remove(sh *memoryShard, e *memorySlot) {
	s.entries.Add(-1)
	s.bytes.Add(-entrySize(int(e.klen) + int(e.vlen)))
	sh.delete(e)
}

// sweep removes up to budget expired entries of a locked shard and reports
// whether expired entries remain. Before the shard's earliest expiry it
// reads no entry: every write sweeps, and the queues' heads are entries
// nothing else touches, a cache miss each.
func (s *MemoryStore) sweep(sh *memoryShard, now int64, budget int) bool {
	if now < sh.earliest {
		return false
	}
	for ; budget > 0; budget-- {
		e := sh.first()
		if e == nil || e.exp > now {
			sh.earliest = math.MaxInt64
			if e != nil {
				sh.earliest = e.exp
			}
			return false
		}
		s.remove(sh, e)
	}
	e := sh.first()
	return e != nil && e.exp <= now
}

// sweepAll removes every expired entry, locking one shard at a time for
// at most sweepBatch removals.
func (s *MemoryStore) sweepAll() {
	now := s.offset()
	for i := range s.shards {
		sh := &s.shards[i]
		for more := true; more; {
			sh.mu.Lock()
			more = s.sweep(sh, now, sweepBatch)
			sh.mu.Unlock()
		}
	}
}

// entrySize is what the store accounts for a record whose key and encoded
// record are n bytes.
func entrySize(n int) int64 {
	return int64(n + memoryEntryOverhead)
}

// deadline returns now+ttl, saturating instead of overflowing.
func deadline(now int64, ttl time.Duration) int64 {
	if int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return now + int64(ttl)
}

func decodeStored(val string) (*Record, error) {
	rec, err := decodeRecordString(val)
	if err != nil {
		return nil, fmt.Errorf("idempotency: memory store: %w", err)
	}
	return rec, nil
}

// checkTTL rejects a time to live no store can honour; shared by the stores.
func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("idempotency: time to live %v is below the 1ms resolution of stores", ttl)
	}
	return nil
}
