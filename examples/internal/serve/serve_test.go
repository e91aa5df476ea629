package serve_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/idemkit/idemkit/examples/internal/serve"
	"github.com/idemkit/idemkit/middleware"
)

// TestRun serves on ADDR until its context ends, then shuts down cleanly.
func TestRun(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	t.Setenv("ADDR", addr)
	t.Setenv("VALKEY_ADDR", "")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.Run(ctx, func(store middleware.Store) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up") })
		})
	}()
	deadline := time.Now().Add(time.Minute)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "up" {
				t.Fatalf("body = %q, want up", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving on %s: %v", addr, err)
		}
		time.Sleep(delay)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after its context ended, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Run did not return after its context ended")
	}
}
