package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRun starts the whole demo as main does, talks to it over TCP and shuts
// it down through its context, on both stores.
func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		valkey  bool
		wantLog string
	}{
		{name: "memory", wantLog: "idempotency store: in-memory"},
		{name: "valkey", valkey: true, wantLog: "idempotency store: Valkey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(func(k string) string {
				if k == "ADDR" {
					return "127.0.0.1:0"
				}
				return ""
			})
			if err != nil {
				t.Fatalf("loadConfig = %v", err)
			}
			if tt.valkey {
				cfg.valkeyAddrs = []string{valkeytest.StartServer(t).Addr}
			}
			var logs syncBuffer
			logger := newLogger(&logs, cfg.logLevel)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addrc := make(chan net.Addr, 1)
			done := make(chan error, 1)
			go func() { done <- run(ctx, cfg, logger, func(a net.Addr) { addrc <- a }) }()
			var base string
			select {
			case a := <-addrc:
				base = "http://" + a.String()
			case err := <-done:
				t.Fatalf("run = %v before listening; logs:\n%s", err, logs.String())
			}

			for _, path := range []string{"/health", "/ready"} {
				resp, err := http.Get(base + path)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
				}
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run after cancel = %v, want nil", err)
				}
			case <-time.After(shutdownTimeout + time.Minute): // its own bound, and a generous margin
				t.Fatalf("run did not return after cancel")
			}
			out := logs.String()
			for _, want := range []string{tt.wantLog, "booking demo listening", "shutting down", "stopped"} {
				if !strings.Contains(out, want) {
					t.Errorf("logs lack %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "\x1b[") {
				t.Errorf("logs to a buffer contain colour escapes:\n%s", out)
			}
		})
	}
}

func TestRunValkeyUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg := config{addr: "127.0.0.1:0", valkeyAddrs: []string{addr}, reservationTTL: time.Minute}
	var logs syncBuffer
	err = run(context.Background(), cfg, newLogger(&logs, cfg.logLevel), nil)
	if err == nil || !strings.Contains(err.Error(), "connecting to Valkey") {
		t.Errorf("run with Valkey unreachable = %v, want a connecting to Valkey error", err)
	}
}
