package valkeytest

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"
)

// clusterTimeout bounds how long a cluster may take to reach cluster_state:ok.
const clusterTimeout = 30 * time.Second

// Cluster is a Valkey Cluster of three masters (no replicas) on loopback.
type Cluster struct {
	// Nodes are the master servers; each can be stopped, restarted and
	// paused like a standalone server.
	Nodes []*Server
}

// StartCluster starts three cluster-enabled valkey-server processes, joins
// them with `valkey-cli --cluster create ... --cluster-yes`, waits until every
// node reports cluster_state:ok, and stops them when the test ends.
func StartCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	cli := CLIPath(t)
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	cfg.cluster = true
	c := &Cluster{}
	for range 3 {
		c.Nodes = append(c.Nodes, start(t, cfg))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("valkeytest: %s %s: %v\n%s", cli, strings.Join(args, " "), err, out)
	}
	if err := c.WaitHealthy(ctx); err != nil {
		t.Fatalf("valkeytest: cluster: %v\n%s", err, out)
	}
	return c
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.Addr
	}
	return addrs
}

// Client returns a valkey-go cluster client, closed when the test ends.
func (c *Cluster) Client(t testing.TB) valkey.Client {
	t.Helper()
	return newClient(t, valkey.ClientOption{InitAddress: c.Addrs(), DisableCache: true})
}

// WaitHealthy waits until every node reports cluster_state:ok and knows all
// three masters, for example after a node was restarted.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	for {
		var err error
		ok := true
		for _, n := range c.Nodes {
			var info string
			info, err = n.Do(ctx, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, "cluster_known_nodes:3") {
				ok = false
				if err == nil {
					err = errNotReady(info)
				}
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

type errNotReady string

func (e errNotReady) Error() string {
	for line := range strings.SplitSeq(string(e), "\n") {
		if strings.HasPrefix(line, "cluster_state:") {
			return "not ready: " + strings.TrimSpace(line)
		}
	}
	return "not ready"
}
