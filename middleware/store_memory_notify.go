package middleware

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

var _ Notifier = (*MemoryStore)(nil)

// memoryNotify holds the subscriptions of a [MemoryStore]: per key, the
// wake channels of its waiters. Its zero value is ready to use.
type memoryNotify struct {
	subs   atomic.Int64 // live subscriptions: waking with none takes no lock
	shards [memoryShards]notifyShard
}

type notifyShard struct {
	mu     sync.Mutex
	topics map[string]map[chan struct{}]struct{}
}

// Subscribe implements [Notifier]. The subscription is active when it
// returns: it is an in-process channel, registered under the shard lock
// that waking takes too.
func (s *MemoryStore) Subscribe(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	n := &s.notify
	sh := n.shard(s.seed, key)
	wake := make(chan struct{}, 1)
	sh.mu.Lock()
	if sh.topics == nil {
		sh.topics = make(map[string]map[chan struct{}]struct{})
	}
	waiters := sh.topics[key]
	if waiters == nil {
		waiters = make(map[chan struct{}]struct{}, 1)
		sh.topics[key] = waiters
	}
	waiters[wake] = struct{}{}
	n.subs.Add(1)
	sh.mu.Unlock()

	var once sync.Once
	stop := func() {
		once.Do(func() {
			sh.mu.Lock()
			delete(waiters, wake)
			if len(waiters) == 0 {
				delete(sh.topics, key)
			}
			n.subs.Add(-1)
			sh.mu.Unlock()
		})
	}
	return wake, stop, nil
}

// wake wakes the subscribers of key; a no-op while nobody subscribes.
func (s *MemoryStore) wake(key string) {
	n := &s.notify
	if n.subs.Load() == 0 {
		return
	}
	sh := n.shard(s.seed, key)
	sh.mu.Lock()
	for wake := range sh.topics[key] {
		select {
		case wake <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
	sh.mu.Unlock()
}

func (n *memoryNotify) shard(seed maphash.Seed, key string) *notifyShard {
	return &n.shards[maphash.String(seed, key)%memoryShards]
}

// topics returns how many keys have subscribers, for tests.
func (n *memoryNotify) topics() int {
	total := 0
	for i := range n.shards {
		sh := &n.shards[i]
		sh.mu.Lock()
		total += len(sh.topics)
		sh.mu.Unlock()
	}
	return total
}
