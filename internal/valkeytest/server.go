package valkeytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/valkey-io/valkey-go"
)

// startTimeout bounds how long a server may take to answer PING.
const startTimeout = 10 * time.Second

// Option configures a server started by [StartServer].
type Option func(*config)

type config struct {
	args     []string
	cluster  bool
	replicas int // per master, for StartCluster
}

// WithArgs adds valkey-server command-line arguments, e.g.
// WithArgs("--maxmemory", "10mb").
func WithArgs(args ...string) Option {
	return func(c *config) { c.args = append(c.args, args...) }
}

// WithReplicas gives every master of a cluster started by [StartCluster] n
// replicas, so that a master's failure fails over to one of them.
func WithReplicas(n int) Option {
	return func(c *config) { c.replicas = n }
}

// Server is one valkey-server process on a loopback port.
type Server struct {
	// Addr is host:port of the server.
	Addr string
	// Port is the TCP port; it stays the same across Restart.
	Port int

	t    testing.TB
	bin  string
	dir  string
	args []string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stopped bool
}

// StartServer starts a standalone valkey-server and stops it when the test
// ends. The test is skipped (or failed, see [Required]) when valkey-server
// is not installed.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	return start(t, cfg)
}

func start(t testing.TB, cfg config) *Server {
	t.Helper()
	bin := ServerPath(t)
	var lastErr error
	for range 5 { // a free port can be taken between probing and binding
		port, err := freePort(cfg.cluster)
		if err != nil {
			t.Fatalf("valkeytest: free port: %v", err)
		}
		dir, err := os.MkdirTemp("", "valkeytest-")
		if err != nil {
			t.Fatalf("valkeytest: temp dir: %v", err)
		}
		s := &Server{
			Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
			Port: port,
			t:    t,
			bin:  bin,
			dir:  dir,
		}
		s.args = []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--dir", dir,
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--protected-mode", "no",
			"--logfile", filepath.Join(dir, "valkey.log"),
		}
		if cfg.cluster {
			s.args = append(s.args,
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-node-timeout", "2000",
			)
		}
		s.args = append(s.args, cfg.args...)
		if lastErr = s.launch(); lastErr == nil {
			t.Cleanup(s.cleanup)
			return s
		}
		s.kill()
		os.RemoveAll(dir)
	}
	t.Fatalf("valkeytest: start valkey-server: %v", lastErr)
	return nil
}

// launch starts the process and waits until it answers PING.
func (s *Server) launch() error {
	cmd := exec.Command(s.bin, s.args...)
	// Die with the test binary even when it is killed before t.Cleanup runs.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited, s.stopped = cmd, exited, false
	s.mu.Unlock()

	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("valkey-server on port %d exited at start: %s", s.Port, s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		reply, err := s.Do(ctx, "PING")
		cancel()
		if err == nil && reply == "PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("valkey-server on port %d did not answer PING within %v (last: %v): %s",
				s.Port, startTimeout, err, s.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop kills the server like a crash (SIGKILL) and waits for it to exit.
// Its port and data directory are kept for [Server.Restart].
func (s *Server) Stop() {
	s.t.Helper()
	s.kill()
}

func (s *Server) kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.stopped = true
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused process must be able to die
	cmd.Process.Kill()
	<-exited
}

// Restart starts a stopped server again on the same port. It stops the
// server first when it is still running.
func (s *Server) Restart() {
	s.t.Helper()
	s.kill()
	var err error
	for range 50 { // the port may take a moment to be released
		if err = s.launch(); err == nil {
			return
		}
		s.kill()
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("valkeytest: restart on port %d: %v", s.Port, err)
}

// Pause freezes the server with SIGSTOP: connections stay open, nothing is
// answered — a hung store.
func (s *Server) Pause() {
	s.t.Helper()
	s.signal(syscall.SIGSTOP)
}

// Resume thaws a paused server with SIGCONT.
func (s *Server) Resume() {
	s.t.Helper()
	s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.stopped {
		s.t.Fatalf("valkeytest: signal %v: server on port %d is not running", sig, s.Port)
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("valkeytest: signal %v: %v", sig, err)
	}
}

// PID returns the process id of the running server, or 0 when it is stopped.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.stopped || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Dir returns the server's temporary directory (removed at cleanup).
func (s *Server) Dir() string { return s.dir }

// Client returns a valkey-go client for this server, closed when the test
// ends. Client-side caching is off so that fault tests see the server.
func (s *Server) Client(t testing.TB) valkey.Client {
	t.Helper()
	return newClient(t, valkey.ClientOption{InitAddress: []string{s.Addr}, DisableCache: true})
}

// Do sends one command over a fresh connection and returns the reply as
// text: simple and bulk strings as they are, integers in decimal, arrays as
// their elements joined by newlines. An error reply is returned as an error.
func (s *Server) Do(ctx context.Context, args ...string) (string, error) {
	return do(ctx, s.Addr, args...)
}

func (s *Server) cleanup() {
	s.kill()
	os.RemoveAll(s.dir)
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(filepath.Join(s.dir, "valkey.log"))
	if err != nil {
		return "(no log)"
	}
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

func newClient(t testing.TB, opt valkey.ClientOption) valkey.Client {
	t.Helper()
	c, err := valkey.NewClient(opt)
	if err != nil {
		t.Fatalf("valkeytest: valkey.NewClient(%v): %v", opt.InitAddress, err)
	}
	t.Cleanup(c.Close)
	return c
}

// freePort finds a loopback port that is free; for cluster nodes the
// cluster bus port (port+10000) must be free too.
func freePort(cluster bool) (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !cluster {
			return port, nil
		}
		if port+10000 > 65535 {
			continue
		}
		bus, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+10000)))
		if err != nil {
			continue
		}
		bus.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no free port pair found")
}
