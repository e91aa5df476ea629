package middleware_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

func TestHeaderPolicy(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Location", "/orders/7")
		h.Set("Etag", `"v1"`)
		h.Add("Link", "</a>; rel=a")
		h.Add("Link", "</b>; rel=b")
		h.Set("Connection", "X-Hop")
		h.Set("X-Hop", "1")
		h.Set("Set-Cookie", "s=1")
		h.Set("Www-Authenticate", "Bearer")
		h.Set("Ratelimit-Remaining", "3")
		h.Set("X-Rate-Limit-Limit", "10")
		h.Set("Traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		h.Set("X-Internal", "secret-ish")
		h.Add("Vary", "Accept-Encoding") // appended to the outer middleware's Vary
		w.WriteHeader(http.StatusCreated)
	})
	// outer stands for middleware in front of Idempotency (CORS, request id).
	outer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Served-By", r.Header.Get("X-Node"))
			w.Header().Set("X-Request-Id", "req-"+r.Header.Get("X-Node"))
			w.Header().Add("Vary", "Origin")
			next.ServeHTTP(w, r)
		})
	}
	cases := []struct {
		name    string
		policy  middleware.HeaderPolicy
		want    map[string][]string // replayed values ("" entries absent)
		missing []string
	}{
		{
			name:   "default: all but the denylist",
			policy: middleware.HeaderPolicy{},
			want: map[string][]string{
				"Content-Type": {"application/json"}, "Location": {"/orders/7"}, "Etag": {`"v1"`},
				"Link": {"</a>; rel=a", "</b>; rel=b"}, "X-Internal": {"secret-ish"},
				"Vary": {"Origin", "Accept-Encoding"}, "X-Served-By": {"node-2"}, "X-Request-Id": {"req-node-2"},
			},
			missing: []string{"Set-Cookie", "Www-Authenticate", "Ratelimit-Remaining", "X-Rate-Limit-Limit",
				"Traceparent", "Connection", "X-Hop"},
		},
		{
			name:    "extra deny",
			policy:  middleware.HeaderPolicy{Deny: []string{"x-internal"}},
			want:    map[string][]string{"Location": {"/orders/7"}},
			missing: []string{"X-Internal", "Set-Cookie"},
		},
		{
			name:    "allowlist",
			policy:  middleware.HeaderPolicy{Allow: []string{"content-type", "Location", "Set-Cookie"}},
			want:    map[string][]string{"Content-Type": {"application/json"}, "Location": {"/orders/7"}},
			missing: []string{"Etag", "Link", "X-Internal", "Set-Cookie"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore())
			cfg.HeaderPolicy = tc.policy
			h := outer(middleware.Idempotency(cfg)(handler))
			key := newKey()
			do(t, h, "POST", "/orders", key, "{}", "X-Node", "node-1")
			got := do(t, h, "POST", "/orders", key, "{}", "X-Node", "node-2")
			if got.header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("second request not replayed: %d", got.status)
			}
			for name, want := range tc.want {
				if vals := got.header.Values(name); !slices.Equal(vals, want) {
					t.Errorf("replay %s = %q, want %q", name, vals, want)
				}
			}
			for _, name := range tc.missing {
				if vals := got.header.Values(name); len(vals) > 0 {
					t.Errorf("replay %s = %q, want it not replayed", name, vals)
				}
			}
		})
	}
}
