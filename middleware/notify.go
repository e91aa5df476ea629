package middleware

import "context"

// Notifier is implemented by stores that can wake the requests waiting for
// a key's processing record to end (see [IdempotencyConfig.MaxWait]):
// [MemoryStore] with in-process channels, [ValkeyStore] with sharded
// pub/sub. A store without it still supports waiting: waiters then poll it
// with backoff.
//
// The middleware uses it race-free: a waiter subscribes first, then reads
// the record (with Claim), and only then waits for a wake-up or its
// deadline, reading the record again after each wake-up. A notification
// can therefore never be missed, and a spurious wake-up costs one read.
type Notifier interface {
	// Subscribe starts watching key and returns once the subscription is
	// active: every Complete or Release of key that starts after Subscribe
	// returned, in this process or in another one sharing the store, sends
	// a value on wake. wake has a buffer of one, so notifications that arrive while
	// its value is unread coalesce into one; it may also receive a value
	// with no notification (after a reconnection, say, when notifications
	// may have been lost), so a receiver must re-read the record. wake is
	// never closed. stop ends the subscription and may be called more than
	// once; Subscribe must not leave anything behind once stop was called.
	Subscribe(ctx context.Context, key string) (wake <-chan struct{}, stop func(), err error)
}

// A Notifier store wakes the subscribers of a key itself, after every
// successful Complete and Release of that key (as part of the write where
// it can: ValkeyStore publishes inside its scripts), so the middleware never
// spends a round trip on it.
