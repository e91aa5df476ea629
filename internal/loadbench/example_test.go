package loadbench_test

import (
	"os"
	"time"

	"github.com/idemkit/idemkit/internal/loadbench"
)

// A Report turns measured cells into the Markdown table of docs/benchmarks.md:
// medians over rounds, with each configuration's ratio to the baseline in
// the same round.
func ExampleReport() {
	r := &loadbench.Report{Configs: []string{"bare", "idemkit+valkey"}, Baseline: "bare"}
	add := func(config string, round int, requests int64, p50, p99 time.Duration) {
		r.Add(loadbench.Cell{Config: config, Scenario: loadbench.Replay, Round: round, Runs: 0,
			Result: loadbench.Result{Requests: requests, Duration: 5 * time.Second, P50: p50, P99: p99}})
	}
	add("bare", 1, 150000, 2*time.Millisecond, 9*time.Millisecond)
	add("idemkit+valkey", 1, 96000, 3*time.Millisecond, 12*time.Millisecond)
	r.WriteTable(os.Stdout)
	// Output:
	// | scenario | configuration | req/s | ratio to bare | p50 | p99 | p99 / bare p99 | handler runs per request | errors |
	// |---|---|--:|--:|--:|--:|--:|--:|--:|
	// | replay | bare | 30000 | 1.00 | 2.00 ms | 9.00 ms | 1.00 | 0.00 | 0 |
	// | replay | idemkit+valkey | 19200 | 0.64 | 3.00 ms | 12.00 ms | 1.33 | 0.00 | 0 |
}
