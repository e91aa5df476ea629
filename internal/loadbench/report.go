package loadbench

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Cell is one configuration measured in one scenario in one round.
type Cell struct {
	// Config names the configuration, e.g. "bare" or "idemkit+valkey".
	Config string
	// Scenario is the load.
	Scenario Scenario
	// Round counts from 1.
	Round int
	// Pair, when not 0, pairs a configuration's cell with the baseline
	// cell measured right next to it (same round, scenario and Pair): its
	// ratio divides by that cell instead of the round's only baseline
	// cell, so that the machine's drift between cells far apart in time
	// does not enter the ratio.
	Pair int
	// Result is what wrk measured.
	Result Result
	// Runs is how many times the endpoint ran during the measured run.
	Runs int64
	// CPU is the processor time each process used during the measured run.
	CPU CPU
}

// CPU is processor time (user plus system) used by the processes of a run.
type CPU struct {
	// Server is the process serving HTTP (the middleware and handler).
	Server time.Duration
	// Store is the Valkey server; zero when the configuration uses none.
	Store time.Duration
	// LoadGen is the load generator (wrk).
	LoadGen time.Duration
	// Other is what every other process on the machine used: the noise
	// from neighbours that a quiet run keeps near zero.
	Other time.Duration
}

// Add returns the sum of c and o.
func (c CPU) Add(o CPU) CPU {
	return CPU{Server: c.Server + o.Server, Store: c.Store + o.Store, LoadGen: c.LoadGen + o.LoadGen, Other: c.Other + o.Other}
}

// Row is a configuration's figures in one scenario: medians over rounds.
type Row struct {
	Config   string
	Scenario Scenario
	// Rounds is the number of cells measured: one per round, or one per
	// pair and round for a baseline measured in pairs.
	Rounds int
	// RPS, P50 and P99 are medians over the rounds.
	RPS      float64
	P50, P99 time.Duration
	// Ratio is the median over rounds of RPS divided by the baseline's RPS
	// in the same round and scenario; P99Ratio likewise for p99 latency.
	Ratio, P99Ratio float64
	// Errors sums status and socket errors over the rounds.
	Errors int64
	// RunsPerRequest is the endpoint's executions per completed request,
	// over all rounds: about 1 when every request runs the handler, 0 when
	// every request is a replay.
	RunsPerRequest float64
	// CPUPerRequest is, per process, the median over rounds of its
	// processor time divided by the completed requests.
	CPUPerRequest CPU
}

// Report collects cells and renders them as Markdown.
type Report struct {
	// Configs lists the configurations in display order.
	Configs []string
	// Baseline names the configuration the ratios divide by.
	Baseline string

	cells []Cell
}

// Add records a cell.
func (r *Report) Add(c Cell) { r.cells = append(r.cells, c) }

// Row returns the medians of config in scenario; ok is false when no round
// measured it.
func (r *Report) Row(config string, sc Scenario) (row Row, ok bool) {
	var rps, p50, p99, ratio, p99ratio, server, store, loadgen []float64
	var requests, runs int64
	row = Row{Config: config, Scenario: sc}
	for _, c := range r.cells {
		if c.Config != config || c.Scenario != sc {
			continue
		}
		row.Rounds++
		rps = append(rps, c.Result.RPS())
		p50 = append(p50, float64(c.Result.P50))
		p99 = append(p99, float64(c.Result.P99))
		row.Errors += c.Result.StatusErrors + c.Result.SocketErrors
		requests += c.Result.Requests
		runs += c.Runs
		if n := float64(c.Result.Requests); n > 0 {
			server = append(server, float64(c.CPU.Server)/n)
			store = append(store, float64(c.CPU.Store)/n)
			loadgen = append(loadgen, float64(c.CPU.LoadGen)/n)
		}
		if base, ok := r.base(c); ok {
			if b := base.Result.RPS(); b > 0 {
				ratio = append(ratio, c.Result.RPS()/b)
			}
			if base.Result.P99 > 0 {
				p99ratio = append(p99ratio, float64(c.Result.P99)/float64(base.Result.P99))
			}
		}
	}
	if row.Rounds == 0 {
		return row, false
	}
	row.RPS = Median(rps)
	row.P50 = time.Duration(Median(p50))
	row.P99 = time.Duration(Median(p99))
	row.Ratio = Median(ratio)
	row.P99Ratio = Median(p99ratio)
	row.CPUPerRequest = CPU{
		Server:  time.Duration(Median(server)),
		Store:   time.Duration(Median(store)),
		LoadGen: time.Duration(Median(loadgen)),
	}
	if requests > 0 {
		row.RunsPerRequest = float64(runs) / float64(requests)
	}
	return row, true
}

