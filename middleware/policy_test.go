package middleware_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

func TestPolicyHandler(t *testing.T) {
	cases := []struct {
		name       string
		edit       func(*middleware.IdempotencyConfig)
		statuses   []string
		inProgress int
		scoped     bool
	}{
		{"defaults", func(*middleware.IdempotencyConfig) {}, []string{"200-299"}, 202, false},
		{"client errors stored, 409 mode, scoped", func(c *middleware.IdempotencyConfig) {
			c.ShouldStore = middleware.StoreSuccessAndClientErrors
			c.InProgress = middleware.InProgressConflict
			c.Scope = func(r *http.Request) string { return "u" }
			c.CompletedTTL = time.Hour
		}, []string{"200-400", "402", "404-407", "409-428", "430-499"}, 409, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			tc.edit(&cfg)
			w := httptest.NewRecorder()
			middleware.PolicyHandler(cfg).ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/idempotency", nil))
			var p middleware.Policy
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || w.Code != 200 {
				t.Fatalf("GET policy = %d %s: %v", w.Code, w.Body, err)
			}
			if !slices.Equal(p.StoredStatuses, tc.statuses) {
				t.Errorf("stored_statuses = %q, want %q", p.StoredStatuses, tc.statuses)
			}
			if p.InProgressStatus != tc.inProgress || p.Scoped != tc.scoped {
				t.Errorf("in_progress_status %d scoped %v, want %d %v", p.InProgressStatus, p.Scoped, tc.inProgress, tc.scoped)
			}
			if !slices.Equal(p.KeyHeaders, []string{"Idempotency-Key", "X-Idempotency-Key"}) ||
				!slices.Equal(p.Methods, []string{"POST", "PUT", "PATCH", "DELETE"}) || p.RetryAfterSeconds != 1 ||
				p.ProcessingTTLSeconds != 60 || p.MaxBodyBytes != 1<<20 {
				t.Errorf("policy = %+v, want the defaults", p)
			}
		})
	}
}
