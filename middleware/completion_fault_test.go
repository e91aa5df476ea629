package middleware_test

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
	"github.com/valkey-io/valkey-go"
)

// aof makes a server persist every write before answering, as a
// deployment that must keep its records through a restart does.
var aof = valkeytest.WithArgs("--appendonly", "yes", "--appendfsync", "always")

// outageRig runs one keyed request whose handler finishes while the store
// is down, and checks what its retries get once the store is back.
type outageRig struct {
	ev      events
	h       *countingHandler
	mw      http.Handler
	key     string
	skey    atomic.Value // the stored key, from the acquired event
	started chan struct{}
	release chan struct{}
}

const outageBody = `{"booking":"b-42","zone":"A","seats":2}`

func newOutageRig(t *testing.T, client valkey.Client) *outageRig {
	t.Helper()
	g := &outageRig{key: newKey(), started: make(chan struct{}, 1), release: make(chan struct{})}
	g.h = &countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			g.started <- struct{}{}
			<-g.release
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Location", "/bookings/b-42")
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(outageBody))
	}}
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewValkeyStore(client))
	cfg.StoreTimeout = 200 * time.Millisecond
	cfg.ProcessingTTL = 30 * time.Second // longer than every outage below
	cfg.OnEvent = func(e middleware.Event) {
		g.ev.add(e)
		if e.Kind == middleware.EventAcquired {
			g.skey.Store(e.Key)
		}
	}
	g.mw = middleware.Idempotency(cfg)(g.h)
	return g
}

// start sends the request and returns once its handler runs; finish lets
// the handler answer and returns what the client got.
func (g *outageRig) start(t *testing.T) func() result {
	t.Helper()
	done := make(chan result)
	go func() { done <- do(t, g.mw, "POST", "/slow", g.key, "{}") }()
	<-g.started
	return func() result {
		close(g.release)
		return <-done
	}
}

// storedKey returns the key the middleware stored the request under.
func (g *outageRig) storedKey() string { s, _ := g.skey.Load().(string); return s }

// check fails the test unless the first answer was the 201 and a retry,
// once the store is back, replays it byte for byte; the handler ran once
// and no event claims a lost lease or a tombstone.
func (g *outageRig) check(t *testing.T, first result) {
	t.Helper()
	if first.status != http.StatusCreated || first.body != outageBody {
		t.Fatalf("first = %d %q, want 201 %q (the client gets its response)", first.status, first.body, outageBody)
	}
	// 503 while the store comes back, 202 until the record is written.
	awaitReplay(t, g.mw, "/slow", g.key, outageBody, "/bookings/b-42", http.StatusAccepted, http.StatusServiceUnavailable)
	if n := g.h.calls.Load(); n != 1 {
		t.Errorf("handler calls = %d, want 1", n)
	}
	noEvents(t, &g.ev, middleware.EventTombstoned, middleware.EventLeaseLost, middleware.EventCompletionDropped)
}

// TestCompletionValkeyOutage: Valkey (with an fsync-always AOF) dies as a
// handler finishes and comes back after 2 s or 5 s; the retry then replays
// the original answer, never a tombstone or a second run.
func TestCompletionValkeyOutage(t *testing.T) {
	for _, outage := range []time.Duration{2 * time.Second, 5 * time.Second} {
		t.Run(outage.String(), func(t *testing.T) {
			s := valkeytest.StartServer(t, aof)
			g := newOutageRig(t, s.Client(t))
			finish := g.start(t)
			s.Stop()
			first := finish()
			time.Sleep(outage) // the outage itself, not a wait for an event
			s.Restart()
			g.check(t, first)
		})
	}
}

// keyOwner returns the master of c that owns key's slot: the others answer
// MOVED.
func keyOwner(t *testing.T, c *valkeytest.Cluster, key string) int {
	t.Helper()
	for i, n := range c.Nodes {
		if _, err := n.Do(t.Context(), "EXISTS", key); err == nil {
			return i
		}
	}
	t.Fatalf("no master owns %q", key)
	return -1
}

