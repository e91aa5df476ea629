// Package loadbench measures idemkit's idempotency middleware under load,
// against the bare handler and against the naive GET-then-SET design.
//
// It is the load half of `make bench` (the other half is the Go benchmarks
// of every package). The pieces are ordinary values so that the harness in
// this package's tests — and anyone reproducing a figure by hand — can put
// them together:
//
//   - [Endpoint] is the JSON write endpoint under test: it reads a small
//     JSON body and answers 201 with a small JSON body, counting how many
//     times it ran.
//   - [Naive] is the reference middleware: GET the key, SET "PROCESSING"
//     when it is missing, run the handler, SET the response or DEL. It is
//     racy on purpose — two concurrent retries both see the key missing —
//     and exists only to be measured against.
//   - [Wrk] runs the wrk load generator against one URL in one [Scenario]
//     (no key, a new key per request, or replays of completed keys) and
//     parses the summary that its Lua script prints.
//   - [Burst] fires many concurrent requests with one key and reports the
//     statuses, so the caller can count handler executions.
//   - [Report] renders the results as Markdown tables: medians over rounds
//     of requests per second, p50 and p99 latency, and each row's ratio to
//     the bare handler measured in the same round.
//
// # Running it
//
// The harness is a pair of tests gated by IDEMKIT_LOADBENCH=1, so that it
// can start a real valkey-server with internal/valkeytest: TestLoad (the
// wrk table, the same-key bursts, optional CPU profiles) and
// TestMemoryStoreMillionKeys (the memory store under a million keys).
//
//	make bench-load                                  # 4s cells, 1s warm-up, 5 rounds
//	make bench-load LOADBENCH_ARGS=-test.short       # quick: 2s cells, 1 round
//
// or directly, from the repository root:
//
//	IDEMKIT_LOADBENCH=1 go test -run '^(TestLoad|TestMemoryStoreMillionKeys)$' \
//	    -count=1 -v -timeout 60m ./internal/loadbench -args \
//	    -loadbench.duration=5s -loadbench.rounds=3 \
//	    -loadbench.profile=/tmp/loadbench-prof -loadbench.out=$PWD/load.md
//
// The flags (after -args): -loadbench.duration, -loadbench.warmup,
// -loadbench.rounds (0: bursts and profiles only), -loadbench.burst and
// -loadbench.bursts (requests per burst, bursts per configuration),
// -loadbench.replaykeys, -loadbench.memkeys, -loadbench.profile (a directory
// for CPU profiles of idemkit on Valkey under new-key and replay) and
// -loadbench.out (a file for the Markdown report; the tests run in this
// package's directory, so give an absolute path).
//
// The server under test runs inside the test process on loopback ports,
// Valkey is a child process, wrk is an external process; all of them are
// stopped when the test ends.
package loadbench
