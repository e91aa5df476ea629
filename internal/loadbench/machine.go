package loadbench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// Machine describes where a benchmark ran.
type Machine struct {
	CPUs    int    // runtime.NumCPU
	CPU     string // model name from /proc/cpuinfo
	Kernel  string
	Go      string
	Valkey  string // valkey-server version
	Wrk     string // wrk version line
	LoadAvg string // /proc/loadavg when the run started: others' load shows here
}

// DescribeMachine returns the machine description; valkeyVersion comes
// from the caller (INFO server), wrkPath is the wrk executable.
func DescribeMachine(valkeyVersion, wrkPath string) Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), Valkey: valkeyVersion}
	m.CPU = cpuModel()
	m.Kernel = readTrim("/proc/sys/kernel/osrelease")
	m.LoadAvg = readTrim("/proc/loadavg")
	// wrk -v prints its version and exits with status 1.
	out, _ := exec.Command(wrkPath, "-v").CombinedOutput()
	if line, _, _ := bytes.Cut(out, []byte("\n")); len(line) > 0 {
		m.Wrk = string(bytes.TrimSpace(line))
	}
	return m
}

// Write writes the description as a Markdown list.
func (m Machine) Write(w io.Writer) {
	fmt.Fprintf(w, "- CPU: %d × %s (nproc %d)\n", m.CPUs, m.CPU, m.CPUs)
	fmt.Fprintf(w, "- kernel: Linux %s\n", m.Kernel)
	fmt.Fprintf(w, "- Go: %s\n", m.Go)
	fmt.Fprintf(w, "- Valkey: %s\n", m.Valkey)
	fmt.Fprintf(w, "- wrk: %s\n", m.Wrk)
	fmt.Fprintf(w, "- load average at start: %s\n", m.LoadAvg)
}

func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimSpace(b))
}
