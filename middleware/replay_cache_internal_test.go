package middleware

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// TestReplayCacheSecondChance: an entry hit since it was inserted survives
// the next eviction in its shard; an unreferenced one goes first.
func TestReplayCacheSecondChance(t *testing.T) {
	c := NewReplayCache(2*replayShards, 1<<20) // two entries per shard
	var keys []string
	for i := 0; len(keys) < 3; i++ {
		k := fmt.Sprintf("k%d", i)
		if c.shard(k) == &c.shards[0] {
			keys = append(keys, k)
		}
	}
	rec := &Record{State: StateCompleted, Status: 200, ExpiresAt: time.Now().Add(time.Hour)}
	cached := func(k string) bool { r, _ := c.get([]byte(k)); return r != nil }
	c.put(keys[0], rec)
	c.put(keys[1], rec)
	if !cached(keys[0]) {
		t.Fatalf("get(%s) = nil right after put", keys[0])
	}
	c.put(keys[2], rec)
	if !cached(keys[0]) {
		t.Errorf("get(%s) = nil: the referenced entry was evicted", keys[0])
	}
	if cached(keys[1]) {
		t.Errorf("get(%s) != nil: the unreferenced entry survived", keys[1])
	}
	if !cached(keys[2]) {
		t.Errorf("get(%s) = nil: the new entry is missing", keys[2])
	}
}

// TestReplayCacheFields: the header list kept with a cached record holds
// exactly the record's headers, with capped value slices, so that a
// Header.Add on a replayed response copies instead of writing into the
// shared record.
func TestReplayCacheFields(t *testing.T) {
	c := NewReplayCache(16, 1<<20)
	h := http.Header{"Content-Type": {"application/json"}, "Link": make([]string, 2, 8)}
	h["Link"][0], h["Link"][1] = "<a>", "<b>"
	c.put("k", &Record{State: StateCompleted, Status: 201, Header: h, ExpiresAt: time.Now().Add(time.Hour)})
	rec, fields := c.get([]byte("k"))
	if rec == nil || len(fields) != len(h) {
		t.Fatalf("get = %v, %d fields; want the record and %d fields", rec, len(fields), len(h))
	}
	for _, f := range fields {
		if !slices.Equal(f.vals, h[f.name]) || cap(f.vals) != len(f.vals) {
			t.Errorf("field %s = %q (cap %d), want %q with no spare capacity", f.name, f.vals, cap(f.vals), h[f.name])
		}
	}
}
