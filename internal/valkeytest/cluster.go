package valkeytest

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"
)

// clusterTimeout bounds how long a cluster may take to reach cluster_state:ok.
const clusterTimeout = 30 * time.Second

// Cluster is a Valkey Cluster of three masters on loopback, with no
// replicas unless started [WithReplicas].
type Cluster struct {
	// Nodes are the master servers; each can be stopped, restarted and
	// paused like a standalone server.
	Nodes []*Server
	// Replicas are the replica servers, Replicas[i] replicating Nodes[i]
	// for the first replica of each master (WithReplicas(1)).
	Replicas []*Server
}

// StartCluster starts three cluster-enabled valkey-server processes (and
// their replicas, [WithReplicas]), joins them with `valkey-cli --cluster
// create ... --cluster-yes`, waits until every node reports
// cluster_state:ok, and stops them when the test ends.
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
	for range 3 * cfg.replicas {
		c.Replicas = append(c.Replicas, start(t, cfg))
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	for _, r := range c.Replicas {
		args = append(args, r.Addr)
	}
	if cfg.replicas > 0 {
		args = append(args, "--cluster-replicas", strconv.Itoa(cfg.replicas))
	}
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
	if err := c.orderReplicas(ctx); err != nil {
		t.Fatalf("valkeytest: cluster replicas: %v\n%s", err, out)
	}
	return c
}

// orderReplicas sorts Replicas so that the first three replicate Nodes in
// order, as valkey-cli assigned them.
func (c *Cluster) orderReplicas(ctx context.Context) error {
	if len(c.Replicas) == 0 {
		return nil
	}
	byMaster := map[int][]*Server{}
	for _, r := range c.Replicas {
		for {
			info, err := r.Do(ctx, "INFO", "replication")
			if err != nil {
				return err
			}
			if port := infoField(info, "master_port"); port != "" && strings.Contains(info, "master_link_status:up") {
				p, _ := strconv.Atoi(port)
				byMaster[p] = append(byMaster[p], r)
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s never linked to its master: %w", r.Addr, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	var ordered []*Server
	for _, n := range c.Nodes {
		if len(byMaster[n.Port]) == 0 {
			return fmt.Errorf("master %s has no replica", n.Addr)
		}
		ordered = append(ordered, byMaster[n.Port][0])
	}
	for _, n := range c.Nodes {
		ordered = append(ordered, byMaster[n.Port][1:]...)
	}
	c.Replicas = ordered
	return nil
}

// infoField returns the value of name in INFO output, or "".
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// WaitPromoted waits until replica has taken over as a master (after its
// master failed) and every running node reports cluster_state:ok.
func (c *Cluster) WaitPromoted(ctx context.Context, replica *Server) error {
	for {
		role, err := replica.Do(ctx, "ROLE")
		if err == nil && strings.HasPrefix(role, "master") {
			if err = c.waitOK(ctx, len(c.Nodes)+len(c.Replicas)); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not promoted: %v: %w", replica.Addr, err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
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
// the cluster's nodes, for example after a node was restarted.
func (c *Cluster) WaitHealthy(ctx context.Context) error {
	return c.waitOK(ctx, len(c.Nodes)+len(c.Replicas))
}

// waitOK waits until every running node reports cluster_state:ok and knows
// known nodes.
func (c *Cluster) waitOK(ctx context.Context, known int) error {
	want := "cluster_known_nodes:" + strconv.Itoa(known)
	for {
		var err error
		ok := true
		for _, n := range append(append([]*Server{}, c.Nodes...), c.Replicas...) {
			if n.PID() == 0 {
				continue // stopped on purpose
			}
			var info string
			info, err = n.Do(ctx, "CLUSTER", "INFO")
			if err != nil || !strings.Contains(info, "cluster_state:ok") ||
				!strings.Contains(info, want) {
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
