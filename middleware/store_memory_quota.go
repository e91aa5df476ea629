package middleware

import (
	"container/heap"
	"context"
	"hash/maphash"
	"sync"
	"time"
)

var _ QuotaStore = (*MemoryStore)(nil)

// memoryQuota holds a [MemoryStore]'s per-scope quota accounting: for each
// scope with live tracked records, its processing records by expiry and its
// stored records by expiry with their sizes. Its zero value is ready to use.
//
// A quota operation locks the scope's accounting shard first and the
// record's shard second (never the other way round), so it is atomic for
// its scope. Expired entries leave a scope's accounting when the scope is
// next used; a scope nobody uses any more is dropped whole by later quota
// operations on its shard once all its entries have expired (a few per
// operation), so the accounting never outgrows the live records by much:
// at most one entry (about 100 bytes) per tracked record, plus one per scope.
type memoryQuota struct {
	shards [memoryShards]quotaShard
}

type quotaShard struct {
	mu     sync.Mutex
	scopes map[string]*scopeUsage
	byEnd  scopeHeap // min-heap by end: scopes whose entries have all expired come first
	_      [64]byte  // keep shard locks on separate cache lines
}

// scopeUsage is one scope's accounting.
type scopeUsage struct {
	scope    string
	inFlight usageSet // processing records
	stored   usageSet // completed records and tombstones, with their sizes
	bytes    int64    // sum of stored sizes
	end      int64    // no entry of the scope lives past it (store clock)
	idx      int      // position in quotaShard.byEnd
}

// usage is one record in a usageSet.
type usage struct {
	member string
	exp    int64 // store clock
	bytes  int64
	idx    int
}

// usageSet is a set of records indexed by member and ordered by expiry.
type usageSet struct {
	m map[string]*usage
	h usageHeap
}

// lockScope returns key's member in its scope's accounting and the scope's
// quota shard, locked: the caller unlocks it.
func (s *MemoryStore) lockScope(scope, key string) (string, *quotaShard, error) {
	member, err := quotaMember(scope, key)
	if err != nil {
		return "", nil, err
	}
	qs := s.quota.shard(s.seed, scope)
	qs.mu.Lock()
	return member, qs, nil
}

// ClaimQuota implements [QuotaStore.ClaimQuota]. The quota is checked and
// the record stored under the scope's lock, so concurrent claims of one
// scope never exceed it.
func (s *MemoryStore) ClaimQuota(ctx context.Context, scope, key string, rec *Record, ttl time.Duration, q Quota) (*Record, error) {
	if err := checkWrite(ctx, ttl); err != nil {
		return nil, err
	}
	member, qs, err := s.lockScope(scope, key)
	if err != nil {
		return nil, err
	}
	defer qs.mu.Unlock()
	now := s.offset()
	defer qs.sweep(now, sweepPerWrite)
	if val, ok := s.peek(key, now); ok {
		return decodeStored(val) // replays and duplicates are never refused
	}
	u := qs.scopes[scope]
	if u != nil {
		u.prune(now)
		switch {
		case q.MaxInFlight > 0 && len(u.inFlight.h) >= q.MaxInFlight:
			return nil, &QuotaError{Limit: QuotaLimitInFlight, Max: int64(q.MaxInFlight)}
		case q.MaxStoredBytes > 0 && u.bytes >= q.MaxStoredBytes:
			return nil, &QuotaError{Limit: QuotaLimitStoredBytes, Max: q.MaxStoredBytes,
				RetryAfter: time.Duration(u.stored.h[0].exp - now)}
		}
	}
	existing, err := s.Claim(ctx, key, rec, ttl)
	if err == nil && existing == nil && q.MaxInFlight > 0 {
		u = qs.use(scope)
		qs.track(u, &u.inFlight, member, deadline(now, ttl), 0)
	}
	qs.dropIfEmpty(u)
	return existing, err
}

// CompleteQuota implements [QuotaStore.CompleteQuota].
func (s *MemoryStore) CompleteQuota(ctx context.Context, scope, key, token string, rec *Record, ttl time.Duration, q Quota) error {
	var buf [encodeBuffer]byte
	val, err := encodeCompletion(ctx, rec, ttl, buf[:0])
	if err != nil {
		return err
	}
	member, qs, err := s.lockScope(scope, key)
	if err != nil {
		return err
	}
	defer qs.mu.Unlock()
	switch err := s.completeEncoded(key, token, val, ttl, 0, time.Time{}); err {
	case nil:
	case errAlreadyComplete:
		return nil // accounted for when it was written
	default:
		return err
	}
	now := s.offset()
	u := qs.scopes[scope]
	if u != nil {
		u.inFlight.remove(member)
	}
	if q.MaxStoredBytes > 0 {
		u = qs.use(scope)
		u.prune(now)
		qs.track(u, &u.stored, member, deadline(now, ttl), int64(len(val)))
	}
	qs.dropIfEmpty(u)
	qs.sweep(now, sweepPerWrite)
	return nil
}

// ReleaseQuota implements [QuotaStore.ReleaseQuota].
func (s *MemoryStore) ReleaseQuota(ctx context.Context, scope, key, token string) error {
	member, qs, err := s.lockScope(scope, key)
	if err != nil {
		return err
	}
	defer qs.mu.Unlock()
	if err := s.Release(ctx, key, token); err != nil {
		return err
	}
	if u := qs.scopes[scope]; u != nil {
		u.inFlight.remove(member)
		qs.dropIfEmpty(u)
	}
	return nil
}

