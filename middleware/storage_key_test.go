package middleware_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// documentedKeyHash is the stored key's hash exactly as docs/idempotency.md
// and docs/operations.md spell it: the unpadded base64url of the first 16
// bytes of SHA-256 over the scope and the key, each preceded by its length
// as a big-endian uint64.
func documentedKeyHash(scope, key string) string {
	var in []byte
	for _, f := range []string{scope, key} {
		in = binary.BigEndian.AppendUint64(in, uint64(len(f)))
		in = append(in, f...)
	}
	sum := sha256.Sum256(in)
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// documentedScopeHash is the hash inside a quota layout's braces: the
// unpadded base64url of the first 16 bytes of SHA-256("idemkit scope\x00" +
// scope).
func documentedScopeHash(scope string) string {
	sum := sha256.Sum256([]byte("idemkit scope\x00" + scope))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// TestStoredKeyLayout pins the stored key (the Key of every event) to the
// layout the docs give, including their worked example, with and without
// a quota.
func TestStoredKeyLayout(t *testing.T) {
	const scope, key = "tenant-1", "order-42"
	// The worked example of docs/idempotency.md (Scoping).
	if got, want := "idemp:"+documentedKeyHash(scope, key), "idemp:L2Z4LZi-n5grxKJN_BTIbQ"; got != want {
		t.Fatalf("documented recipe gives %s, the docs' example is %s", got, want)
	}
	tests := []struct {
		name   string
		prefix string
		header string // the Idempotency-Key as sent
		quota  middleware.Quota
		want   string
	}{
		{"default prefix", "", key, middleware.Quota{}, "idemp:" + documentedKeyHash(scope, key)},
		{"quoted key", "", `"` + key + `"`, middleware.Quota{}, "idemp:" + documentedKeyHash(scope, key)},
		{"own prefix", "orders:", key, middleware.Quota{}, "orders:" + documentedKeyHash(scope, key)},
		{"with a quota", "", key, middleware.Quota{MaxInFlight: 10},
			"idemp:{" + documentedScopeHash(scope) + "}" + documentedKeyHash(scope, key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var keys []string
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			if tt.prefix != "" {
				cfg.KeyPrefix = tt.prefix
			}
			cfg.Quota = tt.quota
			cfg.Scope = func(*http.Request) string { return scope }
			cfg.OnEvent = func(ev middleware.Event) {
				mu.Lock()
				keys = append(keys, ev.Key)
				mu.Unlock()
			}
			h := middleware.Idempotency(cfg)(&countingHandler{respond: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusCreated)
			}})
			if got := do(t, h, "POST", "/orders", tt.header, ""); got.status != http.StatusCreated {
				t.Fatalf("POST = %d %s, want 201", got.status, got.body)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(keys) == 0 {
				t.Fatal("no events")
			}
			for _, k := range keys {
				if k != tt.want {
					t.Errorf("event Key = %s, want %s", k, tt.want)
				}
			}
			if tt.quota == (middleware.Quota{}) && len(tt.want) != len(cfg.KeyPrefix)+22 {
				t.Errorf("stored key %s is %d bytes, want the prefix and 22", tt.want, len(tt.want))
			}
			if strings.ContainsAny(tt.want[len(cfg.KeyPrefix):], "+/=") {
				t.Errorf("stored key %s is not unpadded base64url", tt.want)
			}
		})
	}
}
