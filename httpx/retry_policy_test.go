package httpx_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

func TestNewRetryTransportPanicsOnBadPolicy(t *testing.T) {
	tests := []struct {
		name string
		p    httpx.RetryPolicy
		want string
	}{
		{name: "negative MaxAttempts", p: httpx.RetryPolicy{MaxAttempts: -1}, want: "MaxAttempts"},
		{name: "negative BaseDelay", p: httpx.RetryPolicy{BaseDelay: -time.Second}, want: "BaseDelay"},
		{name: "negative MaxDelay", p: httpx.RetryPolicy{MaxDelay: -time.Second}, want: "MaxDelay"},
		{name: "negative AttemptTimeout", p: httpx.RetryPolicy{AttemptTimeout: -time.Second}, want: "AttemptTimeout"},
		{name: "BaseDelay above MaxDelay", p: httpx.RetryPolicy{BaseDelay: time.Minute, MaxDelay: time.Second}, want: "larger than MaxDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r, _ := recover().(string)
				if !strings.HasPrefix(r, "httpx: ") || !strings.Contains(r, tt.want) {
					t.Errorf("NewRetryTransport(%+v) panic = %q, want an httpx: panic naming %s", tt.p, r, tt.want)
				}
			}()
			httpx.NewRetryTransport(nil, tt.p)
		})
	}
}

func TestDefaultRetryPolicy(t *testing.T) {
	p := httpx.DefaultRetryPolicy()
	if p.MaxAttempts != 4 || p.BaseDelay != time.Second || p.MaxDelay != 30*time.Second || p.MaxPolls != 20 ||
		p.KeyHeader != "Idempotency-Key" || p.AttemptHeader != "Idempotency-Attempt" || p.MaxBufferedBody != 1<<20 ||
		p.Budget != (httpx.RetryBudget{Ratio: 0.1, MinPerSecond: 1, Burst: 10}) || p.Classify == nil ||
		strings.Join(p.KeyMethods, ",") != "POST,PATCH" {
		t.Errorf("DefaultRetryPolicy() = %+v, want the documented defaults", p)
	}
}

// TestRetryClassifiedBodyIntact checks that a body the classifier peeked at
// reaches the caller whole.
func TestRetryClassifiedBodyIntact(t *testing.T) {
	long := `{"error":"CONFLICT","message":"` + strings.Repeat("m", 10<<10) + `"}`
	tests := []struct {
		name string
		st   step
	}{
		{name: "409 longer than the peek", st: step{status: 409, body: long}},
		{name: "202 final answer", st: step{status: 202, body: `{"job":"42"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServer(t, tt.st)
			rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{})
			req, _ := http.NewRequest("POST", srv.URL, nil)
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip() error = %v", err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(b) != tt.st.body {
				t.Errorf("response body = %d bytes, %v, want the %d bytes sent", len(b), err, len(tt.st.body))
			}
		})
	}
}
