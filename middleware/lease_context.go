package middleware

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
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
