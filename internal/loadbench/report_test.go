package loadbench_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/loadbench"
)

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"none", nil, 0},
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{9, 1, 5}, 5},
		{"even: mean of the middle two", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.in...)
			if got := loadbench.Median(in); got != tt.want {
				t.Errorf("Median(%v) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Errorf("Median(%v) modified its input to %v", tt.in, in)
					break
				}
			}
		})
	}
}

// cell returns a cell of rps requests per second over one second.
func cell(config string, round int, rps int64, p99 time.Duration) loadbench.Cell {
	return loadbench.Cell{Config: config, Scenario: loadbench.NewKey, Round: round, Runs: rps,
		Result: loadbench.Result{Requests: rps, Duration: time.Second, P50: p99 / 4, P99: p99},
		CPU:    loadbench.CPU{Server: time.Duration(rps) * 50 * time.Microsecond}}
}

func TestReportRow(t *testing.T) {
	r := &loadbench.Report{Configs: []string{"bare", "mw"}, Baseline: "bare"}
	// Ratios per round: 0.5, 0.4, 0.9 — median 0.5, although the medians
	// of req/s alone would give 4000/9000.
	for i, c := range []struct{ bare, mw int64 }{{10000, 5000}, {9000, 3600}, {4000, 3600}} {
		r.Add(cell("bare", i+1, c.bare, 10*time.Millisecond))
		r.Add(cell("mw", i+1, c.mw, 15*time.Millisecond))
	}
	tests := []struct {
		name      string
		config    string
		wantRPS   float64
		wantRatio float64
		wantP99   float64
	}{
		{"baseline", "bare", 9000, 1, 1},
		{"middleware", "mw", 3600, 0.5, 1.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, ok := r.Row(tt.config, loadbench.NewKey)
			if !ok || row.Rounds != 3 {
				t.Fatalf("Row(%q) = %+v, %v, want 3 rounds", tt.config, row, ok)
			}
			if row.RPS != tt.wantRPS || math.Abs(row.Ratio-tt.wantRatio) > 1e-9 || math.Abs(row.P99Ratio-tt.wantP99) > 1e-9 {
				t.Errorf("Row(%q) = rps %v ratio %v p99 ratio %v, want %v %v %v",
					tt.config, row.RPS, row.Ratio, row.P99Ratio, tt.wantRPS, tt.wantRatio, tt.wantP99)
			}
			if row.RunsPerRequest != 1 || row.CPUPerRequest.Server != 50*time.Microsecond {
				t.Errorf("Row(%q) = runs/request %v, server CPU/request %v, want 1 and 50µs",
					tt.config, row.RunsPerRequest, row.CPUPerRequest.Server)
			}
		})
	}
	if _, ok := r.Row("mw", loadbench.Replay); ok {
		t.Errorf("Row(mw, replay) ok = true for a scenario never measured, want false")
	}

	var b strings.Builder
	r.WriteRounds(&b)
	if want := "| new-key | mw | 5000 (0.50; 0.00 cores) | 3600 (0.40; 0.00 cores) | 3600 (0.90; 0.00 cores) |"; !strings.Contains(b.String(), want) {
		t.Errorf("WriteRounds() =\n%s\nwant a line %s", b.String(), want)
	}
}

// TestReportPairs checks that a configuration measured next to a baseline
// cell of its own divides by that cell, not by another pair's.
func TestReportPairs(t *testing.T) {
	r := &loadbench.Report{Configs: []string{"bare", "a", "b"}, Baseline: "bare"}
	for pair, c := range map[int]struct {
		name      string
		bare, cfg int64
	}{1: {"a", 10000, 8000}, 2: {"b", 5000, 2500}} {
		base, cfg := cell("bare", 1, c.bare, time.Millisecond), cell(c.name, 1, c.cfg, time.Millisecond)
		base.Pair, cfg.Pair = pair, pair
		r.Add(base)
		r.Add(cfg)
	}
	for config, want := range map[string]float64{"a": 0.8, "b": 0.5} {
		if row, _ := r.Row(config, loadbench.NewKey); math.Abs(row.Ratio-want) > 1e-9 {
			t.Errorf("Row(%q).Ratio = %v, want %v (divided by its own pair's baseline)", config, row.Ratio, want)
		}
	}
	if row, _ := r.Row("bare", loadbench.NewKey); row.Rounds != 2 || row.RPS != 7500 {
		t.Errorf("Row(bare) = %d cells, %v req/s; want 2 cells, median 7500", row.Rounds, row.RPS)
	}
}
