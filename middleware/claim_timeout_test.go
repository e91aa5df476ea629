package middleware_test

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// lateClaimStore lets its first Claim land on the real store but answers it
// with a timeout, as a store that applied the write after the client gave
// up does.
type lateClaimStore struct {
	middleware.Store
	late atomic.Bool
}

func (s *lateClaimStore) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	got, err := s.Store.Claim(ctx, key, rec, ttl)
	if err == nil && got == nil && s.late.CompareAndSwap(true, false) {
		return nil, fmt.Errorf("valkey claim: %w", context.DeadlineExceeded)
	}
	return got, err
}

// TestClaimTimeoutReleasesLateClaim: a claim that landed although its call
// timed out is deleted again, so the client's retry runs the request
// instead of getting "processing" for ProcessingTTL for a request that
// never ran.
func TestClaimTimeoutReleasesLateClaim(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			store := &lateClaimStore{Store: b.store}
			store.late.Store(true)
			var serial atomic.Int64
			h := &countingHandler{respond: created(&serial)}
			mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(store))(h)
			key := newKey()
			if got := do(t, mw, "POST", "/orders", key, "{}"); got.status != http.StatusServiceUnavailable {
				t.Fatalf("first = %d, want 503 (the claim timed out)", got.status)
			}
			eventually(t, time.Minute, "the retry runs the request", func() bool {
				got := do(t, mw, "POST", "/orders", key, "{}")
				if got.status != http.StatusAccepted && got.status != http.StatusCreated {
					t.Fatalf("retry = %d, want 202 until the late claim is released, then 201", got.status)
				}
				return got.status == http.StatusCreated
			})
			if n := h.calls.Load(); n != 1 {
				t.Errorf("handler calls = %d, want 1", n)
			}
		})
	}
}
