package middleware

import (
	"container/list"
	"hash/maphash"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ReplayCache is a bounded in-process cache of completed records. A
// completed record never changes until it expires, so a cached copy can
// answer a replay with no store round trip. A record enters the cache on
// its first replay from the store (most keys are never retried, so caching
// every write would spend memory on records nobody asks for again); entries are dropped no later
// than the record's ExpiresAt, which is never after its expiry in the
// store. Set [IdempotencyConfig.ReplayCache] to use one; one cache may serve
// several middleware instances. It is safe for concurrent use.
type ReplayCache struct {
	seed   maphash.Seed
	shards [replayShards]replayShard
	now    func() time.Time
}

const replayShards = 16

// replayShard is a CLOCK approximation of LRU: a hit takes only the read
// lock and sets the entry's referenced bit; eviction, under the write lock,
// gives referenced entries at the back a second chance.
type replayShard struct {
	mu         sync.RWMutex
	entries    map[string]*list.Element
	lru        list.List // front: most recently inserted or given a second chance
	bytes      int64
	maxEntries int
	maxBytes   int64
}

type replayEntry struct {
	key        string
	rec        *Record
	fields     []headerField // rec.Header as a list, for replay
	size       int64
	referenced atomic.Bool
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
	return c.shardOf(maphash.String(c.seed, key))
}

// shardOf returns the shard of a key whose hash is h: maphash.String and
// maphash.Bytes hash the same content alike, so a key found as bytes (get)
// lands in the shard it was put in as a string.
func (c *ReplayCache) shardOf(h uint64) *replayShard {
	return &c.shards[h%replayShards]
}

// get returns the cached completed record of key and its header as a list,
// or nil. Both are shared: callers must not modify them. The key is bytes
// (the caller's stack buffer): a hit makes no key string.
func (c *ReplayCache) get(key []byte) (*Record, []headerField) {
	s := c.shardOf(maphash.Bytes(c.seed, key))
	s.mu.RLock()
	el, ok := s.entries[string(key)]
	if !ok {
		s.mu.RUnlock()
		return nil, nil
	}
	e := el.Value.(*replayEntry)
	s.mu.RUnlock()
	if !c.now().Before(e.rec.ExpiresAt) {
		s.mu.Lock()
		if cur, ok := s.entries[string(key)]; ok && cur == el {
			s.removeLocked(el)
		}
		s.mu.Unlock()
		return nil, nil
	}
	if !e.referenced.Load() {
		e.referenced.Store(true)
	}
	return e.rec, e.fields
}

// put caches rec (a completed record the caller no longer modifies) under
// key. Records larger than the shard's byte budget are not cached.
func (c *ReplayCache) put(key string, rec *Record) {
	if rec.State != StateCompleted || !c.now().Before(rec.ExpiresAt) {
		return
	}
	rec = ownStrings(rec)
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
	for chances := s.lru.Len(); s.lru.Len() > 0 && (s.lru.Len() >= s.maxEntries || s.bytes+size > s.maxBytes); {
		back := s.lru.Back()
		if e := back.Value.(*replayEntry); chances > 0 && e.referenced.Load() {
			e.referenced.Store(false) // second chance
			s.lru.MoveToFront(back)
			chances--
			continue
		}
		s.removeLocked(back)
	}
	s.entries[key] = s.lru.PushFront(&replayEntry{key: key, rec: rec, fields: headerFields(rec.Header), size: size})
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
		s.mu.RLock()
		n += s.lru.Len()
		s.mu.RUnlock()
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

// headerField is one header of a cached record, its values capped.
type headerField struct {
	name string
	vals []string
}

// headerFields returns h as a list (non-nil, even when h is empty).
func headerFields(h http.Header) []headerField {
	fields := make([]headerField, 0, len(h))
	for name, vals := range h {
		fields = append(fields, headerField{name, vals[:len(vals):len(vals)]})
	}
	return fields
}

// ownStrings returns rec with header strings of their own: a record decoded
// from a Valkey reply shares the reply's memory, body included, and a cached
// header must not keep that alive for its whole life.
func ownStrings(rec *Record) *Record {
	if len(rec.Header) == 0 {
		return rec
	}
	c := *rec
	c.Header = make(http.Header, len(rec.Header))
	for name, vals := range rec.Header {
		vs := make([]string, len(vals))
		for i, v := range vals {
			vs[i] = strings.Clone(v)
		}
		c.Header[strings.Clone(name)] = vs
	}
	c.Token = ""
	return &c
}
