package middleware_test

import (
	"errors"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// TestValkeyStoreUnackedClaimWakesWaiters: a claim that too few replicas
// acknowledged is deleted again, and the deletion wakes the key's waiters
// like any release, so a waiting duplicate claims at once instead of
// sleeping out its wait.
func TestValkeyStoreUnackedClaimWakesWaiters(t *testing.T) {
	s := valkeytest.StartServer(t) // no replica: every acknowledged write falls short
	acked := middleware.NewValkeyStore(s.Client(t), middleware.WithReplicaAcks(1, 20*time.Millisecond))
	key := "idemp:" + newKey()
	wake, stop, err := acked.Subscribe(t.Context(), key)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	defer stop()
	got, err := acked.Claim(t.Context(), key, processingRecord("0123456789abcdef0123456789abcdef"), time.Minute)
	if !errors.Is(err, middleware.ErrReplicaAck) || got != nil {
		t.Fatalf("Claim = %+v, %v, want nil, ErrReplicaAck", got, err)
	}
	if v := get(t, s, key); v != "" {
		t.Errorf("GET after the unacknowledged claim = %q, want it deleted", v)
	}
	select {
	case <-wake:
	case <-time.After(30 * time.Second):
		t.Fatal("the waiter was not woken by the deletion of the unacknowledged claim")
	}
}
