package httpx_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

const (
	processingBody = `{"status":"processing"}`
	inProgressBody = `{"error":"REQUEST_IN_PROGRESS","message":"A request with this key is being processed."}`
)

// TestRetryDecisionMatrix runs the default decision matrix against a real
// server: what comes back and how many attempts the server saw.
func TestRetryDecisionMatrix(t *testing.T) {
	ok := step{status: http.StatusOK, body: "done"}
	noGen := httpx.RetryPolicy{KeyMethods: []string{}}
	tests := []struct {
		name         string
		method       string
		policy       *httpx.RetryPolicy
		steps        []step
		wantStatus   int // 0: want an error
		wantAttempts int
		wantErrIs    error
	}{
		{name: "200 done", method: "GET", steps: []step{ok}, wantStatus: 200, wantAttempts: 1},
		{name: "201 POST done", method: "POST", steps: []step{{status: 201}}, wantStatus: 201, wantAttempts: 1},
		{name: "503 503 200", method: "GET", steps: []step{{status: 503}, {status: 503}, ok}, wantStatus: 200, wantAttempts: 3},
		{name: "400 not retried", method: "POST", steps: []step{{status: 400}, ok}, wantStatus: 400, wantAttempts: 1},
		{name: "401 not retried", method: "GET", steps: []step{{status: 401}, ok}, wantStatus: 401, wantAttempts: 1},
		{name: "403 not retried", method: "GET", steps: []step{{status: 403}, ok}, wantStatus: 403, wantAttempts: 1},
		{name: "404 not retried", method: "GET", steps: []step{{status: 404}, ok}, wantStatus: 404, wantAttempts: 1},
		{name: "410 not retried", method: "DELETE", steps: []step{{status: 410}, ok}, wantStatus: 410, wantAttempts: 1},
		{name: "422 not retried", method: "POST", steps: []step{{status: 422}, ok}, wantStatus: 422, wantAttempts: 1},
		{name: "501 not retried", method: "GET", steps: []step{{status: 501}, ok}, wantStatus: 501, wantAttempts: 1},
		{name: "408 retried", method: "GET", steps: []step{{status: 408}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "425 retried", method: "POST", steps: []step{{status: 425}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "429 retried", method: "POST", steps: []step{{status: 429}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "500 retried", method: "PUT", steps: []step{{status: 500}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "502 retried", method: "GET", steps: []step{{status: 502}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "503 retried", method: "PATCH", steps: []step{{status: 503}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "504 retried", method: "DELETE", steps: []step{{status: 504}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "5xx on POST without key still retried", method: "POST", policy: &noGen, steps: []step{{status: 503}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "409 in progress polled", method: "POST", steps: []step{{status: 409, body: inProgressBody}, {status: 201}}, wantStatus: 201, wantAttempts: 2},
		{name: "409 other code final", method: "POST", steps: []step{{status: 409, body: `{"error":"CONFLICT"}`}, ok}, wantStatus: 409, wantAttempts: 1},
		{name: "202 processing body polled", method: "POST", steps: []step{{status: 202, body: processingBody}, {status: 202, body: processingBody}, {status: 201}}, wantStatus: 201, wantAttempts: 3},
		{name: "202 Retry-After polled", method: "POST", steps: []step{{status: 202, header: []string{"Retry-After", "0"}}, {status: 201}}, wantStatus: 201, wantAttempts: 2},
		{name: "202 without marker final", method: "POST", steps: []step{{status: 202, body: `{"job":"7"}`}, ok}, wantStatus: 202, wantAttempts: 1},
		{name: "202 without key final", method: "GET", steps: []step{{status: 202, body: processingBody, header: []string{"Retry-After", "1"}}, ok}, wantStatus: 202, wantAttempts: 1},
		{name: "503 always gives up", method: "GET", steps: []step{{status: 503}}, wantAttempts: 4, wantErrIs: httpx.ErrAttemptsExhausted},
		{name: "transport error GET retried", method: "GET", steps: []step{{hangup: true}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "transport error POST with generated key retried", method: "POST", steps: []step{{hangup: true}, ok}, wantStatus: 200, wantAttempts: 2},
		{name: "transport error POST without key not retried", method: "POST", policy: &noGen, steps: []step{{hangup: true}, ok}, wantAttempts: 1},
		{name: "transport error custom method not retried", method: "LOCK", steps: []step{{hangup: true}, ok}, wantAttempts: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newScriptServer(t, tt.steps...)
			p := httpx.RetryPolicy{}
			if tt.policy != nil {
				p = *tt.policy
			}
			p.Budget.Ratio = -1
			rt, _ := newFakeTransport(srv.Client().Transport, p)
			req, _ := http.NewRequest(tt.method, srv.URL, strings.NewReader("payload"))
			resp, err := rt.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			switch {
			case tt.wantStatus != 0 && (err != nil || resp.StatusCode != tt.wantStatus):
				t.Fatalf("RoundTrip(%s) = %v, %v, want status %d", tt.method, resp, err, tt.wantStatus)
			case tt.wantStatus == 0 && err == nil:
				t.Fatalf("RoundTrip(%s) = status %d, want an error", tt.method, resp.StatusCode)
			case tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs):
				t.Errorf("RoundTrip(%s) error = %v, want errors.Is %v", tt.method, err, tt.wantErrIs)
			}
			if got := len(srv.Seen()); got != tt.wantAttempts {
				t.Errorf("server saw %d attempts, want %d", got, tt.wantAttempts)
			}
		})
	}
}

func TestRetryErrorWhenAttemptsRunOut(t *testing.T) {
	srv := newScriptServer(t, step{status: 503, body: `{"error":"SERVICE_UNAVAILABLE","message":"down"}`})
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{MaxAttempts: 3, Budget: httpx.RetryBudget{Ratio: -1}})
	client := &http.Client{Transport: rt}
	resp, err := client.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("Get() = %d, want a *RetryError", resp.StatusCode)
	}
	var re *httpx.RetryError
	if !errors.As(err, &re) {
		t.Fatalf("Get() error = %T %v, want *httpx.RetryError", err, err)
	}
	if re.Attempts != 3 || re.LastStatus != 503 || !strings.Contains(string(re.LastBody), "SERVICE_UNAVAILABLE") {
		t.Errorf("RetryError = {Attempts:%d LastStatus:%d LastBody:%q}, want {3 503 ...SERVICE_UNAVAILABLE...}", re.Attempts, re.LastStatus, re.LastBody)
	}
	if want := "gave up after 3 attempts (httpx: retry attempts exhausted): last status 503 Service Unavailable"; !strings.Contains(err.Error(), want) {
		t.Errorf("Get() error = %q, want it to contain %q", err, want)
	}
}

func TestRetryErrorWrapsTransportCause(t *testing.T) {
	srv := newScriptServer(t, step{hangup: true})
	rt, _ := newFakeTransport(srv.Client().Transport, httpx.RetryPolicy{MaxAttempts: 2, Budget: httpx.RetryBudget{Ratio: -1}})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *httpx.RetryError
	if !errors.As(err, &re) || re.Attempts != 2 || re.LastStatus != 0 || re.Err == nil {
		t.Fatalf("RoundTrip() = %v, want *RetryError{Attempts: 2, LastStatus: 0, Err: set}", err)
	}
	if !errors.Is(err, re.Err) || !errors.Is(err, httpx.ErrAttemptsExhausted) {
		t.Errorf("errors.Is(%v, cause/ErrAttemptsExhausted) = false, want true", err)
	}
}

func TestRetryCertificateErrorNotRetried(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	base := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()} // does not trust srv
	rt, _ := newFakeTransport(base, httpx.RetryPolicy{})
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := rt.RoundTrip(req)
	var re *httpx.RetryError
	if err == nil || errors.As(err, &re) || base.n.Load() != 1 {
		t.Errorf("RoundTrip(untrusted TLS) = %v after %d attempts, want the certificate error after 1", err, base.n.Load())
	}
}
