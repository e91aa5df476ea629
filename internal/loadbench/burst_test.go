package loadbench_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/idemkit/idemkit/internal/loadbench"
	"github.com/idemkit/idemkit/middleware"
)

func TestBurst(t *testing.T) {
	const n = 50
	tests := []struct {
		name     string
		mw       func(http.Handler) http.Handler
		wantRuns int64
	}{
		{"bare handler runs every request", nil, n},
		{"idemkit on memory runs once", middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := new(loadbench.Endpoint)
			var h http.Handler = e
			if tt.mw != nil {
				h = tt.mw(e)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			res, err := loadbench.Burst(t.Context(), srv.URL, "burst-key", n, e)
			if err != nil {
				t.Fatal(err)
			}
			if res.Runs != tt.wantRuns {
				t.Errorf("Burst(%d).Runs = %d, want %d (%s)", n, res.Runs, tt.wantRuns, res.Summary())
			}
			answered := res.Replayed + res.Errors
			for _, c := range res.Statuses {
				answered += c
			}
			if res.Requests != n || answered != n || res.Errors != 0 {
				t.Errorf("Burst(%d) = %d requests, %d answers, %d errors (%s), want %d answers and no errors",
					n, res.Requests, answered, res.Errors, res.Summary(), n)
			}
		})
	}
}

func TestBurstResultSummary(t *testing.T) {
	tests := []struct {
		name string
		res  loadbench.BurstResult
		want string
	}{
		{"statuses in order, then replays", loadbench.BurstResult{Statuses: map[int]int{202: 12, 201: 1}, Replayed: 187}, "201×1, 202×12, replayed×187"},
		{"errors", loadbench.BurstResult{Statuses: map[int]int{201: 3}, Errors: 2}, "201×3, errors×2"},
		{"nothing", loadbench.BurstResult{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.res.Summary(); got != tt.want {
				t.Errorf("Summary() = %q, want %q", got, tt.want)
			}
		})
	}
}
