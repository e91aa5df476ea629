package middleware

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valkey-io/valkey-go"
)

var _ Notifier = (*ValkeyStore)(nil)

const (
	// notifySuffix ends the name of a key's notification channel.
	notifySuffix = ":done"
	// unsubscribeTimeout bounds the SUNSUBSCRIBE sent when the last local
	// waiter of a channel leaves.
	unsubscribeTimeout = time.Second
	// resubscribeFirst and resubscribeMax bound the backoff between
	// attempts to subscribe again after the server or the connection
	// dropped a subscription that still has waiters.
	resubscribeFirst = 50 * time.Millisecond
	resubscribeMax   = 2 * time.Second
)

// valkeyNotify multiplexes the waiters of a [ValkeyStore]: one sharded
// pub/sub subscription per channel in this process, however many requests
// wait for that key. Its zero value is ready to use.
type valkeyNotify struct {
	mu       sync.Mutex
	topics   map[string]*shardTopic // subscriptions with waiters, by channel
	draining map[string]*shardTopic // subscriptions without waiters, unsubscribing
}

// shardTopic is one channel's subscription and its local waiters.
type shardTopic struct {
	channel   string
	waiters   map[chan struct{}]struct{} // guarded by valkeyNotify.mu
	prev      *shardTopic                // a draining subscription of the same channel
	ctx       context.Context            // cancelled when the last waiter leaves
	cancel    context.CancelFunc
	confirmed atomic.Bool
	ready     chan struct{} // closed when the server first confirms the subscription
	done      chan struct{} // closed when the subscription ended (after prev's)
}

// Subscribe implements [Notifier] with sharded pub/sub (SSUBSCRIBE) on the
// channel of key (notifyChannel: "{key}:done", in the key's hash slot), on
// which Complete and Release publish. It returns once the server has
// confirmed the subscription.
//
// All waiters of one key in this process share one subscription: the first
// starts it, the others join it, and the last one to stop ends it with
// SUNSUBSCRIBE. Subscriptions go through the client's Receive on its shared,
// auto-pipelined connection to the node that owns the channel's slot (RESP3
// carries pushed messages beside ordinary replies), so waiting opens no
// connection; one goroutine per subscribed channel relays its messages.
// When the server or the connection drops a subscription that still has
// waiters, it is made again and every waiter is woken once it is active,
// because notifications may have been lost meanwhile.
func (s *ValkeyStore) Subscribe(ctx context.Context, key string) (<-chan struct{}, func(), error) {
	channel := notifyChannel(key)
	wake := make(chan struct{}, 1)
	n := &s.notify
	n.mu.Lock()
	t := n.topics[channel]
	if t == nil {
		t = &shardTopic{channel: channel, waiters: make(map[chan struct{}]struct{}, 1),
			prev: n.draining[channel], ready: make(chan struct{}), done: make(chan struct{})}
		t.ctx, t.cancel = context.WithCancel(context.Background())
		if n.topics == nil {
			n.topics = make(map[string]*shardTopic)
		}
		n.topics[channel] = t
		go s.receive(t)
	}
	t.waiters[wake] = struct{}{}
	n.mu.Unlock()

	var once sync.Once
	stop := func() { once.Do(func() { n.leave(t, wake) }) }
	select {
	case <-t.ready:
		return wake, stop, nil
	case <-ctx.Done():
		stop()
		return nil, nil, fmt.Errorf("idempotency: valkey ssubscribe %s: %w", channel, context.Cause(ctx))
	}
}

// receive runs one channel's subscription until its last waiter leaves.
func (s *ValkeyStore) receive(t *shardTopic) {
	n := &s.notify
	defer func() {
		n.mu.Lock()
		if n.draining[t.channel] == t {
			delete(n.draining, t.channel)
		}
		n.mu.Unlock()
		close(t.done)
	}()
	if t.prev != nil {
		// Its SUNSUBSCRIBE must not cancel our SSUBSCRIBE on the server.
		<-t.prev.done
	}
	ctx := valkey.WithOnSubscriptionHook(t.ctx, func(sub valkey.PubSubSubscription) {
		if sub.Kind != "ssubscribe" || sub.Channel != t.channel {
			return
		}
		if t.confirmed.CompareAndSwap(false, true) {
			close(t.ready)
			return
		}
		n.wake(t) // subscribed again: notifications may have been lost meanwhile
	})
	ctx = valkey.WithOnReceiveReturnHook(ctx, func(err error, c valkey.CommandClient) error {
		if t.ctx.Err() != nil {
			// Receive does not unsubscribe; do it on the same connection.
			uctx, cancel := context.WithTimeout(context.Background(), unsubscribeTimeout)
			c.Do(uctx, c.B().Sunsubscribe().Channel(t.channel).Build())
			cancel()
		}
		return err
	})
	delay := resubscribeFirst
	for t.ctx.Err() == nil {
		s.client.Receive(ctx, s.client.B().Ssubscribe().Channel(t.channel).Build(), func(valkey.PubSubMessage) {
			n.wake(t)
		})
		if t.ctx.Err() != nil {
			return
		}
		// The server (slot migration) or the connection ended the
		// subscription while waiters remain: wake them to re-read the
		// record, and subscribe again.
		n.wake(t)
		timer := time.NewTimer(delay)
		select {
		case <-t.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		delay = min(2*delay, resubscribeMax)
	}
}

// leave removes a waiter; the last one ends the subscription.
func (n *valkeyNotify) leave(t *shardTopic, wake chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(t.waiters, wake)
	if len(t.waiters) > 0 || n.topics[t.channel] != t {
		return
	}
	delete(n.topics, t.channel)
	if n.draining == nil {
		n.draining = make(map[string]*shardTopic)
	}
	n.draining[t.channel] = t
	t.cancel()
}

// wake sends every waiter of t a wake-up, unless one is pending.
func (n *valkeyNotify) wake(t *shardTopic) {
	n.mu.Lock()
	for wake := range t.waiters {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	n.mu.Unlock()
}

// counts returns the subscriptions with waiters and those still
// unsubscribing, for tests.
func (n *valkeyNotify) counts() (active, draining int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.topics), len(n.draining)
}

// notifyChannel returns the sharded pub/sub channel of key, in key's hash
// slot when it can be: "{key}:done", or "key:done" when key has a hash tag
// of its own (or a stray "}" that would break the wrapping; such a channel
// may then live on another node, which costs a hop, not correctness).
func notifyChannel(key string) string {
	if strings.IndexByte(key, '}') >= 0 {
		return key + notifySuffix
	}
	return "{" + key + "}" + notifySuffix
}
