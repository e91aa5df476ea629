package loadbench_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/loadbench"
	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
	"github.com/valkey-io/valkey-go"
)

// Flags of the load benchmark; pass them after -args.
var (
	flagDuration   = flag.Duration("loadbench.duration", 4*time.Second, "measured time of each configuration in a pair, in one-second slices interleaved with its bare pair")
	flagWarmup     = flag.Duration("loadbench.warmup", time.Second, "warm-up time before each cell (whole seconds, 0 = none)")
	flagRounds     = flag.Int("loadbench.rounds", 5, "rounds; the report shows medians (0: only bursts and profiles)")
	flagBurst      = flag.Int("loadbench.burst", 200, "concurrent same-key requests per burst")
	flagBursts     = flag.Int("loadbench.bursts", 5, "same-key bursts per configuration")
	flagReplayKeys = flag.Int("loadbench.replaykeys", 1000, "keys completed before the replay scenario")
	flagProfile    = flag.String("loadbench.profile", "", "directory for CPU profiles of the idemkit configurations under new-key and replay (empty: no profiles)")
	flagOut        = flag.String("loadbench.out", "", "also write the Markdown report to this file")
	flagMultiplex  = flag.Int("loadbench.multiplex", -1, "valkey-go PipelineMultiplex (-1: the client's default, 2^2 connections)")
	flagFlushDelay = flag.Duration("loadbench.flushdelay", 100*time.Microsecond,
		"valkey-go MaxFlushDelay (0: valkey-go's default, none); docs/operations.md explains the 100µs default")
	flagNoPipe    = flag.Bool("loadbench.noautopipe", false, "valkey-go DisableAutoPipelining: each call on a pooled connection of its own")
	flagConfigs   = flag.String("loadbench.configs", "", "comma-separated configurations to measure besides bare (empty: all), for quick iterations")
	flagScenarios = flag.String("loadbench.scenarios", "", "comma-separated scenarios to measure: no-key, new-key, replay (empty: all)")
)

// loadEnv gates the load benchmark: it takes minutes and wants a quiet
// machine, so plain `go test ./...` skips it.
const loadEnv = "IDEMKIT_LOADBENCH"

// Configuration names, in report order.
const (
	cfgBare        = "bare"
	cfgMemory      = "idemkit+memory"
	cfgValkey      = "idemkit+valkey"
	cfgValkeyCache = "idemkit+valkey+replay-cache"
	cfgNaive       = "naive+valkey"
)

var configNames = []string{cfgBare, cfgMemory, cfgValkey, cfgValkeyCache, cfgNaive}

// target is one acceptance target of issue 9: a minimum ratio to the bare
// handler, or for p99 a maximum ratio to the bare p99.
type target struct {
	config   string
	scenario loadbench.Scenario
	minRatio float64 // 0: not checked
	maxP99   float64 // 0: not checked
}

var targets = []target{
	{cfgValkey, loadbench.NewKey, 0.40, 2},
	{cfgValkey, loadbench.Replay, 0.60, 0},
	{cfgValkeyCache, loadbench.Replay, 0.90, 0},
	{cfgValkey, loadbench.NoKey, 0.95, 0},
	{cfgMemory, loadbench.NewKey, 0.80, 2},
}

// settings are the effective run parameters.
type settings struct {
	duration, warmup time.Duration
	rounds           int
}

func loadSettings() settings {
	s := settings{duration: *flagDuration, warmup: *flagWarmup, rounds: *flagRounds}
	if testing.Short() {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["loadbench.duration"] {
			s.duration = 2 * time.Second
		}
		if !set["loadbench.warmup"] {
			s.warmup = time.Second
		}
		if !set["loadbench.rounds"] {
			s.rounds = 1
		}
	}
	return s
}

