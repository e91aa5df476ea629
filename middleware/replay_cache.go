package middleware

import (
	"container/list"
	"hash/maphash"
	"sync"
	"time"
)

// ReplayCache is a bounded in-process cache of completed records. A
// completed record never changes until it expires, so a cached copy can
// answer a replay with no store round trip; entries are dropped no later
// than the record's ExpiresAt, which is never after its expiry in the
// store. Set [IdempotencyConfig.ReplayCache] to use one; one cache may serve
// several middleware instances. It is safe for concurrent use.
type ReplayCache struct {
	seed   maphash.Seed
	shards [replayShards]replayShard
	now    func() time.Time
}

const replayShards = 16

type replayShard struct {
	mu         sync.Mutex
	entries    map[string]*list.Element
	lru        list.List // front: most recently used
	bytes      int64
	maxEntries int
	maxBytes   int64
}

type replayEntry struct {
	key  string
	rec  *Record
	size int64
}

// NewReplayCache returns a cache holding at most maxEntries records and
// about maxBytes bytes of them (keys, headers and bodies), evicting the
// least recently used. It panics when either bound is not positive.
func NewReplayCache(maxEntries int, maxBytes int64) *ReplayCache {
	if maxEntries <= 0 || maxBytes <= 0 {
		panic("middleware: NewReplayCache: maxEntries and maxBytes must be positive")
	}
	c := &ReplayCache{seed: maphash.MakeSeed(), now: time.Now}
	for i := range c.shards {
		s := &c.shards[i]
		s.entries = make(map[string]*list.Element)
		s.maxEntries = max(1, maxEntries/replayShards)
		s.maxBytes = max(1, maxBytes/replayShards)
	}
	return c
}

func (c *ReplayCache) shard(key string) *replayShard {
	return &c.shards[maphash.String(c.seed, key)%replayShards]
}

// get returns the cached completed record of key, or nil. The record is
// shared: callers must not modify it.
func (c *ReplayCache) get(key string) *Record {
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.entries[key]
	if !ok {
		return nil
	}
	e := el.Value.(*replayEntry)
	if !c.now().Before(e.rec.ExpiresAt) {
		s.removeLocked(el)
		return nil
	}
	s.lru.MoveToFront(el)
	return e.rec
}

// put caches rec (a completed record the caller no longer modifies) under
// key. Records larger than the shard's byte budget are not cached.
func (c *ReplayCache) put(key string, rec *Record) {
	if rec.State != StateCompleted || !c.now().Before(rec.ExpiresAt) {
		return
	}
	size := recordSize(key, rec)
	s := c.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if size > s.maxBytes {
		return
	}
	if el, ok := s.entries[key]; ok {
		s.removeLocked(el)
	}
	for s.lru.Len() > 0 && (s.lru.Len() >= s.maxEntries || s.bytes+size > s.maxBytes) {
		s.removeLocked(s.lru.Back())
	}
	s.entries[key] = s.lru.PushFront(&replayEntry{key: key, rec: rec, size: size})
	s.bytes += size
}

func (s *replayShard) removeLocked(el *list.Element) {
	e := s.lru.Remove(el).(*replayEntry)
	delete(s.entries, e.key)
	s.bytes -= e.size
}

// Len returns the number of cached records.
func (c *ReplayCache) Len() int {
	n := 0
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		n += s.lru.Len()
		s.mu.Unlock()
	}
	return n
}

// recordSize approximates the memory a cached record holds.
func recordSize(key string, rec *Record) int64 {
	n := int64(len(key) + len(rec.Body) + 128)
	for name, vals := range rec.Header {
		n += int64(len(name))
		for _, v := range vals {
			n += int64(len(v)) + 16
		}
	}
	return n
}
