// Package valkeytest starts real valkey-server processes for tests.
//
// Every server listens on a free loopback port, keeps nothing on disk
// (persistence off, a per-test temporary directory) and is killed in
// t.Cleanup, together with its directory. A server started by a test binary
// also dies with that binary (Linux parent-death signal), so an interrupted
// test run leaves no process behind.
//
// # Finding valkey-server
//
// The binary is $VALKEY_SERVER when set, else valkey-server on PATH (and
// valkey-cli beside it, or $VALKEY_CLI, for clusters). When it is missing, a
// test that asks for a server is skipped with one line that says how to
// install it — unless CI=true or IDEMKIT_REQUIRE_VALKEY=1, where a missing
// server fails the test instead.
//
// # Servers, clusters and faults
//
//	s := valkeytest.StartServer(t)          // standalone
//	c := valkeytest.StartCluster(t)         // 3 masters, cluster_state:ok
//	r := valkeytest.StartReplica(t, s)      // a replica of s, in sync
//	client := s.Client(t)                   // valkey-go client, closed at cleanup
//
// Fault controls simulate what production does to a store: Stop kills the
// process (SIGKILL, like a crash) and keeps its port; Restart starts it again
// on the same port (a cluster node keeps its identity and slots); Pause and
// Resume freeze and thaw it with SIGSTOP and SIGCONT, a hung store whose TCP
// connections stay open.
package valkeytest
