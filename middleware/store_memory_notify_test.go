package middleware

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"
)

// wakeKey changes key's record the way an owner does — a claim, then its
// release — which wakes the key's subscribers (the Notifier contract).
func wakeKey(t testing.TB, s Store, key string) {
	t.Helper()
	ctx := context.Background()
	token := "wake-" + rand.Text()
	if _, err := s.Claim(ctx, key, &Record{State: StateProcessing, Token: token}, time.Minute); err != nil {
		t.Fatalf("Claim(%s) error = %v, want nil", key, err)
	}
	if err := s.Release(ctx, key, token); err != nil {
		t.Fatalf("Release(%s) error = %v, want nil", key, err)
	}
}

// pending reports whether wake holds a wake-up, consuming it.
func pending(wake <-chan struct{}) bool {
	select {
	case <-wake:
		return true
	default:
		return false
	}
}

func TestMemoryNotifier(t *testing.T) {
	ctx := context.Background()

	t.Run("release after subscribe wakes once, coalesced", func(t *testing.T) {
		s := NewMemoryStore()
		wake, stop, err := s.Subscribe(ctx, "k")
		if err != nil {
			t.Fatalf("Subscribe(k) error = %v, want nil", err)
		}
		defer stop()
		if pending(wake) {
			t.Fatalf("wake-up pending before any change to k")
		}
		wakeKey(t, s, "k")
		wakeKey(t, s, "k")
		if !pending(wake) {
			t.Fatalf("no wake-up after k was released")
		}
		if pending(wake) {
			t.Errorf("two releases left two wake-ups, want them coalesced into one")
		}
	})

	t.Run("other keys do not wake", func(t *testing.T) {
		s := NewMemoryStore()
		wake, stop, _ := s.Subscribe(ctx, "k")
		defer stop()
		wakeKey(t, s, "other")
		if pending(wake) {
			t.Errorf("releasing other woke a subscriber of k")
		}
	})

	t.Run("every subscriber of a key wakes", func(t *testing.T) {
		s := NewMemoryStore()
		var wakes []<-chan struct{}
		for range 50 {
			wake, stop, _ := s.Subscribe(ctx, "k")
			defer stop()
			wakes = append(wakes, wake)
		}
		if got := s.notify.topics(); got != 1 {
			t.Errorf("topics after 50 subscriptions to one key = %d, want 1", got)
		}
		wakeKey(t, s, "k")
		for i, wake := range wakes {
			if !pending(wake) {
				t.Errorf("subscriber %d not woken", i)
			}
		}
	})

	t.Run("stop is idempotent and leaves nothing", func(t *testing.T) {
		s := NewMemoryStore()
		var stops []func()
		for range 10 {
			_, stop, _ := s.Subscribe(ctx, "k")
			stops = append(stops, stop)
		}
		var wg sync.WaitGroup
		for _, stop := range stops {
			wg.Go(stop)
			wg.Go(stop)
		}
		wg.Wait()
		if got := s.notify.topics(); got != 0 {
			t.Errorf("topics after every stop = %d, want 0", got)
		}
		if got := s.notify.subs.Load(); got != 0 {
			t.Errorf("live subscriptions after every stop = %d, want 0", got)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		s := NewMemoryStore()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.Subscribe(cctx, "k"); !errors.Is(err, context.Canceled) {
			t.Errorf("Subscribe(cancelled) error = %v, want context.Canceled", err)
		}
		if got := s.notify.topics(); got != 0 {
			t.Errorf("topics after a failed Subscribe = %d, want 0", got)
		}
	})
}