// TestLoad is the load benchmark of `make bench-load`: every configuration
// under every scenario with wrk, in rounds, then same-key bursts. It prints
// Markdown tables to stdout.
func TestLoad(t *testing.T) {
	if os.Getenv(loadEnv) != "1" {
		t.Skipf("load benchmark: set %s=1 (make bench-load)", loadEnv)
	}
	wrkPath := os.Getenv("WRK")
	if wrkPath == "" {
		p, err := exec.LookPath("wrk")
		if err != nil {
			t.Fatalf("wrk not found: install the Debian package wrk, or run `make bench-load`, which does (%v)", err)
		}
		wrkPath = p
	}
	set := loadSettings()
	ctx := t.Context()
	vs := valkeytest.StartServer(t)
	opt := valkey.ClientOption{InitAddress: []string{vs.Addr}, DisableCache: true, MaxFlushDelay: *flagFlushDelay,
		DisableAutoPipelining: *flagNoPipe}
	if *flagMultiplex >= 0 {
		opt.PipelineMultiplex = *flagMultiplex
	}
	client, err := valkey.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	wrk := loadbench.Wrk{Path: wrkPath}

	var out bytes.Buffer
	w := io.MultiWriter(os.Stdout, &out)
	machine := loadbench.DescribeMachine(valkeyVersion(t, vs), wrkPath)
	fmt.Fprintf(w, "\n## Load benchmark\n\n")
	machine.Write(w)
	fmt.Fprintf(w, "- valkey-go client: PipelineMultiplex %s, MaxFlushDelay %v, DisableAutoPipelining %v\n",
		map[bool]string{true: fmt.Sprint(opt.PipelineMultiplex), false: "default (2)"}[*flagMultiplex >= 0], opt.MaxFlushDelay, opt.DisableAutoPipelining)
	fmt.Fprintf(w, "- load: wrk -t%d -c%d, POST %s with a %d-byte JSON body, 201 with a %d-byte JSON body; %v cells after %v warm-up, %d round(s), %d replay keys\n\n",
		loadbench.DefaultThreads, loadbench.DefaultConnections, loadbench.Path, len(loadbench.RequestBody),
		len(loadbench.ResponseBody), set.duration, set.warmup, set.rounds, *flagReplayKeys)

	report := &loadbench.Report{Configs: configNames, Baseline: cfgBare}
	valkeyTime := map[string][]valkeyCost{}
	runID := randomHex(4)
	// measurePair measures configuration name and the bare handler as a
	// pair, interleaved in one-second slices (bare, name, name, bare, ...):
	// this VM's speed drifts within seconds, so the two figures of a ratio
	// are taken at moments as close as wrk allows. The pair starts from
	// fresh stores and a collected heap: records another configuration
	// left in this process's memory store would make every garbage
	// collection mark them, taxing allocation-heavy configurations.
	measurePair := func(name string, sc loadbench.Scenario, round, pair int) {
		configs := startConfigs(t, client)
		defer stopConfigs(configs)
		cells := []*config{configs[slices.Index(configNames, cfgBare)], configs[slices.Index(configNames, name)]}
		if sc == loadbench.Replay {
			seedReplayKeys(t, cells[1].url, *flagReplayKeys)
		}
		runtime.GC()
		load := func(c *config, d time.Duration, slice string) loadbench.Load {
			return loadbench.Load{URL: c.url, Scenario: sc, ReplayKeys: *flagReplayKeys, Duration: d,
				KeyPrefix: fmt.Sprintf("%s-r%d-p%d-%s-%s-", runID, round, pair, c.name, slice)}
		}
		if set.warmup > 0 {
			for _, c := range cells {
				if _, err := wrk.Run(ctx, load(c, set.warmup, "warm")); err != nil {
					t.Fatal(err)
				}
			}
		}
		var (
			results [2][]loadbench.Result
			runs    [2]int64
			cpu     [2]loadbench.CPU
		)
		resetStats(t, vs) // only the configuration sends Valkey commands
		for k := range max(1, int(set.duration/time.Second)) {
			order := []int{0, 1}
			if (k+round)%2 == 0 {
				order = []int{1, 0}
			}
			for _, i := range order {
				c := cells[i]
				before, cpu0 := c.endpoint.Runs(), sampleCPU(t, vs)
				res, err := wrk.Run(ctx, load(c, time.Second, strconv.Itoa(k)))
				if err != nil {
					t.Fatal(err)
				}
				results[i] = append(results[i], res)
				runs[i] += c.endpoint.Runs() - before
				cpu[i] = cpu[i].Add(sampleCPU(t, vs).sub(cpu0))
			}
		}
		for i, c := range cells {
			res := loadbench.Merge(results[i])
			if !c.usesValkey {
				cpu[i].Store = 0
			}
			report.Add(loadbench.Cell{Config: c.name, Scenario: sc, Round: round, Pair: pair, Result: res, Runs: runs[i], CPU: cpu[i]})
			if c.usesValkey {
				k := c.name + " " + sc.String()
				valkeyTime[k] = append(valkeyTime[k], commandCost(t, vs, res.Requests))
			}
			fmt.Fprintf(os.Stderr, "round %d %-8s %-28s %8.0f req/s  p50 %v  p99 %v  runs %d  errors %d/%d  other load %.2f cores\n",
				round, sc, c.name, res.RPS(), res.P50, res.P99, runs[i], res.StatusErrors, res.SocketErrors,
				float64(cpu[i].Other)/float64(max(res.Duration, 1)))
			if res.StatusErrors+res.SocketErrors > 0 {
				t.Errorf("%s %s round %d: %d status errors, %d socket errors: the figures of this cell are not valid",
					c.name, sc, round, res.StatusErrors, res.SocketErrors)
			}
		}
	}
	for round := 1; round <= set.rounds; round++ {
		flushAll(t, vs)
		for _, sc := range loadbench.Scenarios {
			if !selected(*flagScenarios, sc.String(), "") {
				continue
			}
			// Each configuration is measured with a baseline of its own
			// (its pair); the order of the configurations rotates every
			// round.
			for i := range configNames {
				name := configNames[(i+round-1)%len(configNames)]
				if name == cfgBare || !selected(*flagConfigs, name, cfgBare) {
					continue
				}
				measurePair(name, sc, round, slices.Index(configNames, name))
			}
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "after round %d: %.1f MiB live heap in the server process\n", round, float64(ms.HeapAlloc)/(1<<20))
		if round == 1 {
			writeRecordSizes(t, w, vs)
		}
	}

	if set.rounds > 0 {
		fmt.Fprintf(w, "### Throughput and latency (medians of %d round(s))\n\n", set.rounds)
		report.WriteTable(w)
		fmt.Fprintf(w, "\n### CPU time per request (medians)\n\n")
		report.WriteCPU(w)
		fmt.Fprintf(w, "\n### Per round\n\n")
		report.WriteRounds(w)
		fmt.Fprintf(w, "\n### Valkey commands per request (script-internal commands included) and Valkey µs per call (medians)\n\n")
		writeValkeyCosts(w, valkeyTime)
		fmt.Fprintf(w, "\n### Targets (issue 9)\n\n")
		writeTargets(w, report)
	}

	flushAll(t, vs)
	configs := startConfigs(t, client)
	defer stopConfigs(configs)
	var bursts []loadbench.BurstRow
	for _, c := range configs {
		row := loadbench.BurstRow{Config: c.name}
		for i := range *flagBursts {
			res, err := loadbench.Burst(ctx, c.url, fmt.Sprintf("%s-burst-%s-%d", runID, c.name, i), *flagBurst, c.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			row.Bursts = append(row.Bursts, res)
			if strings.HasPrefix(c.name, "idemkit") && res.Runs != 1 {
				t.Errorf("%s: a burst of %d same-key requests ran the handler %d times, want 1", c.name, *flagBurst, res.Runs)
			}
		}
		bursts = append(bursts, row)
	}
	fmt.Fprintf(w, "\n### Same-key burst: %d concurrent requests with one key, %d burst(s) per configuration\n\n", *flagBurst, *flagBursts)
	loadbench.WriteBursts(w, bursts)

	if *flagProfile != "" {
		fmt.Fprintf(w, "\n### CPU profiles\n\n")
		profile(t, w, wrk, configs, set.duration, runID)
	}

	appendOut(t, out.Bytes())
}

// TestMain empties the -loadbench.out file, which the tests then append
// their reports to.
func TestMain(m *testing.M) {
	flag.Parse()
	if *flagOut != "" {
		if err := os.WriteFile(*flagOut, nil, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(m.Run())
}

// appendOut appends a report to the -loadbench.out file, if any.
func appendOut(t *testing.T, b []byte) {
	t.Helper()
	if *flagOut == "" {
		return
	}
	f, err := os.OpenFile(*flagOut, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// selected reports whether name is in the comma-separated list, which
// selects everything when empty; always is selected in any case.
func selected(list, name, always string) bool {
	if list == "" || name == always {
		return true
	}
	return slices.Contains(strings.Split(list, ","), name)
}

// config is one configuration under test: an endpoint behind (or without)
// a middleware, served on its own loopback port.
type config struct {
	name       string
	endpoint   *loadbench.Endpoint
	url        string
	server     *http.Server
	usesValkey bool
}

// startConfigs starts every configuration with fresh stores; the caller
// stops them with stopConfigs (deferred, so that a failing cell stops them
// too). No t.Cleanup holds them: a cleanup would keep every server, and
// every memory store filled in an earlier cell, reachable until the test
// ends, and each later cell's garbage collections would mark them all.
func startConfigs(t *testing.T, client valkey.Client) []*config {
	t.Helper()
	// The memory store is sized for every key of a round: its defaults
	// (100k records) fill within seconds of new-key load at 24h CompletedTTL.
	mem := middleware.NewMemoryStore(middleware.WithMaxEntries(8<<20), middleware.WithMaxBytes(4<<30))
	vstore := middleware.NewValkeyStore(client)
	cached := middleware.DefaultIdempotencyConfig(vstore)
	cached.KeyPrefix = "idemp-cached:" // its own keys: never replays idemkit+valkey's records
	cached.ReplayCache = middleware.NewReplayCache(100_000, 64<<20)

	mk := []struct {
		name       string
		mw         func(http.Handler) http.Handler
		usesValkey bool
	}{
		{cfgBare, nil, false},
		{cfgMemory, middleware.Idempotency(middleware.DefaultIdempotencyConfig(mem)), false},
		{cfgValkey, middleware.Idempotency(middleware.DefaultIdempotencyConfig(vstore)), true},
		{cfgValkeyCache, middleware.Idempotency(cached), true},
		{cfgNaive, loadbench.Naive(client), true},
	}
	var configs []*config
	for _, m := range mk {
		e := new(loadbench.Endpoint)
		var h http.Handler = e
		if m.mw != nil {
			h = m.mw(e)
		}
		mux := http.NewServeMux()
		mux.Handle(loadbench.Path, h)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go srv.Serve(ln)
		c := &config{name: m.name, endpoint: e, url: "http://" + ln.Addr().String() + loadbench.Path, server: srv, usesValkey: m.usesValkey}
		configs = append(configs, c)
	}
	return configs
}

func stopConfigs(configs []*config) {
	for _, c := range configs {
		c.server.Close()
	}
}

// seedReplayKeys completes loadbench.ReplayKey(0..n-1) at url.
func seedReplayKeys(t *testing.T, url string, n int) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	keys := make(chan int)
	errc := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for i := range keys {
				req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(loadbench.RequestBody))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", loadbench.ReplayKey(i))
				resp, err := client.Do(req)
				if err != nil {
					errc <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errc <- fmt.Errorf("seeding %s: POST %s = %d, want 201", loadbench.ReplayKey(i), url, resp.StatusCode)
					return
				}
			}
		})
	}
	for i := range n {
		keys <- i
	}
	close(keys)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
}

