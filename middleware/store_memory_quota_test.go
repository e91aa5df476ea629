package middleware

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// scopesTracked counts the scopes a MemoryStore keeps accounting for.
func (s *MemoryStore) scopesTracked() int {
	n := 0
	for i := range s.quota.shards {
		qs := &s.quota.shards[i]
		qs.mu.Lock()
		n += len(qs.scopes)
		qs.mu.Unlock()
	}
	return n
}

// TestMemoryQuotaForgetsIdleScopes checks that the accounting of scopes
// whose records all expired is dropped by later operations, so it stays
// bounded by the live records.
func TestMemoryQuotaForgetsIdleScopes(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s := NewMemoryStore(WithClock(clock))
	ctx := t.Context()
	q := Quota{MaxInFlight: 10, MaxStoredBytes: 1 << 20}
	const scopes = 200
	for i := range scopes {
		scope := "idemp:{s" + strconv.Itoa(i) + "}"
		key := scope + "k"
		if got, err := s.ClaimQuota(ctx, scope, key, &Record{State: StateProcessing, Token: "t"}, time.Minute, q); got != nil || err != nil {
			t.Fatalf("ClaimQuota(%s) = %v, %v, want nil, nil", key, got, err)
		}
		if err := s.CompleteQuota(ctx, scope, key, "t", &Record{State: StateCompleted, Status: 201}, time.Hour, q); err != nil {
			t.Fatalf("CompleteQuota(%s) = %v, want nil", key, err)
		}
	}
	if got := s.scopesTracked(); got != scopes {
		t.Fatalf("scopes tracked = %d, want %d", got, scopes)
	}

	mu.Lock()
	now = now.Add(2 * time.Hour) // every record expired
	mu.Unlock()
	for i := range 2000 { // claims and releases in fresh scopes sweep the idle ones
		scope := "idemp:{n" + strconv.Itoa(i) + "}"
		key := scope + "k"
		if _, err := s.ClaimQuota(ctx, scope, key, &Record{State: StateProcessing, Token: "t"}, time.Minute, q); err != nil {
			t.Fatalf("ClaimQuota(%s) = %v", key, err)
		}
		if err := s.ReleaseQuota(ctx, scope, key, "t"); err != nil {
			t.Fatalf("ReleaseQuota(%s) = %v", key, err)
		}
	}
	if got := s.scopesTracked(); got != 0 {
		t.Errorf("scopes tracked after they went idle = %d, want 0", got)
	}
}