// TestCompletionClusterPrimaryRestart: the master that owns the key
// restarts (with its AOF) as the handler finishes; the retry replays the
// original answer once the cluster is healthy again.
func TestCompletionClusterPrimaryRestart(t *testing.T) {
	c := valkeytest.StartCluster(t, aof)
	g := newOutageRig(t, c.Client(t))
	finish := g.start(t)
	owner := c.Nodes[keyOwner(t, c, g.storedKey())]
	owner.Stop()
	first := finish()
	time.Sleep(2 * time.Second)
	owner.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("cluster after restart: %v", err)
	}
	g.check(t, first)
}

// TestCompletionClusterFailover: the master that owns the key dies as the
// handler finishes and its replica takes over; the completion lands on the
// new master and the retry replays the original answer.
func TestCompletionClusterFailover(t *testing.T) {
	c := valkeytest.StartCluster(t, valkeytest.WithReplicas(1))
	g := newOutageRig(t, c.Client(t))
	finish := g.start(t)
	i := keyOwner(t, c, g.storedKey())
	replica := c.Replicas[i]
	// The claim must be on the replica before its master dies, as it is in
	// production once the handler has run for a moment.
	eventually(t, 30*time.Second, "claim replicated", func() bool {
		n, err := replica.Do(t.Context(), "DBSIZE")
		return err == nil && n != "0"
	})
	c.Nodes[i].Stop()
	first := finish()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := c.WaitPromoted(ctx, replica); err != nil {
		t.Fatalf("failover: %v", err)
	}
	g.check(t, first)
}

// TestCompletionValkeyPausesSoak: Valkey frozen (SIGSTOP) for under a
// second, again and again, while requests run: a completion sent into the
// freeze times out on the client, lands when Valkey thaws, and its
// background retry finds the record already stored — success, not a lost
// lease. Every answered key replays its answer; no lease is reported lost.
func TestCompletionValkeyPausesSoak(t *testing.T) {
	s := valkeytest.StartServer(t)
	var ev events
	var serial atomic.Int64
	runs := sync.Map{} // key → *atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := runs.LoadOrStore(r.Header.Get(middleware.HeaderIdempotencyKey), new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		time.Sleep(20 * time.Millisecond) // a handler that takes a moment, so pauses catch completions
		created(&serial)(w, r)
	})
	cfg := middleware.DefaultIdempotencyConfig(middleware.NewValkeyStore(s.Client(t)))
	cfg.StoreTimeout = 100 * time.Millisecond
	cfg.OnEvent = ev.add
	mw := middleware.Idempotency(cfg)(h)

	stop := make(chan struct{})
	var answered sync.Map // key → body of its 201
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				key := newKey()
				if got := do(t, mw, "POST", "/orders", key, "{}"); got.status == http.StatusCreated {
					answered.Store(key, got.body)
				}
			}
		})
	}
	const pauses = 10
	for i := range pauses {
		time.Sleep(150 * time.Millisecond)
		s.Pause()
		time.Sleep(time.Duration(200+60*i) * time.Millisecond) // 200 ms to 740 ms
		s.Resume()
	}
	close(stop)
	wg.Wait()

	keys := 0
	answered.Range(func(k, v any) bool {
		keys++
		key, body := k.(string), v.(string)
		awaitReplay(t, mw, "/orders", key, body, "", http.StatusAccepted, http.StatusServiceUnavailable)
		if n, _ := runs.Load(key); n.(*atomic.Int64).Load() != 1 {
			t.Errorf("key %s ran %d times, want 1", key, n.(*atomic.Int64).Load())
		}
		return true
	})
	t.Logf("%d pauses, %d keys answered 201, events: %d stored, %d store-error, %d lease-lost",
		pauses, keys, ev.count(middleware.EventStored), ev.count(middleware.EventStoreError), ev.count(middleware.EventLeaseLost))
	if n := ev.count(middleware.EventLeaseLost); n != 0 {
		t.Errorf("lease-lost events = %d, want 0: no lease was lost", n)
	}
	if n := ev.count(middleware.EventTombstoned); n != 0 {
		t.Errorf("tombstoned events = %d, want 0", n)
	}
}
