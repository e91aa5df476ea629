package middleware

import (
	"encoding/hex"
	"strings"
	"testing"
)

// keyAndToken splits one string into the stored key it was given and a
// fresh 128-bit hex owner token, different on every call.
func TestKeyAndToken(t *testing.T) {
	var buf [160]byte
	kb := appendStorageKey(buf[:0], "idemp:", "tenant-1", "order-42")
	want := string(kb)
	if !strings.HasPrefix(want, "idemp:") || len(want) != len("idemp:")+22 {
		t.Fatalf("stored key %q, want idemp: and 22 base64url characters", want)
	}
	seen := map[string]bool{}
	for range 100 {
		skey, token := keyAndToken(kb)
		if skey != want {
			t.Fatalf("stored key %q, want %q", skey, want)
		}
		if b, err := hex.DecodeString(token); err != nil || len(b) != tokenBytes {
			t.Fatalf("token %q is not %d bytes of hex", token, tokenBytes)
		}
		if seen[token] {
			t.Fatalf("token %q repeated", token)
		}
		seen[token] = true
	}
	if string(kb) != want {
		t.Fatalf("keyAndToken changed its input to %q", kb)
	}
}
