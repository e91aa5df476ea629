package loadbench_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/internal/loadbench"
	"github.com/idemkit/idemkit/internal/valkeytest"
)

func TestNaive(t *testing.T) {
	vs := valkeytest.StartServer(t)
	e := new(loadbench.Endpoint)
	srv := httptest.NewServer(loadbench.Naive(vs.Client(t))(e))
	defer srv.Close()

	tests := []struct {
		name         string
		key          string
		wantStatus   int
		wantReplayed string
		wantRuns     int64
	}{
		{"no key runs the handler", "", http.StatusCreated, "", 1},
		{"first request with a key runs the handler", "k1", http.StatusCreated, "", 2},
		{"retry replays the stored response", "k1", http.StatusCreated, "true", 2},
		{"another key runs the handler", "k2", http.StatusCreated, "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(loadbench.RequestBody))
			if tt.key != "" {
				req.Header.Set("Idempotency-Key", tt.key)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(body) != loadbench.ResponseBody {
				t.Errorf("POST key %q = %d %q, want %d %q", tt.key, resp.StatusCode, body, tt.wantStatus, loadbench.ResponseBody)
			}
			if got := resp.Header.Get("Idempotent-Replayed"); got != tt.wantReplayed {
				t.Errorf("POST key %q Idempotent-Replayed = %q, want %q", tt.key, got, tt.wantReplayed)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/json" {
				t.Errorf("POST key %q Content-Type = %q, want application/json", tt.key, got)
			}
			if got := e.Runs(); got != tt.wantRuns {
				t.Errorf("after POST key %q: Runs() = %d, want %d", tt.key, got, tt.wantRuns)
			}
		})
	}
}
