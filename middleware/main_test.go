package middleware_test

import (
	"flag"
	"log/slog"
	"os"
	"testing"
)

// TestMain silences slog.Default unless -v is given: the scenarios provoke
// outages, panics and lease losses on purpose, and their logs would bury a
// real failure. Tests that check logs install their own logger.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}
