package valkeytest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/valkey-io/valkey-go"
)

func setGet(t *testing.T, c valkey.Client, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Do(ctx, c.B().Set().Key(key).Value(val).Build()).Error(); err != nil {
		t.Fatalf("SET %s: %v", key, err)
	}
	got, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString()
	if err != nil || got != val {
		t.Fatalf("GET %s = %q, %v, want %q", key, got, err, val)
	}
}

func TestStandaloneSetGet(t *testing.T) {
	s := valkeytest.StartServer(t)
	setGet(t, s.Client(t), "k", "v")
	reply, err := s.Do(context.Background(), "CONFIG", "GET", "save")
	if err != nil || strings.TrimSpace(strings.TrimPrefix(reply, "save")) != "" {
		t.Errorf("CONFIG GET save = %q, %v, want persistence off", reply, err)
	}
}

func TestClusterSetGet(t *testing.T) {
	c := valkeytest.StartCluster(t)
	if len(c.Nodes) != 3 {
		t.Fatalf("len(Nodes) = %d, want 3", len(c.Nodes))
	}
	info, err := c.Nodes[0].Do(context.Background(), "CLUSTER", "INFO")
	if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, "cluster_size:3") {
		t.Fatalf("CLUSTER INFO = %q, %v, want cluster_state:ok with 3 masters", info, err)
	}
	client := c.Client(t)
	// Enough keys to land on every node's slots.
	for i := range 30 {
		setGet(t, client, fmt.Sprintf("key-%d", i), fmt.Sprint(i))
	}
	for _, n := range c.Nodes {
		keys, err := n.Do(context.Background(), "DBSIZE")
		if err != nil || keys == "0" {
			t.Errorf("node %s DBSIZE = %q, %v, want > 0 (keys spread over masters)", n.Addr, keys, err)
		}
	}
}

func TestStopRestart(t *testing.T) {
	s := valkeytest.StartServer(t)
	client := s.Client(t)
	setGet(t, client, "a", "1")
	port, pid := s.Port, s.PID()

	s.Stop()
	if alive(pid) {
		t.Fatalf("process %d still alive after Stop", pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := client.Do(ctx, client.B().Ping().Build()).Error()
	cancel()
	if err == nil {
		t.Fatal("PING after Stop succeeded, want an error")
	}

	s.Restart()
	if s.Port != port {
		t.Fatalf("Port after Restart = %d, want %d", s.Port, port)
	}
	// The same client reconnects by itself: each of its pipelined
	// connections may still answer one command with the old connection's
	// EOF (writes are not retried), so wait for a run of successes.
	// A generous bound, and a growing pause between failed tries: the
	// reconnection is awaited, not raced.
	deadline := time.Now().Add(time.Minute)
	for ok, pause := 0, time.Millisecond; ok < 20; {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := client.Do(ctx, client.B().Set().Key("b").Value("2").Build()).Error()
		cancel()
		if err == nil {
			ok++
			continue
		}
		ok = 0
		if time.Now().After(deadline) {
			t.Fatalf("SET after Restart: %v", err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
	setGet(t, client, "b", "3")
	if got, _ := s.Do(context.Background(), "EXISTS", "a"); got != "0" {
		t.Errorf("EXISTS a after restart = %s, want 0 (no persistence)", got)
	}
}

func TestPauseResume(t *testing.T) {
	s := valkeytest.StartServer(t)
	client := s.Client(t)
	setGet(t, client, "a", "1")

	s.Pause()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := client.Do(ctx, client.B().Get().Key("a").Build()).Error()
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GET on a paused server = %v, want context.DeadlineExceeded", err)
	}

	s.Resume()
	setGet(t, client, "a", "2")
}

func TestClusterNodeRestart(t *testing.T) {
	c := valkeytest.StartCluster(t)
	n := c.Nodes[1]
	n.Stop()
	n.Restart()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("WaitHealthy after restart: %v", err)
	}
	client := c.Client(t)
	for i := range 10 {
		setGet(t, client, fmt.Sprintf("after-%d", i), "x")
	}
}

// TestClusterFailover: a cluster started WithReplicas has a replica for
// each master; killing a master promotes its replica, and the cluster
// serves every slot again.
func TestClusterFailover(t *testing.T) {
	c := valkeytest.StartCluster(t, valkeytest.WithReplicas(1))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if len(c.Replicas) != 3 {
		t.Fatalf("replicas = %d, want 3", len(c.Replicas))
	}
	for i, n := range c.Nodes {
		if role, err := n.Do(ctx, "ROLE"); err != nil || !strings.HasPrefix(role, "master") {
			t.Fatalf("node %d ROLE = %q, %v, want master", i, role, err)
		}
		info, err := c.Replicas[i].Do(ctx, "INFO", "replication")
		if err != nil || !strings.Contains(info, "master_port:"+strconv.Itoa(n.Port)) {
			t.Fatalf("replica %d does not replicate node %d: %v\n%s", i, i, err, info)
		}
	}
	client := c.Client(t)
	setGet(t, client, "before", "x")
	c.Nodes[0].Stop()
	if err := c.WaitPromoted(ctx, c.Replicas[0]); err != nil {
		t.Fatalf("WaitPromoted: %v", err)
	}
	// The client learns the new topology from the error of a command sent
	// to the dead master (a connection refused), and refreshes its slot map
	// in the background: on a busy machine a few more commands may go to
	// the dead node first. Every slot must be served again, eventually.
	for i := range 20 {
		key := fmt.Sprintf("after-failover-%d", i)
		for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := client.Do(cctx, client.B().Set().Key(key).Value("x").Build()).Error()
			cancel()
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("SET %s after the failover: %v", key, err)
			}
			time.Sleep(pause)
		}
		setGet(t, client, key, "x")
	}
}

func TestReplica(t *testing.T) {
	p := valkeytest.StartServer(t)
	r := valkeytest.StartReplica(t, p)
	client := p.Client(t)
	ctx := context.Background()
	if err := client.Do(ctx, client.B().Set().Key("k").Value("v").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	n, err := client.Do(ctx, client.B().Wait().Numreplicas(1).Timeout(5000).Build()).AsInt64()
	if err != nil || n != 1 {
		t.Fatalf("WAIT 1 5000 = %d, %v, want 1", n, err)
	}
	got, err := r.Do(ctx, "GET", "k")
	if err != nil || got != "v" {
		t.Fatalf("replica GET k = %q, %v, want v", got, err)
	}
}

// TestNoLeftovers checks that cleanup kills the processes and removes the
// temporary directories of a standalone server and a cluster.
func TestNoLeftovers(t *testing.T) {
	var pids []int
	var dirs []string
	t.Run("standalone", func(t *testing.T) {
		s := valkeytest.StartServer(t)
		pids, dirs = append(pids, s.PID()), append(dirs, s.Dir())
	})
	t.Run("cluster", func(t *testing.T) {
		c := valkeytest.StartCluster(t)
		for _, n := range c.Nodes {
			pids, dirs = append(pids, n.PID()), append(dirs, n.Dir())
		}
	})
	if t.Skipped() || len(pids) == 0 {
		return
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("valkey-server pid %d still alive after cleanup", pid)
		}
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("os.Stat(%s) = %v, want not exist after cleanup", d, err)
		}
	}
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