// profile writes CPU profiles of idemkit+valkey under new-key and replay,
// each over one cell's duration, outside the measured rounds.
func profile(t *testing.T, w io.Writer, wrk loadbench.Wrk, configs []*config, d time.Duration, runID string) {
	t.Helper()
	if err := os.MkdirAll(*flagProfile, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range configs {
		named := slices.Contains(strings.Split(*flagConfigs, ","), c.name)
		if (c.name == cfgBare || c.name == cfgNaive) && !named || !selected(*flagConfigs, c.name, "") {
			continue // bare and naive only when named in -loadbench.configs
		}
		seedReplayKeys(t, c.url, *flagReplayKeys)
		for _, sc := range []loadbench.Scenario{loadbench.NewKey, loadbench.Replay} {
			if c.name == cfgValkeyCache && sc == loadbench.NewKey || !selected(*flagScenarios, sc.String(), "") {
				continue
			}
			file := filepath.Join(*flagProfile, fmt.Sprintf("cpu-%s-%s.pprof", strings.ReplaceAll(c.name, "+", "-"), sc))
			f, err := os.Create(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				t.Fatal(err)
			}
			res, err := wrk.Run(t.Context(), loadbench.Load{URL: c.url, Scenario: sc, Duration: d,
				KeyPrefix: runID + "-profile-", ReplayKeys: *flagReplayKeys})
			pprof.StopCPUProfile()
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(w, "- %s %s: %.0f req/s while profiled → `go tool pprof -top -cum %s`\n", c.name, sc, res.RPS(), file)
		}
	}
}

func writeTargets(w io.Writer, r *loadbench.Report) {
	fmt.Fprintln(w, "| configuration | scenario | target | measured | met |")
	fmt.Fprintln(w, "|---|---|---|--:|---|")
	for _, tg := range targets {
		row, ok := r.Row(tg.config, tg.scenario)
		if !ok {
			continue
		}
		if tg.minRatio > 0 {
			fmt.Fprintf(w, "| %s | %s | ratio ≥ %.2f | %.2f | %s |\n", tg.config, tg.scenario, tg.minRatio, row.Ratio, yesNo(row.Ratio >= tg.minRatio))
		}
		if tg.maxP99 > 0 {
			fmt.Fprintf(w, "| %s | %s | p99 ≤ %.0f× bare p99 | %.2f× | %s |\n", tg.config, tg.scenario, tg.maxP99, row.P99Ratio, yesNo(row.P99Ratio <= tg.maxP99))
		}
	}
}

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func flushAll(t *testing.T, vs *valkeytest.Server) {
	t.Helper()
	if _, err := vs.Do(t.Context(), "FLUSHALL"); err != nil {
		t.Fatal(err)
	}
}

func valkeyVersion(t *testing.T, vs *valkeytest.Server) string {
	t.Helper()
	info, err := vs.Do(t.Context(), "INFO", "server")
	if err != nil {
		t.Fatal(err)
	}
	return infoField(info, "valkey_version")
}

// infoField returns a field of an INFO reply.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return "unknown"
}

