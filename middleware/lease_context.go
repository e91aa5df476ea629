package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"sync/atomic"
	"time"
)

// Lease describes the claim under which a handler runs. Get it with
// [LeaseFrom] inside a handler behind [Idempotency].
type Lease struct {
	// Key is the stored key of the claim (KeyPrefix + hash), as it appears
	// in events and logs; never the client's raw key.
	Key string
	// Token identifies this claim (hex).
	Token string
	// Fence is the claim's fencing number. It grows every time the key is
	// claimed again — after a crashed owner's claim expired, or after a
	// release — so a handler can make its own writes safe against an older
	// owner that still runs:
	//
	//	UPDATE orders SET ..., fence = $1 WHERE id = $2 AND fence < $1
	//
	// It is the claim time in microseconds since the Unix epoch, so it is
	// monotonic across servers whose clocks differ by less than
	// ProcessingTTL, the least time between a claim's last renewal and its
	// takeover.
	Fence uint64

	scope  string
	rawKey string
}

type leaseKey struct{}

// leaseContext is the handler's context: its parent, plus the Lease as the
// value of leaseKey (one allocation less than context.WithValue), plus
// cancellation when the lease is lost.
//
// The cancelable child of the parent is derived lazily, on the first call
// to Done (which every context derived from this one makes) or when the
// lease is lost: most handlers never ask, and deriving one costs an
// allocation, a lock of the parent and an entry in its children map on
// every request. Until it exists, Err, Value (context.Cause included) and
// Deadline are the parent's, which is exactly what the child would answer.
type leaseContext struct {
	parent context.Context
	lease  *Lease

	mu    sync.Mutex                  // serialises deriving the child
	child atomic.Pointer[cancelChild] // nil until needed; read without the lock
}

// cancelChild is the cancelable child of a leaseContext's parent.
type cancelChild struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
}

// derived returns the cancelable child, deriving it on first use.
func (c *leaseContext) derived() *cancelChild {
	if ch := c.child.Load(); ch != nil {
		return ch
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := c.child.Load()
	if ch == nil {
		ch = &cancelChild{}
		ch.ctx, ch.cancel = context.WithCancelCause(c.parent)
		c.child.Store(ch)
	}
	return ch
}

// current returns the cancelable child, or the parent before one exists.
func (c *leaseContext) current() context.Context {
	if ch := c.child.Load(); ch != nil {
		return ch.ctx
	}
	return c.parent
}

// Deadline returns the parent's deadline: cancellation adds none.
func (c *leaseContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }

// Done returns the channel closed when the parent is done or the lease is
// lost.
func (c *leaseContext) Done() <-chan struct{} { return c.derived().ctx.Done() }

// Err returns context.Canceled once the lease is lost, else the parent's.
func (c *leaseContext) Err() error { return c.current().Err() }

// Value returns the lease for leaseKey and defers to the context otherwise.
func (c *leaseContext) Value(key any) any {
	if _, ok := key.(leaseKey); ok {
		return c.lease
	}
	return c.current().Value(key)
}

// lose cancels the context with cause (the lease was lost).
func (c *leaseContext) lose(cause error) {
	c.derived().cancel(cause)
}

// release frees the child, if one was derived, when the handler returned.
func (c *leaseContext) release() {
	if ch := c.child.Load(); ch != nil {
		ch.cancel(nil)
	}
}

// LeaseFrom returns the lease of the request whose context is ctx, or
// false outside a handler run by [Idempotency] (no key, replay, skipped).
// It is a copy: changing it cannot change the claim the middleware holds.
func LeaseFrom(ctx context.Context) (Lease, bool) {
	l, ok := ctx.Value(leaseKey{}).(*Lease)
	if !ok {
		return Lease{}, false
	}
	return *l, true
}

// DerivedKey returns a stable idempotency key for a downstream call made
// while handling this request, e.g. the Idempotency-Key for a payment
// provider: identical on every retry of the same request (same scope and
// key), different for every step name. See [DeriveKey].
func (l *Lease) DerivedKey(step string) string {
	return DeriveKey(l.scope, l.rawKey, step)
}

// DeriveKey returns hex(SHA-256(scope, key, step)) truncated to 128 bits,
// with every field length-prefixed: a 32-character key that reveals none of
// its inputs, the same for the same inputs and different when any differs.
func DeriveKey(scope, key, step string) string {
	var b []byte
	b = append(b, "idemkit/derive\x00"...)
	for _, f := range [...]string{scope, key, step} {
		b = binary.BigEndian.AppendUint64(b, uint64(len(f)))
		b = append(b, f...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
