package middleware_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// commandCalls returns how many times srv ran cmd (lower case), from
// INFO commandstats; 0 when it never ran.
func commandCalls(t *testing.T, srv *valkeytest.Server, cmd string) int {
	t.Helper()
	info, err := srv.Do(t.Context(), "INFO", "commandstats")
	if err != nil {
		t.Fatalf("INFO commandstats: %v", err)
	}
	for line := range strings.SplitSeq(info, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls=")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
		if err != nil {
			t.Fatalf("INFO commandstats: bad line %q", line)
		}
		return n
	}
	return 0
}

func resetStats(t *testing.T, servers ...*valkeytest.Server) {
	t.Helper()
	for _, s := range servers {
		if _, err := s.Do(t.Context(), "CONFIG", "RESETSTAT"); err != nil {
			t.Fatalf("CONFIG RESETSTAT: %v", err)
		}
	}
}

func get(t *testing.T, srv *valkeytest.Server, key string) string {
	t.Helper()
	v, err := srv.Do(t.Context(), "GET", key)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", key, srv.Addr, err)
	}
	return v
}

func TestWithReplicaAcksPanics(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		timeout time.Duration
	}{
		{"negative n", -1, time.Second},
		{"zero timeout", 1, 0},
		{"sub-millisecond timeout", 2, 500 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("WithReplicaAcks(%d, %v) did not panic", tt.n, tt.timeout)
				}
			}()
			middleware.WithReplicaAcks(tt.n, tt.timeout)
		})
	}
}

// TestValkeyStoreReplicaAcksReachReplica shows that once Claim and Complete
// return, the record is already on the replica: a failover to it right then
// would keep it.
func TestValkeyStoreReplicaAcksReachReplica(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	client := primary.Client(t)
	s := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(1, 5*time.Second))
	ctx := t.Context()
	loadScripts(t, s)
	resetStats(t, primary)

	key := storedKey()
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	if got, err := s.Claim(ctx, key, rec, time.Minute); err != nil || got != nil {
		t.Fatalf("Claim(%s) = %+v, %v, want nil, nil", key, got, err)
	}
	claimed := get(t, replica, key)
	if claimed == "" || claimed != get(t, primary, key) {
		t.Fatalf("replica GET after Claim = %q, want the primary's record", claimed)
	}

	if err := s.Complete(ctx, key, rec.Token, typicalCompleted([]byte(`{"id":"bk_1"}`)), time.Hour); err != nil {
		t.Fatalf("Complete(%s) = %v, want nil", key, err)
	}
	completed := get(t, replica, key)
	if completed == claimed || completed != get(t, primary, key) {
		t.Fatalf("replica GET after Complete = %q, want the primary's completed record", completed)
	}
	if got := commandCalls(t, primary, "wait"); got != 2 {
		t.Errorf("WAIT calls after Claim + Complete = %d, want 2", got)
	}
}

