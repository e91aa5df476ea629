package middleware

import (
	"context"
	"crypto/rand"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/valkey-io/valkey-go"
)

// notifyTarget is a Valkey deployment for the notifier tests.
type notifyTarget struct {
	name   string
	nodes  []*valkeytest.Server
	client func(t *testing.T) valkey.Client
}

func notifyTargets(t *testing.T) []notifyTarget {
	s := valkeytest.StartServer(t)
	c := valkeytest.StartCluster(t)
	return []notifyTarget{
		{name: "valkey", nodes: []*valkeytest.Server{s}, client: func(t *testing.T) valkey.Client { return s.Client(t) }},
		{name: "cluster", nodes: c.Nodes, client: func(t *testing.T) valkey.Client { return c.Client(t) }},
	}
}

// shardSubscribers returns how many connections are subscribed to channel,
// summed over the nodes (only the slot's owner has any).
func shardSubscribers(t *testing.T, nodes []*valkeytest.Server, channel string) int {
	t.Helper()
	total := 0
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		out, err := n.Do(ctx, "PUBSUB", "SHARDNUMSUB", channel)
		cancel()
		if err != nil {
			t.Fatalf("PUBSUB SHARDNUMSUB %s on %s: %v", channel, n.Addr, err)
		}
		lines := strings.Split(out, "\n")
		c, err := strconv.Atoi(lines[len(lines)-1])
		if err != nil {
			t.Fatalf("PUBSUB SHARDNUMSUB %s on %s = %q, want channel and count", channel, n.Addr, out)
		}
		total += c
	}
	return total
}

// patience bounds the wait for something that must happen: far beyond
// what it takes even on a busy machine, so that only an event that never
// comes fails a test. (The external tests have their own.)
const patience = 60 * time.Second

// waitFor fails the test unless cond holds within d, polling every 1ms,
// 2ms, 4ms ... up to 100ms.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 100*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(pause)
	}
}

// woken fails the test unless wake receives within d.
func woken(t *testing.T, wake <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	select {
	case <-wake:
	case <-time.After(d):
		t.Fatalf("%s: no wake-up within %v", what, d)
	}
}

func TestValkeyNotifier(t *testing.T) {
	for _, tg := range notifyTargets(t) {
		t.Run(tg.name, func(t *testing.T) {
			t.Run("one subscription for many waiters", func(t *testing.T) { testOneSubscription(t, tg) })
			t.Run("notify right after subscribe is never missed", func(t *testing.T) { testNoMissedWakeup(t, tg) })
			t.Run("subscribe again while unsubscribing", func(t *testing.T) { testResubscribeChurn(t, tg) })
			t.Run("another process notifies", func(t *testing.T) { testCrossProcess(t, tg) })
		})
	}
}

