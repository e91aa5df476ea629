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
		info, err := r.Do(ctx, "INFO", "replication")
		if err == nil && strings.Contains(info, "master_link_status:up") &&
			strings.Contains(info, "master_sync_in_progress:0") {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("valkeytest: replica of %s not in sync: %v %s", primary.Addr, err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