// loadScripts completes a claim through s, which leaves its completion
// script in the server's script cache.
func loadScripts(t *testing.T, s middleware.Store) {
	t.Helper()
	key, rec := storedKey(), processingRecord("warm-up")
	if _, err := s.Claim(t.Context(), key, rec, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(t.Context(), key, rec.Token, completedRecord(rec.Token, nil), time.Minute); err != nil {
		t.Fatal(err)
	}
}

// TestValkeyStoreReplicaAcksScriptFlushed checks the EVAL fallback of an
// acknowledged completion when the server has no cached script (a restart,
// a failover to a replica that never ran it, SCRIPT FLUSH).
func TestValkeyStoreReplicaAcksScriptFlushed(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	client := primary.Client(t)
	s := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(1, 5*time.Second))
	loadScripts(t, s)
	if _, err := primary.Do(t.Context(), "SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	resetStats(t, primary)
	key, rec := storedKey(), processingRecord("0123456789abcdef0123456789abcdef")
	if _, err := s.Claim(t.Context(), key, rec, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.Complete(t.Context(), key, rec.Token, completedRecord(rec.Token, []byte("ok")), time.Hour); err != nil {
		t.Fatalf("Complete after SCRIPT FLUSH = %v, want nil", err)
	}
	if got := commandCalls(t, primary, "eval"); got != 1 {
		t.Errorf("EVAL calls = %d, want 1 (the fallback)", got)
	}
	if v := get(t, replica, key); v != get(t, primary, key) {
		t.Errorf("replica GET after Complete = %q, want the primary's record", v)
	}
}

// TestValkeyStoreReplicaAckTimeout pauses the replica (SIGSTOP) so that it
// acknowledges nothing.
func TestValkeyStoreReplicaAckTimeout(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	client := primary.Client(t)
	plain := middleware.NewValkeyStore(client)
	// Long enough for a loaded CI machine to ack in the setup steps.
	acked := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(1, 500*time.Millisecond))
	const token = "0123456789abcdef0123456789abcdef"
	body := []byte(`{"id":"bk_1"}`)

	tests := []struct {
		name string
		// setup runs before the replica is paused.
		setup func(t *testing.T, key string)
		// paused runs while it is paused.
		paused func(t *testing.T, key string)
	}{
		{
			name: "claim is refused and released",
			paused: func(t *testing.T, key string) {
				got, err := acked.Claim(t.Context(), key, processingRecord(token), time.Minute)
				if !errors.Is(err, middleware.ErrReplicaAck) || got != nil {
					t.Fatalf("Claim = %+v, %v, want nil, ErrReplicaAck", got, err)
				}
				if !strings.Contains(err.Error(), "0 of 1 replicas") {
					t.Errorf("Claim error = %q, want the counts", err)
				}
				if v := get(t, primary, key); v != "" {
					t.Errorf("primary GET after the refused claim = %q, want it released", v)
				}
			},
		},
		{
			name: "completion is stored on the primary but reported",
			setup: func(t *testing.T, key string) {
				if _, err := plain.Claim(t.Context(), key, processingRecord(token), time.Minute); err != nil {
					t.Fatal(err)
				}
			},
			paused: func(t *testing.T, key string) {
				err := acked.Complete(t.Context(), key, token, completedRecord(token, body), time.Hour)
				if !errors.Is(err, middleware.ErrReplicaAck) {
					t.Fatalf("Complete = %v, want ErrReplicaAck", err)
				}
				got, err := plain.Claim(t.Context(), key, processingRecord("other"), time.Minute)
				if err != nil || got == nil || got.State != middleware.StateCompleted || string(got.Body) != string(body) {
					t.Fatalf("Claim after the unacknowledged Complete = %+v, %v, want the completed record", got, err)
				}
			},
		},
		{
			name: "lost lease wins over the ack count",
			paused: func(t *testing.T, key string) {
				err := acked.Complete(t.Context(), key, token, completedRecord(token, body), time.Hour)
				if !errors.Is(err, middleware.ErrLeaseLost) {
					t.Fatalf("Complete without a claim = %v, want ErrLeaseLost", err)
				}
			},
		},
		{
			name: "replay ignores the ack count",
			setup: func(t *testing.T, key string) {
				if _, err := plain.Claim(t.Context(), key, processingRecord(token), time.Minute); err != nil {
					t.Fatal(err)
				}
				if err := plain.Complete(t.Context(), key, token, completedRecord(token, body), time.Hour); err != nil {
					t.Fatal(err)
				}
			},
			paused: func(t *testing.T, key string) {
				got, err := acked.Claim(t.Context(), key, processingRecord("other"), time.Minute)
				if err != nil || got == nil || got.State != middleware.StateCompleted {
					t.Fatalf("Claim of a completed key = %+v, %v, want the completed record, nil", got, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := storedKey()
			if tt.setup != nil {
				tt.setup(t, key)
			}
			replica.Pause()
			defer replica.Resume()
			tt.paused(t, key)
		})
	}
}

// TestValkeyStoreReplicaAckCompleteRetried retries a completion that the
// replicas did not acknowledge, as the middleware does in the background:
// the same record succeeds once the replica is back, another one does not.
func TestValkeyStoreReplicaAckCompleteRetried(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	// The claim's acknowledgement must come in time however busy the
	// machine; the paused one costs the whole timeout, once.
	s := middleware.NewValkeyStore(primary.Client(t), middleware.WithReplicaAcks(1, 2*time.Second))
	ctx := t.Context()
	key, rec := storedKey(), processingRecord("0123456789abcdef0123456789abcdef")
	done := completedRecord(rec.Token, []byte(`{"id":"bk_1"}`))
	if _, err := s.Claim(ctx, key, rec, time.Minute); err != nil {
		t.Fatal(err)
	}
	replica.Pause()
	err := s.Complete(ctx, key, rec.Token, done, time.Hour)
	replica.Resume()
	if !errors.Is(err, middleware.ErrReplicaAck) {
		t.Fatalf("Complete with the replica paused = %v, want ErrReplicaAck", err)
	}

	tests := []struct {
		name string
		rec  *middleware.Record
		want error
	}{
		{"another claim's record", func() *middleware.Record {
			r := completedRecord(rec.Token, []byte(`{"id":"bk_2"}`))
			r.Fence = done.Fence + 1
			return r
		}(), middleware.ErrLeaseLost},
		{"same record", done, nil},
		{"same claim's tombstone", &middleware.Record{State: middleware.StateTombstone, Token: done.Token,
			Fingerprint: done.Fingerprint, Status: done.Status, Fence: done.Fence, ExpiresAt: done.ExpiresAt,
			BodySize: int64(len(done.Body))}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			waitCtx, cancel := context.WithTimeout(ctx, patience)
			defer cancel()
			err := s.Complete(ctx, key, rec.Token, tt.rec, time.Hour)
			for bo := (backoff{}); errors.Is(err, middleware.ErrReplicaAck) && waitCtx.Err() == nil; { // replica catching up
				bo.wait()
				err = s.Complete(ctx, key, rec.Token, tt.rec, time.Hour)
			}
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Complete again = %v, want %v", err, tt.want)
			}
		})
	}
	if v := get(t, replica, key); v == "" || v != get(t, primary, key) {
		t.Errorf("replica GET after the retried Complete = %q, want the primary's record", v)
	}
}

func TestValkeyStoreNoReplicaAcksByDefault(t *testing.T) {
	primary := valkeytest.StartServer(t)
	valkeytest.StartReplica(t, primary)
	client := primary.Client(t)
	tests := []struct {
		name string
		opts []middleware.ValkeyOption
	}{
		{"no option", nil},
		{"zero acks", []middleware.ValkeyOption{middleware.WithReplicaAcks(0, 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := middleware.NewValkeyStore(client, tt.opts...)
			resetStats(t, primary)
			key := storedKey()
			rec := processingRecord("0123456789abcdef0123456789abcdef")
			if _, err := s.Claim(t.Context(), key, rec, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := s.Complete(t.Context(), key, rec.Token, completedRecord(rec.Token, nil), time.Hour); err != nil {
				t.Fatal(err)
			}
			if got := commandCalls(t, primary, "wait"); got != 0 {
				t.Errorf("WAIT calls = %d, want 0", got)
			}
			if got := commandCalls(t, primary, "set"); got != 2 {
				t.Errorf("SET calls = %d, want 2 (the claim, the completion script's)", got)
			}
		})
	}
}

// clusterNode describes a cluster node for slot moves.
type clusterNode struct {
	srv *valkeytest.Server
	id  string
}

// slotNodes returns the node that owns slot and another one.
func slotNodes(t *testing.T, c *valkeytest.Cluster, slot int) (owner, other clusterNode) {
	t.Helper()
	out, err := c.Nodes[0].Do(t.Context(), "CLUSTER", "NODES")
	if err != nil {
		t.Fatalf("CLUSTER NODES: %v", err)
	}
	byAddr := map[string]string{}
	ownerAddr := ""
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		byAddr[addr] = f[0]
		for _, r := range f[8:] {
			lo, hi, found := strings.Cut(r, "-")
			if !found {
				hi = lo
			}
			l, err1 := strconv.Atoi(lo)
			h, err2 := strconv.Atoi(hi)
			if err1 == nil && err2 == nil && l <= slot && slot <= h {
				ownerAddr = addr
			}
		}
	}
	for _, n := range c.Nodes {
		node := clusterNode{srv: n, id: byAddr[n.Addr]}
		if n.Addr == ownerAddr {
			owner = node
		} else if other.srv == nil {
			other = node
		}
	}
	if owner.srv == nil || owner.id == "" || other.id == "" {
		t.Fatalf("CLUSTER NODES: no owner for slot %d in\n%s", slot, out)
	}
	return owner, other
}

func clusterDo(t *testing.T, srv *valkeytest.Server, args ...string) {
	t.Helper()
	if _, err := srv.Do(t.Context(), args...); err != nil {
		t.Fatalf("%s on %s: %v", strings.Join(args, " "), srv.Addr, err)
	}
}

// TestValkeyStoreReplicaAcksCluster checks that WAIT runs on the node that
// took the write, also when the client's slot map is stale (MOVED) or the
// slot is being migrated (ASK). The test cluster has no replicas, so every
// acknowledged claim fails with "0 of 1": what matters is where WAIT ran.
func TestValkeyStoreReplicaAcksCluster(t *testing.T) {
	c := valkeytest.StartCluster(t)
	client := c.Client(t)
	s := middleware.NewValkeyStore(client, middleware.WithReplicaAcks(1, 20*time.Millisecond))
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)

	tests := []struct {
		name string
		// move changes the slot's ownership after the client loaded the
		// slot map; it returns the node that must take the write.
		move func(t *testing.T, slot string, owner, other clusterNode) *valkeytest.Server
		ask  bool
	}{
		{
			name: "owner",
			move: func(t *testing.T, _ string, owner, _ clusterNode) *valkeytest.Server { return owner.srv },
		},
		{
			name: "moved",
			move: func(t *testing.T, slot string, owner, other clusterNode) *valkeytest.Server {
				clusterDo(t, other.srv, "CLUSTER", "SETSLOT", slot, "IMPORTING", owner.id)
				clusterDo(t, owner.srv, "CLUSTER", "SETSLOT", slot, "MIGRATING", other.id)
				for _, n := range c.Nodes {
					clusterDo(t, n, "CLUSTER", "SETSLOT", slot, "NODE", other.id)
				}
				return other.srv
			},
		},
		{
			name: "ask",
			move: func(t *testing.T, slot string, owner, other clusterNode) *valkeytest.Server {
				clusterDo(t, other.srv, "CLUSTER", "SETSLOT", slot, "IMPORTING", owner.id)
				clusterDo(t, owner.srv, "CLUSTER", "SETSLOT", slot, "MIGRATING", other.id)
				return other.srv
			},
			ask: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("idemp:{%s-%s}", tag, tt.name)
			slot, err := c.Nodes[0].Do(t.Context(), "CLUSTER", "KEYSLOT", key)
			if err != nil {
				t.Fatal(err)
			}
			n, _ := strconv.Atoi(slot)
			owner, other := slotNodes(t, c, n)
			target := tt.move(t, slot, owner, other)
			resetStats(t, c.Nodes...)

			_, err = s.Claim(t.Context(), key, processingRecord("0123456789abcdef0123456789abcdef"), time.Minute)
			if !errors.Is(err, middleware.ErrReplicaAck) {
				t.Fatalf("Claim(%s) = %v, want ErrReplicaAck (WAIT on the key's node)", key, err)
			}
			if got := commandCalls(t, target, "set"); got != 1 {
				t.Errorf("SET calls on the key's node = %d, want 1", got)
			}
			if got := commandCalls(t, target, "wait"); got != 1 {
				t.Errorf("WAIT calls on the key's node = %d, want 1", got)
			}
			// A SET that the node redirects is not counted, so one SET
			// call proves the write reached it (after ASKING for ASK).
			if got := commandCalls(t, target, "asking"); tt.ask && got == 0 {
				t.Errorf("ASKING calls on the key's node = 0, want at least 1")
			}
		})
	}
}

