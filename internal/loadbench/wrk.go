package loadbench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Default load shape: the one the reference figures use.
const (
	DefaultThreads     = 2
	DefaultConnections = 64
)

// ErrNoSummary is returned by [Wrk.Run] when wrk's output has no summary
// line from the harness's Lua script.
var ErrNoSummary = errors.New("loadbench: no LOADBENCH summary in wrk output")

// Wrk runs the wrk HTTP load generator (https://github.com/wg/wrk, Debian
// package wrk).
type Wrk struct {
	// Path is the wrk executable. Default "wrk" (looked up on PATH).
	Path string
	// Threads is wrk's -t. Default [DefaultThreads].
	Threads int
	// Connections is wrk's -c. Default [DefaultConnections].
	Connections int
}

// Load describes one wrk run.
type Load struct {
	// URL is the endpoint, e.g. http://127.0.0.1:8080/v1/orders.
	URL string
	// Scenario selects the requests.
	Scenario Scenario
	// Duration of the run, rounded down to whole seconds (wrk's
	// resolution), at least one second.
	Duration time.Duration
	// KeyPrefix starts every key of a NewKey run; it must differ between
	// runs against the same store, so that every key is new.
	KeyPrefix string
	// ReplayKeys is how many keys, [ReplayKey](0) on, a Replay run cycles
	// through; they must be completed before the run.
	ReplayKeys int
}

// Result is what one wrk run measured.
type Result struct {
	// Requests is the number of completed requests.
	Requests int64
	// Duration is the measured time.
	Duration time.Duration
	// P50 and P99 are latency percentiles; Max is the largest latency.
	P50, P99, Max time.Duration
	// StatusErrors counts responses with a status of 400 or more.
	StatusErrors int64
	// SocketErrors counts connect, read, write and timeout errors.
	SocketErrors int64
}

// RPS returns the requests per second.
func (r Result) RPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

// Merge returns the results of consecutive runs against one endpoint as
// one: requests, time and errors add up, Max is the largest, and P50 and
// P99 are the medians of the runs' percentiles (wrk's summary has no
// histogram to merge). It returns the zero Result for no runs.
func Merge(runs []Result) Result {
	var m Result
	var p50, p99 []float64
	for _, r := range runs {
		m.Requests += r.Requests
		m.Duration += r.Duration
		m.StatusErrors += r.StatusErrors
		m.SocketErrors += r.SocketErrors
		m.Max = max(m.Max, r.Max)
		p50 = append(p50, float64(r.P50))
		p99 = append(p99, float64(r.P99))
	}
	m.P50, m.P99 = time.Duration(Median(p50)), time.Duration(Median(p99))
	return m
}

// Run runs wrk once and returns its summary. wrk is killed when ctx is done
// or when the calling process dies.
func (w Wrk) Run(ctx context.Context, l Load) (Result, error) {
	u, err := url.Parse(l.URL)
	if err != nil {
		return Result{}, fmt.Errorf("loadbench: %w", err)
	}
	src, err := script(l.Scenario, cmp.Or(u.EscapedPath(), "/"), l.KeyPrefix, l.ReplayKeys)
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "loadbench-wrk-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	file := filepath.Join(dir, "load.lua")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		return Result{}, err
	}

	secs := max(int(l.Duration/time.Second), 1)
	bin := cmp.Or(w.Path, "wrk")
	args := []string{
		"-t", strconv.Itoa(cmp.Or(w.Threads, DefaultThreads)),
		"-c", strconv.Itoa(cmp.Or(w.Connections, DefaultConnections)),
		"-d", strconv.Itoa(secs) + "s",
		"--timeout", "5s",
		"-s", file,
		l.URL,
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return Result{}, fmt.Errorf("loadbench: %s %s: %w: %s", bin, strings.Join(args, " "), err,
			strings.TrimSpace(stderr.String()+stdout.String()))
	}
	res, err := ParseSummary(stdout.Bytes())
	if err != nil {
		return Result{}, fmt.Errorf("%w: %s", err, strings.TrimSpace(stdout.String()))
	}
	return res, nil
}

// ParseSummary finds and parses the "LOADBENCH key=value ..." line that
// the harness's wrk script prints when a run is done.
func ParseSummary(out []byte) (Result, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "LOADBENCH ")
		if !ok {
			continue
		}
		var r Result
		var sock int64
		for _, field := range strings.Fields(line) {
			k, v, ok := strings.Cut(field, "=")
			if !ok {
				return Result{}, fmt.Errorf("loadbench: summary field %q is not key=value", field)
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return Result{}, fmt.Errorf("loadbench: summary field %q: %w", field, err)
			}
			switch k {
			case "requests":
				r.Requests = n
			case "duration_us":
				r.Duration = time.Duration(n) * time.Microsecond
			case "p50_us":
				r.P50 = time.Duration(n) * time.Microsecond
			case "p99_us":
				r.P99 = time.Duration(n) * time.Microsecond
			case "max_us":
				r.Max = time.Duration(n) * time.Microsecond
			case "status":
				r.StatusErrors = n
			case "connect", "read", "write", "timeout":
				sock += n
			}
		}
		r.SocketErrors = sock
		return r, nil
	}
	return Result{}, ErrNoSummary
}
