package valkeytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Required reports whether a missing valkey-server must fail tests instead
// of skipping them: CI=true or IDEMKIT_REQUIRE_VALKEY=1.
func Required() bool {
	return os.Getenv("CI") == "true" || os.Getenv("IDEMKIT_REQUIRE_VALKEY") == "1"
}

// ServerPath returns the valkey-server binary to run. It skips the test when
// none is found, or fails it when [Required] says so.
func ServerPath(t testing.TB) string {
	t.Helper()
	return lookup(t, "VALKEY_SERVER", "valkey-server")
}

// CLIPath returns the valkey-cli binary used to create clusters: $VALKEY_CLI,
// valkey-cli beside the server binary, or valkey-cli on PATH.
func CLIPath(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VALKEY_CLI"); p != "" {
		return lookup(t, "VALKEY_CLI", "valkey-cli")
	}
	beside := filepath.Join(filepath.Dir(ServerPath(t)), "valkey-cli")
	if st, err := os.Stat(beside); err == nil && !st.IsDir() {
		return beside
	}
	return lookup(t, "VALKEY_CLI", "valkey-cli")
}

func lookup(t testing.TB, envvar, name string) string {
	t.Helper()
	if p := os.Getenv(envvar); p != "" {
		if _, err := os.Stat(p); err != nil {
			missing(t, name, envvar+"="+p+" does not exist")
		}
		return p
	}
	p, err := exec.LookPath(name)
	if err != nil {
		missing(t, name, name+" is not on PATH and $"+envvar+" is not set")
	}
	return p
}

func missing(t testing.TB, name, why string) {
	t.Helper()
	msg := "valkeytest: " + why + "; install " + name + " (make test does it on Debian) or set $" +
		map[string]string{"valkey-server": "VALKEY_SERVER", "valkey-cli": "VALKEY_CLI"}[name]
	if Required() {
		t.Fatal(msg + " (required because CI=true or IDEMKIT_REQUIRE_VALKEY=1)")
	}
	t.Skip(msg)
}