// writeRecordSizes reports the size of one stored record of each Valkey
// configuration: the value's length and what MEMORY USAGE says it costs.
func writeRecordSizes(t *testing.T, w io.Writer, vs *valkeytest.Server) {
	t.Helper()
	fmt.Fprintf(w, "### Stored record size in Valkey (a %d-byte response body)\n\n", len(loadbench.ResponseBody))
	fmt.Fprintln(w, "| configuration | value bytes (STRLEN) | MEMORY USAGE bytes |")
	fmt.Fprintln(w, "|---|--:|--:|")
	for _, p := range []struct{ name, prefix string }{{cfgValkey, middleware.DefaultKeyPrefix}, {cfgNaive, "naive:"}} {
		key := findKey(t, vs, p.prefix)
		if key == "" {
			continue
		}
		strlen, _ := vs.Do(t.Context(), "STRLEN", key)
		usage, _ := vs.Do(t.Context(), "MEMORY", "USAGE", key)
		fmt.Fprintf(w, "| %s | %s | %s |\n", p.name, strlen, usage)
	}
	fmt.Fprintln(w)
}

// findKey returns a completed key with prefix, or "" after 1000 tries.
func findKey(t *testing.T, vs *valkeytest.Server, prefix string) string {
	t.Helper()
	for range 1000 {
		k, err := vs.Do(t.Context(), "RANDOMKEY")
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(k, prefix) {
			return k
		}
	}
	return ""
}

