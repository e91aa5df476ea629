package middleware

import (
	"fmt"
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
	c.put(keys[0], rec)
	c.put(keys[1], rec)
	if c.get(keys[0]) == nil {
		t.Fatalf("get(%s) = nil right after put", keys[0])
	}
	c.put(keys[2], rec)
	if c.get(keys[0]) == nil {
		t.Errorf("get(%s) = nil: the referenced entry was evicted", keys[0])
	}
	if c.get(keys[1]) != nil {
		t.Errorf("get(%s) != nil: the unreferenced entry survived", keys[1])
	}
	if c.get(keys[2]) == nil {
		t.Errorf("get(%s) = nil: the new entry is missing", keys[2])
	}
}