// TestDurabilityMiddlewareReplicaAck runs the middleware on a store that
// requires one replica: while the replica is paused a first request is
// refused with 503 and its handler does not run; once the replica is back,
// the client's retry runs it once and the answer is on the replica.
func TestDurabilityMiddlewareReplicaAck(t *testing.T) {
	primary := valkeytest.StartServer(t)
	replica := valkeytest.StartReplica(t, primary)
	// Acknowledgements must come in time however busy the machine; the
	// paused one costs the whole timeout, once.
	store := middleware.NewValkeyStore(primary.Client(t), middleware.WithReplicaAcks(1, 2*time.Second))
	var runs atomic.Int32
	cfg := middleware.DefaultIdempotencyConfig(store)
	cfg.StoreTimeout = 10 * time.Second // longer than the ack timeout: the ack decides
	var mu sync.Mutex
	var keys []string
	cfg.OnEvent = func(e middleware.Event) {
		if e.Kind == middleware.EventStored {
			mu.Lock()
			keys = append(keys, e.Key)
			mu.Unlock()
		}
	}
	srv := httptest.NewServer(middleware.Idempotency(cfg)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.WriteHeader(http.StatusCreated)
		w.Write([]byte(`{"id":"pay_1"}`))
	})))
	defer srv.Close()
	post := func() int {
		res, err := postBody(t.Context(), srv.Client(), srv.URL+"/payments", "pay-abc", `{"amount":100}`)
		if err != nil {
			t.Fatal(err)
		}
		return res.status
	}

	replica.Pause()
	if got := post(); got != http.StatusServiceUnavailable {
		t.Errorf("POST with the replica paused = %d, want 503", got)
	}
	if got := runs.Load(); got != 0 {
		t.Errorf("handler runs with the replica paused = %d, want 0", got)
	}
	replica.Resume()

	waitCtx, cancel := context.WithTimeout(t.Context(), patience)
	defer cancel()
	status := post()
	for bo := (backoff{}); status == http.StatusServiceUnavailable && waitCtx.Err() == nil; { // replica catching up
		bo.wait()
		status = post()
	}
	if status != http.StatusCreated {
		t.Fatalf("POST after the replica resumed = %d, want 201", status)
	}
	// 202 while a completion the replica acknowledged late is written again
	// in the background; then the replay.
	eventually(t, patience, "the replayed 201", func() bool {
		got := post()
		if got != http.StatusAccepted && got != http.StatusCreated {
			t.Fatalf("retry = %d, want 202 until the replayed 201", got)
		}
		return got == http.StatusCreated
	})
	if got := runs.Load(); got != 1 {
		t.Errorf("handler runs = %d, want 1", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 1 || get(t, replica, keys[0]) != get(t, primary, keys[0]) {
		t.Errorf("stored keys = %q; want one, identical on the replica", keys)
	}
}

// BenchmarkValkeyStoreClaimNewReplicaAcks is a first request's claim on a
// primary with one replica, without WAIT (auto-pipelined SET NX PX GET) and
// with WithReplicaAcks(1, …) (SET + WAIT on a pooled connection), and a
// replay with acks (the same batch; WAIT returns at once). Compare with
// BenchmarkValkeyStoreClaimNew.
func BenchmarkValkeyStoreClaimNewReplicaAcks(b *testing.B) {
	primary := valkeytest.StartServer(b)
	valkeytest.StartReplica(b, primary)
	client := primary.Client(b)
	rec := processingRecord("0123456789abcdef0123456789abcdef")
	ctx := context.Background()
	for _, bc := range []struct {
		name   string
		opts   []middleware.ValkeyOption
		replay bool
	}{
		{"acks=0", nil, false},
		{"acks=1", []middleware.ValkeyOption{middleware.WithReplicaAcks(1, time.Second)}, false},
		{"acks=1/replay", []middleware.ValkeyOption{middleware.WithReplicaAcks(1, time.Second)}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := middleware.NewValkeyStore(client, bc.opts...)
			prefix := fmt.Sprintf("idemp:%s:%d:", bc.name, time.Now().UnixNano())
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				key := prefix + strconv.Itoa(i)
				if bc.replay {
					key = prefix
				}
				got, err := s.Claim(ctx, key, rec, time.Minute)
				if err != nil || (got != nil) != (bc.replay && i > 0) {
					b.Fatalf("Claim(%s) = %+v, %v", key, got, err)
				}
				i++
			}
		})
	}
}
