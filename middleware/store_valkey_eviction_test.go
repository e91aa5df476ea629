package middleware_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idemkit/idemkit/internal/valkeytest"
	"github.com/idemkit/idemkit/middleware"
)

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestValkeyStoreEvictionPolicy: a server whose maxmemory-policy may evict
// records fails the readiness check with an error naming the policy, and
// the store warns once at start; noeviction passes; a server that does not
// allow CONFIG GET passes with one warning.
func TestValkeyStoreEvictionPolicy(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantErr  string // in Ping's error; "" for none
		wantWarn string // in the log; "" for none
	}{
		{"noeviction", nil, "", ""},
		{"allkeys-lru", []string{"--maxmemory-policy", "allkeys-lru"}, `"allkeys-lru"`, "noeviction"},
		{"volatile-ttl", []string{"--maxmemory-policy", "volatile-ttl"}, `"volatile-ttl"`, "noeviction"},
		{"config denied", []string{"--maxmemory-policy", "allkeys-lru", "--user", "default", "on", "nopass", "~*", "&*", "+@all", "-config"},
			"", "CONFIG GET is not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := valkeytest.StartServer(t, valkeytest.WithArgs(tt.args...))
			var logs syncBuffer
			s := middleware.NewValkeyStore(srv.Client(t), middleware.WithValkeyLogger(slog.New(slog.NewTextHandler(&logs, nil))))
			for range 3 {
				err := s.Ping(t.Context())
				switch {
				case tt.wantErr == "" && err != nil:
					t.Fatalf("Ping = %v, want nil", err)
				case tt.wantErr != "" && (!errors.Is(err, middleware.ErrEvictionPolicy) || !strings.Contains(err.Error(), tt.wantErr)):
					t.Fatalf("Ping = %v, want ErrEvictionPolicy naming %s", err, tt.wantErr)
				}
			}
			if tt.wantWarn == "" {
				return
			}
			eventually(t, patience, "warning logged", func() bool { return strings.Contains(logs.String(), tt.wantWarn) })
			time.Sleep(100 * time.Millisecond) // room for a second warning, which must not come
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
			}
		})
	}
}

// TestValkeyStoreEvictionPolicyCluster: every node of a cluster is checked.
func TestValkeyStoreEvictionPolicyCluster(t *testing.T) {
	c := valkeytest.StartCluster(t)
	s := middleware.NewValkeyStore(c.Client(t))
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping = %v, want nil", err)
	}
	if _, err := c.Nodes[2].Do(t.Context(), "CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"); err != nil {
		t.Fatal(err)
	}
	err := s.Ping(t.Context())
	if !errors.Is(err, middleware.ErrEvictionPolicy) || !strings.Contains(err.Error(), c.Nodes[2].Addr) {
		t.Fatalf("Ping = %v, want ErrEvictionPolicy naming %s", err, c.Nodes[2].Addr)
	}
}

// TestValkeyStoreCompleteOOMIsRejected: a Valkey at maxmemory under
// noeviction refuses the completion with OOM, which the store reports as
// ErrRecordRejected (the middleware then keeps the tombstone instead of
// retrying); a refused connection is not a rejection.
func TestValkeyStoreCompleteOOMIsRejected(t *testing.T) {
	srv := valkeytest.StartServer(t)
	s := middleware.NewValkeyStore(srv.Client(t))
	key, token := "idemp:"+newKey(), "0123456789abcdef0123456789abcdef"
	if _, err := s.Claim(t.Context(), key, processingRecord(token), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do(t.Context(), "CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	err := s.Complete(t.Context(), key, token, completedRecord(token, []byte(`{"id":1}`)), time.Hour)
	if !errors.Is(err, middleware.ErrRecordRejected) || !strings.Contains(err.Error(), "OOM") {
		t.Errorf("Complete at maxmemory = %v, want ErrRecordRejected wrapping the OOM reply", err)
	}
	srv.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if err := s.Complete(ctx, key, token, completedRecord(token, nil), time.Hour); err == nil || errors.Is(err, middleware.ErrRecordRejected) {
		t.Errorf("Complete with Valkey down = %v, want an error that is not ErrRecordRejected", err)
	}
}