// ExtendQuota implements [QuotaStore.ExtendQuota].
func (s *MemoryStore) ExtendQuota(ctx context.Context, scope, key, token string, ttl time.Duration) error {
	member, qs, err := s.lockScope(scope, key)
	if err != nil {
		return err
	}
	defer qs.mu.Unlock()
	if err := s.Extend(ctx, key, token, ttl); err != nil {
		return err
	}
	now := s.offset()
	if u := qs.scopes[scope]; u != nil && u.inFlight.m[member] != nil {
		qs.track(u, &u.inFlight, member, deadline(now, ttl), 0)
	}
	return nil
}

// peek returns a copy of the encoded live record of key, if there is one.
func (s *MemoryStore) peek(key string, now int64) (string, bool) {
	sh, h := s.locate(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.lookup(h, key); e != nil && e.exp > now {
		return string(sh.valOf(e)), true
	}
	return "", false
}

func (mq *memoryQuota) shard(seed maphash.Seed, scope string) *quotaShard {
	return &mq.shards[maphash.String(seed, scope)%memoryShards]
}

// use returns the accounting of scope, creating it.
func (qs *quotaShard) use(scope string) *scopeUsage {
	if u := qs.scopes[scope]; u != nil {
		return u
	}
	if qs.scopes == nil {
		qs.scopes = make(map[string]*scopeUsage)
	}
	u := &scopeUsage{scope: scope}
	qs.scopes[scope] = u
	heap.Push(&qs.byEnd, u)
	return u
}

// track records member in set (one of u's) until exp, with size bytes.
func (qs *quotaShard) track(u *scopeUsage, set *usageSet, member string, exp, bytes int64) {
	if set == &u.stored {
		if old := set.m[member]; old != nil {
			u.bytes -= old.bytes
		}
		u.bytes += bytes
	}
	set.put(member, exp, bytes)
	if exp > u.end {
		u.end = exp
		heap.Fix(&qs.byEnd, u.idx)
	}
}

// dropIfEmpty forgets u (which may be nil) when it tracks nothing.
func (qs *quotaShard) dropIfEmpty(u *scopeUsage) {
	if u != nil && len(u.inFlight.h) == 0 && len(u.stored.h) == 0 && qs.scopes[u.scope] == u {
		delete(qs.scopes, u.scope)
		heap.Remove(&qs.byEnd, u.idx)
	}
}

// sweep forgets up to budget scopes whose entries have all expired.
func (qs *quotaShard) sweep(now int64, budget int) {
	for ; budget > 0 && len(qs.byEnd) > 0 && qs.byEnd[0].end <= now; budget-- {
		u := heap.Pop(&qs.byEnd).(*scopeUsage)
		delete(qs.scopes, u.scope)
	}
}

// prune removes u's expired entries.
func (u *scopeUsage) prune(now int64) {
	u.inFlight.prune(now)
	u.bytes -= u.stored.prune(now)
}

// put adds member or moves it to exp with size bytes.
func (set *usageSet) put(member string, exp, bytes int64) {
	if e := set.m[member]; e != nil {
		e.exp, e.bytes = exp, bytes
		heap.Fix(&set.h, e.idx)
		return
	}
	if set.m == nil {
		set.m = make(map[string]*usage)
	}
	e := &usage{member: member, exp: exp, bytes: bytes}
	set.m[member] = e
	heap.Push(&set.h, e)
}

func (set *usageSet) remove(member string) {
	if e := set.m[member]; e != nil {
		delete(set.m, member)
		heap.Remove(&set.h, e.idx)
	}
}

// prune removes the entries expired at now and returns their total size.
func (set *usageSet) prune(now int64) (bytes int64) {
	for len(set.h) > 0 && set.h[0].exp <= now {
		e := heap.Pop(&set.h).(*usage)
		delete(set.m, e.member)
		bytes += e.bytes
	}
	return bytes
}

// usageHeap orders usages by expiry, scopeHeap scopes by end.
type (
	usageHeap = indexedHeap[*usage]
	scopeHeap = indexedHeap[*scopeUsage]
)

func (u *usage) heapKey() int64          { return u.exp }
func (u *usage) setHeapIndex(i int)      { u.idx = i }
func (u *scopeUsage) heapKey() int64     { return u.end }
func (u *scopeUsage) setHeapIndex(i int) { u.idx = i }

// heapItem is an element of an indexedHeap: ordered by heapKey, told its
// position so that heap.Fix and heap.Remove can find it.
type heapItem interface {
	heapKey() int64
	setHeapIndex(int)
}

// indexedHeap is a container/heap min-heap of items that track their index.
type indexedHeap[T heapItem] []T

func (h indexedHeap[T]) Len() int           { return len(h) }
func (h indexedHeap[T]) Less(i, j int) bool { return h[i].heapKey() < h[j].heapKey() }
func (h indexedHeap[T]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].setHeapIndex(i)
	h[j].setHeapIndex(j)
}

func (h *indexedHeap[T]) Push(x any) {
	e := x.(T)
	e.setHeapIndex(len(*h))
	*h = append(*h, e)
}

func (h *indexedHeap[T]) Pop() any {
	old := *h
	e := old[len(old)-1]
	var zero T
	old[len(old)-1] = zero
	*h = old[:len(old)-1]
	return e
}