// base returns the baseline cell c's ratio divides by.
func (r *Report) base(c Cell) (Cell, bool) {
	for _, b := range r.cells {
		if b.Config == r.Baseline && b.Scenario == c.Scenario && b.Round == c.Round && b.Pair == c.Pair {
			return b, true
		}
	}
	return Cell{}, false
}

func (r *Report) cell(config string, sc Scenario, round int) (Cell, bool) {
	for _, c := range r.cells {
		if c.Config == config && c.Scenario == sc && c.Round == round {
			return c, true
		}
	}
	return Cell{}, false
}

// WriteTable writes the load table: one row per scenario and configuration,
// with medians over rounds.
func (r *Report) WriteTable(w io.Writer) {
	fmt.Fprintln(w, "| scenario | configuration | req/s | ratio to bare | p50 | p99 | p99 / bare p99 | handler runs per request | errors |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, sc := range Scenarios {
		for _, config := range r.Configs {
			row, ok := r.Row(config, sc)
			if !ok {
				continue
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %s | %s | %.2f | %.2f | %d |\n",
				sc, config, row.RPS, row.Ratio, ms(row.P50), ms(row.P99), row.P99Ratio, row.RunsPerRequest, row.Errors)
		}
	}
}

// WriteCPU writes the processor time per request of each process, with the
// server's time above the baseline's: what the middleware itself costs.
func (r *Report) WriteCPU(w io.Writer) {
	fmt.Fprintln(w, "| scenario | configuration | server µs/req | server µs/req above bare | Valkey µs/req | wrk µs/req |")
	fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|")
	for _, sc := range Scenarios {
		base, _ := r.Row(r.Baseline, sc)
		for _, config := range r.Configs {
			row, ok := r.Row(config, sc)
			if !ok {
				continue
			}
			c := row.CPUPerRequest
			fmt.Fprintf(w, "| %s | %s | %.1f | %+.1f | %.1f | %.1f |\n", sc, config,
				us(c.Server), us(c.Server-base.CPUPerRequest.Server), us(c.Store), us(c.LoadGen))
		}
	}
}

// WriteRounds writes every cell: requests per second, the ratio to the
// baseline and the CPU other processes used (in cores, averaged over the
// cell), per round, so the spread behind a median and its noise are
// visible.
func (r *Report) WriteRounds(w io.Writer) {
	rounds := 0
	for _, c := range r.cells {
		rounds = max(rounds, c.Round)
	}
	var head, rule strings.Builder
	head.WriteString("| scenario | configuration |")
	rule.WriteString("|---|---|")
	for i := 1; i <= rounds; i++ {
		fmt.Fprintf(&head, " round %d: req/s (ratio; other load) |", i)
		rule.WriteString("--:|")
	}
	fmt.Fprintln(w, head.String())
	fmt.Fprintln(w, rule.String())
	for _, sc := range Scenarios {
		for _, config := range r.Configs {
			var line strings.Builder
			fmt.Fprintf(&line, "| %s | %s |", sc, config)
			measured := false
			for i := 1; i <= rounds; i++ {
				c, ok := r.cell(config, sc, i)
				if !ok {
					line.WriteString(" – |")
					continue
				}
				measured = true
				ratio := 0.0
				if base, ok := r.base(c); ok && base.Result.RPS() > 0 {
					ratio = c.Result.RPS() / base.Result.RPS()
				}
				other := 0.0
				if c.Result.Duration > 0 {
					other = float64(c.CPU.Other) / float64(c.Result.Duration)
				}
				fmt.Fprintf(&line, " %.0f (%.2f; %.2f cores) |", c.Result.RPS(), ratio, other)
			}
			if measured {
				fmt.Fprintln(w, line.String())
			}
		}
	}
}

// BurstRow is one configuration's same-key bursts.
type BurstRow struct {
	Config string
	Bursts []BurstResult
}

// WriteBursts writes the burst table: handler executions per burst of
// same-key requests, and what the clients got back.
func WriteBursts(w io.Writer, rows []BurstRow) {
	fmt.Fprintln(w, "| configuration | requests per burst | handler runs per burst | answers (last burst) |")
	fmt.Fprintln(w, "|---|--:|--:|---|")
	for _, row := range rows {
		if len(row.Bursts) == 0 {
			continue
		}
		runs := make([]string, len(row.Bursts))
		for i, b := range row.Bursts {
			runs[i] = fmt.Sprint(b.Runs)
		}
		last := row.Bursts[len(row.Bursts)-1]
		fmt.Fprintf(w, "| %s | %d | %s | %s |\n", row.Config, last.Requests, strings.Join(runs, ", "), last.Summary())
	}
}

// Median returns the median of v (the mean of the middle two for an even
// count), or 0 for none. It does not modify v.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// us returns d in microseconds.
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// ms formats a latency in milliseconds with two decimals.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
