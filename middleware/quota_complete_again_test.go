package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// TestQuotaCompleteAgain: with a quota, too, a Complete of the same claim's
// final record again (its first answer lost) is success and leaves the
// record as it is; another claim's record is a lost lease.
func TestQuotaCompleteAgain(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			qs := b.store.(middleware.QuotaStore)
			ctx := t.Context()
			scope := "idemp:{" + newKey() + "}"
			key, token := scope+"k", "0123456789abcdef0123456789abcdef"
			q := middleware.Quota{MaxInFlight: 5, MaxStoredBytes: 1 << 20}
			proc := &middleware.Record{State: middleware.StateProcessing, Token: token, Fence: 9, ExpiresAt: time.Now().Add(time.Minute)}
			if got, err := qs.ClaimQuota(ctx, scope, key, proc, time.Minute, q); got != nil || err != nil {
				t.Fatalf("ClaimQuota = %v, %v", got, err)
			}
			done := &middleware.Record{State: middleware.StateCompleted, Status: 201, Fence: 9, Body: []byte(`{"id":1}`),
				ExpiresAt: time.Now().Add(time.Minute).Truncate(time.Millisecond)}
			for i := range 3 {
				if err := qs.CompleteQuota(ctx, scope, key, token, done, time.Minute, q); err != nil {
					t.Fatalf("CompleteQuota #%d = %v, want nil", i+1, err)
				}
			}
			other := *done
			other.Fence = 10
			if err := qs.CompleteQuota(ctx, scope, key, token, &other, time.Minute, q); !errors.Is(err, middleware.ErrLeaseLost) {
				t.Errorf("CompleteQuota of another claim's record = %v, want ErrLeaseLost", err)
			}
			got, err := b.store.Claim(ctx, key, proc, time.Minute)
			if err != nil || got == nil || got.State != middleware.StateCompleted || string(got.Body) != `{"id":1}` {
				t.Errorf("the key holds %+v, %v, want the completed record", got, err)
			}
		})
	}
}
