package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
	"github.com/idemkit/idemkit/middleware/storetest"
)

func TestRunMemoryStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) middleware.Store { return middleware.NewMemoryStore() })
}

// broken wraps a MemoryStore and breaks one rule of the Store contract.
type broken struct {
	*middleware.MemoryStore
	claimAlwaysAcquires bool
	releaseAnyToken     bool
	extendIgnored       bool
	ignoreContext       bool
}

func (b *broken) Claim(ctx context.Context, key string, rec *middleware.Record, ttl time.Duration) (*middleware.Record, error) {
	if b.ignoreContext {
		ctx = context.Background()
	}
	got, err := b.MemoryStore.Claim(ctx, key, rec, ttl)
	if b.claimAlwaysAcquires {
		return nil, err
	}
	return got, err
}

func (b *broken) Release(ctx context.Context, key, token string) error {
	if b.ignoreContext {
		ctx = context.Background()
	}
	err := b.MemoryStore.Release(ctx, key, token)
	if b.releaseAnyToken && errors.Is(err, middleware.ErrLeaseLost) {
		return nil
	}
	return err
}

func (b *broken) Extend(ctx context.Context, key, token string, ttl time.Duration) error {
	if b.extendIgnored {
		return nil
	}
	return b.MemoryStore.Extend(ctx, key, token, ttl)
}

func TestCheckDetectsBrokenStores(t *testing.T) {
	tests := []struct {
		name      string
		store     broken
		wantCases []string
	}{
		{"claim always acquires", broken{claimAlwaysAcquires: true}, []string{"ClaimReturnsExisting", "ConcurrentClaimsAcquireOnce"}},
		{"release without owner check", broken{releaseAnyToken: true}, []string{"WrongTokenIsLeaseLost", "ExpiredOwnerCannotTouchNewOwner"}},
		{"extend ignored", broken{extendIgnored: true}, []string{"ExtendKeepsProcessingAlive", "WrongTokenIsLeaseLost"}},
		{"context ignored", broken{ignoreContext: true}, []string{"CancelledContext"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := storetest.Check(func() middleware.Store {
				s := tt.store
				s.MemoryStore = middleware.NewMemoryStore()
				return &s
			})
			if err == nil {
				t.Fatalf("Check(%s) = nil, want failures", tt.name)
			}
			for _, c := range tt.wantCases {
				if !strings.Contains(err.Error(), c+":") {
					t.Errorf("Check(%s) = %v, want a failure of %s", tt.name, err, c)
				}
			}
		})
	}
}

func ExampleCheck() {
	err := storetest.Check(func() middleware.Store {
		return middleware.NewMemoryStore()
	})
	fmt.Println("MemoryStore conforms:", err == nil)
	// Output: MemoryStore conforms: true
}
