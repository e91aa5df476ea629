package valkeytest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// StartReplica starts a valkey-server that replicates primary, waits until
// the link is up and the initial sync is done, and stops it when the test
// ends.
func StartReplica(t testing.TB, primary *Server, opts ...Option) *Server {
	t.Helper()
	host, port := "127.0.0.1", strconv.Itoa(primary.Port)
	// Start the initial (diskless) sync at once instead of after 5 s.
	ctx0, cancel0 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel0()
	if _, err := primary.Do(ctx0, "CONFIG", "SET", "repl-diskless-sync-delay", "0"); err != nil {
		t.Fatalf("valkeytest: CONFIG SET repl-diskless-sync-delay: %v", err)
	}
	opts = append(opts, WithArgs("--replicaof", host, port))
	r := StartServer(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		// In sync from both sides: the replica's link is up, and the
		// primary lists it online (before that, WAIT cannot count it).
		info, err := r.Do(ctx, "INFO", "replication")
		pinfo, perr := primary.Do(ctx, "INFO", "replication")
		if err == nil && perr == nil && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "master_sync_in_progress:0") &&
			strings.Contains(pinfo, "port="+strconv.Itoa(r.Port)+",state=online") && acksWrites(ctx, primary) {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("valkeytest: replica of %s not in sync: %v %s", primary.Addr, err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// acksWrites reports whether a write on primary is acknowledged by a
// replica within 100ms: a replica listed online starts acknowledging only
// after its first REPLCONF ACK, and until then WAIT cannot count it.
func acksWrites(ctx context.Context, primary *Server) bool {
	replies, err := pipeline(ctx, primary.Addr,
		[]string{"SET", "valkeytest:sync", "1"}, []string{"WAIT", "1", "100"}, []string{"DEL", "valkeytest:sync"})
	return err == nil && len(replies) == 3 && replies[1] == "1"
}
