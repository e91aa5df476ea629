package loadbench_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/loadbench"
)

func TestParseSummary(t *testing.T) {
	tests := []struct {
		name    string
		out     string
		want    loadbench.Result
		wantErr error
	}{
		{
			name: "summary among wrk's own output",
			out: "Running 5s test @ http://127.0.0.1:1/v1/orders\n  2 threads and 64 connections\n" +
				"LOADBENCH requests=1000 duration_us=2000000 p50_us=1500 p99_us=9000 max_us=12000 status=3 connect=1 read=2 write=0 timeout=4\n",
			want: loadbench.Result{Requests: 1000, Duration: 2 * time.Second, P50: 1500 * time.Microsecond,
				P99: 9 * time.Millisecond, Max: 12 * time.Millisecond, StatusErrors: 3, SocketErrors: 7},
		},
		{name: "no summary", out: "Running 5s test\n", wantErr: loadbench.ErrNoSummary},
		{name: "empty output", out: "", wantErr: loadbench.ErrNoSummary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadbench.ParseSummary([]byte(tt.out))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSummary(%q) error = %v, want %v", tt.out, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseSummary(%q) = %+v, want %+v", tt.out, got, tt.want)
			}
		})
	}
}

func TestParseSummaryMalformed(t *testing.T) {
	for _, line := range []string{"LOADBENCH requests", "LOADBENCH requests=many"} {
		if _, err := loadbench.ParseSummary([]byte(line)); err == nil || errors.Is(err, loadbench.ErrNoSummary) {
			t.Errorf("ParseSummary(%q) error = %v, want a parse error", line, err)
		}
	}
}

func TestResultRPS(t *testing.T) {
	tests := []struct {
		name string
		r    loadbench.Result
		want float64
	}{
		{"two seconds", loadbench.Result{Requests: 1000, Duration: 2 * time.Second}, 500},
		{"no duration", loadbench.Result{Requests: 1000}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.r.RPS(); got != tt.want {
				t.Errorf("%+v.RPS() = %v, want %v", tt.r, got, tt.want)
			}
		})
	}
}

func TestWrkRejectsBadLoad(t *testing.T) {
	tests := []struct {
		name string
		load loadbench.Load
	}{
		{"replay without keys", loadbench.Load{URL: "http://127.0.0.1:1/", Scenario: loadbench.Replay}},
		{"key prefix with a quote", loadbench.Load{URL: "http://127.0.0.1:1/", Scenario: loadbench.NewKey, KeyPrefix: `a"b`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The script is checked before wrk starts, so no wrk is needed.
			if _, err := (loadbench.Wrk{Path: "/nonexistent/wrk"}).Run(t.Context(), tt.load); err == nil ||
				strings.Contains(err.Error(), "/nonexistent/wrk") {
				t.Errorf("Run(%+v) error = %v, want a script error before wrk runs", tt.load, err)
			}
		})
	}
}

// TestWrkScenarios runs the real wrk against a server that records the
// keys it sees: no key, a new key every time, or only the replay keys.
func TestWrkScenarios(t *testing.T) {
	path, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk is not installed (Debian package wrk; `make bench-load` installs it)")
	}
	tests := []struct {
		scenario loadbench.Scenario
		check    func(t *testing.T, keys map[string]int, requests int)
	}{
		{loadbench.NoKey, func(t *testing.T, keys map[string]int, requests int) {
			if len(keys) != 1 || keys[""] != requests {
				t.Errorf("no-key: saw keys %d distinct, want only the empty key", len(keys))
			}
		}},
		{loadbench.NewKey, func(t *testing.T, keys map[string]int, requests int) {
			if len(keys) != requests {
				t.Errorf("new-key: %d distinct keys in %d requests, want one per request", len(keys), requests)
			}
			for k := range keys {
				if !strings.HasPrefix(k, "run-1-") {
					t.Errorf("new-key: key %q lacks the prefix run-1-", k)
					break
				}
			}
		}},
		{loadbench.Replay, func(t *testing.T, keys map[string]int, requests int) {
			want := map[string]bool{}
			for i := range 10 {
				want[loadbench.ReplayKey(i)] = true
			}
			for k := range keys {
				if !want[k] {
					t.Errorf("replay: key %q is not one of the 10 replay keys", k)
				}
			}
			if len(keys) != 10 {
				t.Errorf("replay: %d distinct keys, want all 10", len(keys))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario.String(), func(t *testing.T) {
			var mu sync.Mutex
			keys := map[string]int{}
			requests := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				keys[r.Header.Get("Idempotency-Key")]++
				requests++
				mu.Unlock()
				if r.Method != http.MethodPost || r.URL.Path != loadbench.Path {
					http.Error(w, "wrong request", http.StatusBadRequest)
					return
				}
				new(loadbench.Endpoint).ServeHTTP(w, r)
			}))
			defer srv.Close()
			res, err := loadbench.Wrk{Path: path, Threads: 2, Connections: 4}.Run(t.Context(), loadbench.Load{
				URL: srv.URL + loadbench.Path, Scenario: tt.scenario, Duration: time.Second,
				KeyPrefix: "run-1-", ReplayKeys: 10,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests == 0 || res.StatusErrors != 0 || res.SocketErrors != 0 {
				t.Fatalf("Run(%v) = %+v, want requests and no errors", tt.scenario, res)
			}
			mu.Lock()
			defer mu.Unlock()
			tt.check(t, keys, requests)
		})
	}
}

func TestMerge(t *testing.T) {
	ms := time.Millisecond
	runs := []loadbench.Result{
		{Requests: 100, Duration: time.Second, P50: 1 * ms, P99: 9 * ms, Max: 20 * ms, StatusErrors: 1},
		{Requests: 300, Duration: time.Second, P50: 3 * ms, P99: 5 * ms, Max: 40 * ms, SocketErrors: 2},
		{Requests: 200, Duration: time.Second, P50: 2 * ms, P99: 7 * ms, Max: 30 * ms},
	}
	want := loadbench.Result{Requests: 600, Duration: 3 * time.Second, P50: 2 * ms, P99: 7 * ms, Max: 40 * ms,
		StatusErrors: 1, SocketErrors: 2}
	if got := loadbench.Merge(runs); got != want {
		t.Errorf("Merge = %+v, want %+v", got, want)
	}
	if got := loadbench.Merge(nil); got != (loadbench.Result{}) {
		t.Errorf("Merge(nil) = %+v, want the zero Result", got)
	}
	if got := loadbench.Merge(runs).RPS(); got != 200 {
		t.Errorf("merged RPS = %v, want 200", got)
	}
}