func resetStats(t *testing.T, vs *valkeytest.Server) {
	t.Helper()
	if _, err := vs.Do(t.Context(), "CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
}

// valkeyCost is what Valkey did for one measured cell.
type valkeyCost struct {
	perRequest  float64            // commands per request, script-internal ones included
	usecPerCall map[string]float64 // by command
}

// commandCost reads INFO commandstats (reset before the cell) and divides
// by the cell's requests. Requests in flight at the end make it slightly
// high; it is an estimate.
func commandCost(t *testing.T, vs *valkeytest.Server, requests int64) valkeyCost {
	t.Helper()
	info, err := vs.Do(t.Context(), "INFO", "commandstats")
	if err != nil {
		t.Fatal(err)
	}
	c := valkeyCost{usecPerCall: map[string]float64{}}
	var calls float64
	for line := range strings.SplitSeq(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		name, isCmd := strings.CutPrefix(name, "cmdstat_")
		if !ok || !isCmd || harnessCommand(name) {
			continue
		}
		var nCalls, perCall float64
		for field := range strings.SplitSeq(rest, ",") {
			k, v, _ := strings.Cut(field, "=")
			f, _ := strconv.ParseFloat(v, 64)
			switch k {
			case "calls":
				nCalls = f
			case "usec_per_call":
				perCall = f
			}
		}
		calls += nCalls
		c.usecPerCall[name] = perCall
	}
	if requests > 0 {
		c.perRequest = calls / float64(requests)
	}
	return c
}

// harnessCommand reports the commands the harness and the client's health
// checks send, which are not part of a request's cost.
func harnessCommand(name string) bool {
	switch name {
	case "info", "ping", "flushall", "randomkey", "strlen", "hello", "client|setinfo", "client|tracking":
		return true
	}
	return strings.HasPrefix(name, "config|") || strings.HasPrefix(name, "memory|")
}

// cpuSample is the processor time used so far by this process (the HTTP
// server), by waited-for children (wrk runs) and by Valkey.
type cpuSample loadbench.CPU

func sampleCPU(t *testing.T, vs *valkeytest.Server) cpuSample {
	t.Helper()
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	info, err := vs.Do(t.Context(), "INFO", "cpu")
	if err != nil {
		t.Fatal(err)
	}
	sys, _ := strconv.ParseFloat(infoField(info, "used_cpu_sys"), 64)
	user, _ := strconv.ParseFloat(infoField(info, "used_cpu_user"), 64)
	return cpuSample{
		Server:  rusageTime(self),
		LoadGen: rusageTime(children),
		Store:   time.Duration((sys + user) * float64(time.Second)),
		Other:   machineBusy(), // all processes; sub leaves the others
	}
}

// sub returns the CPU used between o and s; Other becomes what processes
// other than ours used.
func (s cpuSample) sub(o cpuSample) loadbench.CPU {
	c := loadbench.CPU{Server: s.Server - o.Server, Store: s.Store - o.Store, LoadGen: s.LoadGen - o.LoadGen}
	c.Other = max(0, s.Other-o.Other-c.Server-c.Store-c.LoadGen)
	return c
}

// machineBusy returns the non-idle CPU time of the whole machine so far,
// from /proc/stat (USER_HZ, 100 per second on Linux), or 0 when unreadable.
func machineBusy() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, f := range fields[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		busy += n
	}
	return time.Duration(busy) * (time.Second / 100)
}

func rusageTime(r syscall.Rusage) time.Duration {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func writeValkeyCosts(w io.Writer, costs map[string][]valkeyCost) {
	fmt.Fprintln(w, "| configuration | scenario | commands per request | µs per call by command |")
	fmt.Fprintln(w, "|---|---|--:|---|")
	for _, sc := range loadbench.Scenarios {
		for _, name := range configNames {
			cs := costs[name+" "+sc.String()]
			if len(cs) == 0 {
				continue
			}
			var per []float64
			byCmd := map[string][]float64{}
			for _, c := range cs {
				per = append(per, c.perRequest)
				for k, v := range c.usecPerCall {
					byCmd[k] = append(byCmd[k], v)
				}
			}
			var parts []string
			for _, k := range sortedKeys(byCmd) {
				parts = append(parts, fmt.Sprintf("%s %.2f", k, loadbench.Median(byCmd[k])))
			}
			fmt.Fprintf(w, "| %s | %s | %.2f | %s |\n", name, sc, loadbench.Median(per), strings.Join(parts, ", "))
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