func testOneSubscription(t *testing.T, tg notifyTarget) {
	ctx := context.Background()
	s := NewValkeyStore(tg.client(t))
	// One hash tag: the warm-up and the test use the same node's connection.
	tag := "{idemp:" + rand.Text() + "}"
	baseline := warmUp(t, s, tg, tag+":warm-up")
	key := tag + ":k"
	channel := notifyChannel(key)

	var (
		mu    sync.Mutex
		wakes []<-chan struct{}
		stops []func()
		wg    sync.WaitGroup
	)
	for range 50 {
		wg.Go(func() {
			wake, stop, err := s.Subscribe(ctx, key)
			if err != nil {
				t.Errorf("Subscribe(%s) error = %v, want nil", key, err)
				return
			}
			mu.Lock()
			wakes, stops = append(wakes, wake), append(stops, stop)
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := shardSubscribers(t, tg.nodes, channel); got != 1 {
		t.Errorf("server subscriptions to %s with 50 waiters = %d, want 1", channel, got)
	}
	if active, _ := s.notify.counts(); active != 1 {
		t.Errorf("local subscriptions with 50 waiters of one key = %d, want 1", active)
	}
	wakeKey(t, s, key)
	for i, wake := range wakes {
		woken(t, wake, patience, "waiter "+strconv.Itoa(i))
	}
	for _, stop := range stops {
		stop()
		stop() // idempotent
	}
	waitFor(t, patience, "SUNSUBSCRIBE after the last waiter left", func() bool {
		return shardSubscribers(t, tg.nodes, channel) == 0
	})
	waitFor(t, patience, "local subscriptions gone", func() bool {
		active, draining := s.notify.counts()
		return active == 0 && draining == 0
	})
	settled(t, baseline)
}

// warmUp runs one subscription through s and returns the goroutine count
// once it ended: the client's connections then run their background
// goroutines, which are not ours to count.
func warmUp(t *testing.T, s *ValkeyStore, tg notifyTarget, key string) int {
	t.Helper()
	_, stop, err := s.Subscribe(context.Background(), key)
	if err != nil {
		t.Fatalf("Subscribe(%s) error = %v, want nil", key, err)
	}
	stop()
	waitFor(t, patience, "warm-up subscription ended", func() bool {
		active, draining := s.notify.counts()
		return active == 0 && draining == 0 && shardSubscribers(t, tg.nodes, notifyChannel(key)) == 0
	})
	return runtime.NumGoroutine()
}

// settled fails the test unless the goroutine count falls back to baseline
// (the count before the code under test started goroutines),
// printing every goroutine when it does not.
func settled(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for pause := time.Millisecond; runtime.NumGoroutine() > baseline && time.Now().Before(deadline); pause = min(2*pause, 100*time.Millisecond) {
		time.Sleep(pause)
	}
	if n := runtime.NumGoroutine(); n > baseline {
		buf := make([]byte, 1<<20)
		t.Fatalf("goroutines = %d, want <= %d (the baseline)\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
}

func testNoMissedWakeup(t *testing.T, tg notifyTarget) {
	ctx := context.Background()
	s := NewValkeyStore(tg.client(t))
	for i := range 50 {
		key := "idemp:" + rand.Text()
		wake, stop, err := s.Subscribe(ctx, key)
		if err != nil {
			t.Fatalf("Subscribe(%s) error = %v, want nil", key, err)
		}
		wakeKey(t, s, key)
		woken(t, wake, patience, "round "+strconv.Itoa(i))
		stop()
	}
}

// testResubscribeChurn subscribes to a key again while its previous
// subscription is still being torn down: the SUNSUBSCRIBE of the old one
// must not cancel the new one on the server.
func testResubscribeChurn(t *testing.T, tg notifyTarget) {
	ctx := context.Background()
	s := NewValkeyStore(tg.client(t))
	key := "idemp:" + rand.Text()
	for i := range 30 {
		_, stop, err := s.Subscribe(ctx, key)
		if err != nil {
			t.Fatalf("round %d: Subscribe error = %v, want nil", i, err)
		}
		stop()
		wake, stop2, err := s.Subscribe(ctx, key)
		if err != nil {
			t.Fatalf("round %d: second Subscribe error = %v, want nil", i, err)
		}
		wakeKey(t, s, key)
		woken(t, wake, patience, "round "+strconv.Itoa(i))
		stop2()
	}
	waitFor(t, patience, "channel unsubscribed after the churn", func() bool {
		return shardSubscribers(t, tg.nodes, notifyChannel(key)) == 0
	})
}

func testCrossProcess(t *testing.T, tg notifyTarget) {
	ctx := context.Background()
	waiter := NewValkeyStore(tg.client(t))
	owner := NewValkeyStore(tg.client(t)) // another client: another process
	key := "idemp:" + rand.Text()
	wake, stop, err := waiter.Subscribe(ctx, key)
	if err != nil {
		t.Fatalf("Subscribe error = %v, want nil", err)
	}
	defer stop()
	// The owner, another client, claims and completes the key: the
	// complete script's SPUBLISH reaches the waiter's client.
	token := "owner-" + rand.Text()
	if _, err := owner.Claim(ctx, key, &Record{State: StateProcessing, Token: token}, time.Minute); err != nil {
		t.Fatalf("Claim error = %v, want nil", err)
	}
	if err := owner.Complete(ctx, key, token, &Record{State: StateCompleted, Status: 201}, time.Minute); err != nil {
		t.Fatalf("Complete error = %v, want nil", err)
	}
	woken(t, wake, patience, "completion by another client")
}

// TestValkeyNotifyChannelSlot checks that a key's channel lives in the key's
// slot. (A key with a stray "}" and no hash tag, like "{}k", is the
// documented exception: no channel name can share its slot.)
func TestValkeyNotifyChannelSlot(t *testing.T) {
	c := valkeytest.StartCluster(t)
	keys := []string{"idemp:3fa9c0", "idemp:" + rand.Text(), "{tenant}:k", "x{t}y", "a{b", "plain"}
	slot := func(s string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		out, err := c.Nodes[0].Do(ctx, "CLUSTER", "KEYSLOT", s)
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT %q: %v", s, err)
		}
		return out
	}
	for _, key := range keys {
		ch := notifyChannel(key)
		if got, want := slot(ch), slot(key); got != want {
			t.Errorf("slot of notifyChannel(%q) = %q = %s, want the key's slot %s", key, ch, got, want)
		}
	}
}
