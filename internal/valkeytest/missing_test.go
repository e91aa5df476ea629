package valkeytest_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingServer runs this test binary again with a valkey-server that
// does not exist: plainly the test skips with one clear line; with CI=true
// or IDEMKIT_REQUIRE_VALKEY=1 it fails.
func TestMissingServer(t *testing.T) {
	if os.Getenv("VALKEYTEST_CHILD") == "1" {
		t.Skip("child process")
	}
	cases := []struct {
		name     string
		env      []string
		wantFail bool
		wantText string
	}{
		{"plain run skips", nil, false, "--- SKIP: TestStandaloneSetGet"},
		{"CI fails", []string{"CI=true"}, true, "required because CI=true"},
		{"IDEMKIT_REQUIRE_VALKEY fails", []string{"IDEMKIT_REQUIRE_VALKEY=1"}, true, "required because"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestStandaloneSetGet$", "-test.v")
			env := []string{"VALKEYTEST_CHILD=1", "VALKEY_SERVER=/nonexistent/valkey-server"}
			for _, kv := range os.Environ() {
				if !strings.HasPrefix(kv, "CI=") && !strings.HasPrefix(kv, "IDEMKIT_REQUIRE_VALKEY=") &&
					!strings.HasPrefix(kv, "VALKEY_SERVER=") {
					env = append(env, kv)
				}
			}
			cmd.Env = append(env, tc.env...)
			out, err := cmd.CombinedOutput()
			if failed := err != nil; failed != tc.wantFail {
				t.Errorf("child failed = %v, want %v\n%s", failed, tc.wantFail, out)
			}
			if !strings.Contains(string(out), tc.wantText) || !strings.Contains(string(out), "/nonexistent/valkey-server does not exist") {
				t.Errorf("child output lacks %q and the reason:\n%s", tc.wantText, out)
			}
		})
	}
}
