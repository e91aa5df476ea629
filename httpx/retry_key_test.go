package httpx_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRetryIdempotencyKey(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		header      []string
		policy      httpx.RetryPolicy
		wantKey     string // "uuid": a generated UUIDv4; "": none
		wantAltKey  string
		wantHeader  string // the key header the server should read
		wantAttempt bool
	}{
		{name: "POST gets a generated key", method: "POST", wantKey: "uuid", wantAttempt: true},
		{name: "PATCH gets a generated key", method: "PATCH", wantKey: "uuid", wantAttempt: true},
		{name: "GET gets no key", method: "GET", wantAttempt: true},
		{name: "PUT gets no key", method: "PUT", wantAttempt: true},
		{name: "caller key kept", method: "POST", header: []string{"Idempotency-Key", "order-42"}, wantKey: "order-42", wantAttempt: true},
		{name: "caller key on GET kept", method: "GET", header: []string{"Idempotency-Key", "g-1"}, wantKey: "g-1", wantAttempt: true},
		{name: "X-Idempotency-Key counts as a key", method: "POST", header: []string{"X-Idempotency-Key", "alt-7"}, wantAltKey: "alt-7", wantAttempt: true},
		{name: "generation off", method: "POST", policy: httpx.RetryPolicy{KeyMethods: []string{}}, wantAttempt: true},
		{name: "attempt header off", method: "POST", policy: httpx.RetryPolicy{AttemptHeader: "-"}, wantKey: "uuid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServer(t, step{status: 503}, step{status: 502}, step{status: 200})
			tt.policy.Budget.Ratio = -1
			rt, _ := newFakeTransport(srv.Client().Transport, tt.policy)
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader("x"))
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			before := req.Header.Clone()
			resp, err := rt.RoundTrip(req)
			if err != nil {
				t.Fatalf("RoundTrip() error = %v", err)
			}
			resp.Body.Close()
			got := srv.Seen()
			if len(got) != 3 {
				t.Fatalf("server saw %d attempts, want 3", len(got))
			}
			for i, s := range got {
				switch {
				case tt.wantKey == "uuid" && !uuidV4.MatchString(s.key):
					t.Errorf("attempt %d key = %q, want a UUIDv4", i+1, s.key)
				case tt.wantKey != "uuid" && s.key != tt.wantKey:
					t.Errorf("attempt %d key = %q, want %q", i+1, s.key, tt.wantKey)
				}
				if s.key != got[0].key {
					t.Errorf("attempt %d key = %q, want the first attempt's %q", i+1, s.key, got[0].key)
				}
				if s.altKey != tt.wantAltKey {
					t.Errorf("attempt %d X-Idempotency-Key = %q, want %q", i+1, s.altKey, tt.wantAltKey)
				}
				wantAttempt := ""
				if tt.wantAttempt {
					wantAttempt = strconv.Itoa(i + 1)
				}
				if s.attempt != wantAttempt {
					t.Errorf("attempt %d Idempotency-Attempt = %q, want %q", i+1, s.attempt, wantAttempt)
				}
			}
			if !sameHeader(req.Header, before) {
				t.Errorf("caller's header changed to %v, want %v", req.Header, before)
			}
		})
	}
}

func TestRetryNewKeyPerLogicalRequest(t *testing.T) {
	srv := newScriptServer(t, step{status: 201})
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{})
	client := &http.Client{Transport: rt}
	for range 2 {
		resp, err := client.Post(srv.URL, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatalf("Post() error = %v", err)
		}
		resp.Body.Close()
	}
	got := srv.Seen()
	if got[0].key == got[1].key {
		t.Errorf("two Post calls sent the same key %q, want one key per logical request", got[0].key)
	}
}

func TestRetryCustomKeyHeader(t *testing.T) {
	var gotKeys []string
	srv := newScriptServer(t, step{status: 200})
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKeys = append(gotKeys, r.Header.Get("Request-Key"), r.Header.Get("Idempotency-Key"))
	})
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{KeyHeader: "request-key"})
	req, _ := http.NewRequest("POST", srv.URL, nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatalf("RoundTrip() error = %v", err)
	}
	resp.Body.Close()
	if !uuidV4.MatchString(gotKeys[0]) || gotKeys[1] != "" {
		t.Errorf("Request-Key, Idempotency-Key = %q, want a UUIDv4 and nothing", gotKeys)
	}
}

func sameHeader(a, b http.Header) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if strings.Join(v, "\x00") != strings.Join(b[k], "\x00") {
			return false
		}
	}
	return true
}
