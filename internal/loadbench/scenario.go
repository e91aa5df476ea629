package loadbench

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"text/template"
)

// Scenario is what the load sends to the endpoint.
type Scenario uint8

const (
	// NoKey sends requests without an Idempotency-Key header: the
	// middleware must stay out of the way.
	NoKey Scenario = iota
	// NewKey sends a key never used before with every request: a claim and
	// a completion per request.
	NewKey
	// Replay cycles through keys completed before the run: every request is
	// answered from the store without running the handler.
	Replay
)

// Scenarios lists every scenario, in report order.
var Scenarios = []Scenario{NoKey, NewKey, Replay}

// String returns "no-key", "new-key" or "replay".
func (s Scenario) String() string {
	switch s {
	case NoKey:
		return "no-key"
	case NewKey:
		return "new-key"
	case Replay:
		return "replay"
	default:
		return "scenario(" + strconv.Itoa(int(s)) + ")"
	}
}

// ReplayKey returns the i-th key of the replay scenario. A harness completes
// ReplayKey(0) to ReplayKey(n-1) before a replay run with n keys.
func ReplayKey(i int) string { return "replay-" + strconv.Itoa(i) }

//go:embed wrk.lua.tmpl
var luaSource string

var luaTemplate = template.Must(template.New("wrk.lua").Parse(luaSource))

// script returns the wrk Lua script of one run.
func script(sc Scenario, path, keyPrefix string, replayKeys int) (string, error) {
	if strings.ContainsAny(keyPrefix, "\"\\\r\n") {
		return "", fmt.Errorf("loadbench: key prefix %q has characters a Lua string cannot hold as is", keyPrefix)
	}
	if sc == Replay && replayKeys <= 0 {
		return "", fmt.Errorf("loadbench: replay needs at least one completed key, got %d", replayKeys)
	}
	var b strings.Builder
	err := luaTemplate.Execute(&b, struct {
		Scenario   string
		Path       string
		Body       string
		KeyPrefix  string
		ReplayKeys int
	}{sc.String(), path, RequestBody, keyPrefix, replayKeys})
	return b.String(), err
}
