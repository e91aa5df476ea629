package retrytest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/httpx/retrytest"
)

func TestDefaultCasesMatchDefaultPolicy(t *testing.T) {
	retrytest.Run(t, httpx.DefaultRetryPolicy(), retrytest.DefaultCases())
	retrytest.Run(t, httpx.RetryPolicy{}, retrytest.DefaultCases())
}

func TestKeyGenerationOff(t *testing.T) {
	p := httpx.RetryPolicy{KeyMethods: []string{}}
	retrytest.Run(t, p, []retrytest.Case{
		{Name: "POST refused without key not retried", Method: "POST", Err: retrytest.ConnRefused(), Want: httpx.Stop},
		{Name: "PATCH reset without key not retried", Method: "PATCH", Err: retrytest.ConnReset(), Want: httpx.Stop},
		{Name: "POST refused with caller key retried", Method: "POST", Header: http.Header{"Idempotency-Key": {"k"}}, Err: retrytest.ConnRefused(), Want: httpx.Retry},
		{Name: "POST with X-Idempotency-Key retried", Method: "POST", Header: http.Header{"X-Idempotency-Key": {"k"}}, Err: retrytest.Timeout(), Want: httpx.Retry},
		{Name: "POST 503 still retried", Method: "POST", Status: 503, Want: httpx.Retry},
		{Name: "POST 202 processing without key final", Method: "POST", Status: 202, Body: `{"status":"processing"}`, Want: httpx.Stop},
	})
}

func TestDecideSeesEditedMatrix(t *testing.T) {
	m := httpx.DefaultDecisionMatrix()
	m.Status[501] = httpx.Retry
	delete(m.Status, 503)
	p := httpx.RetryPolicy{Classify: m.Classify}
	tests := []struct {
		status int
		want   httpx.Decision
	}{{501, httpx.Retry}, {503, httpx.Stop}, {502, httpx.Retry}}
	for _, tt := range tests {
		if got := retrytest.Decide(p, retrytest.Case{Status: tt.status}); got != tt.want {
			t.Errorf("Decide(GET %d) = %v, want %v", tt.status, got, tt.want)
		}
	}
	if got := retrytest.Decide(httpx.DefaultRetryPolicy(), retrytest.Case{Status: 503}); got != httpx.Retry {
		t.Errorf("Decide(default, GET 503) = %v after editing a copy, want Retry (the default is unchanged)", got)
	}
}

// Pin a service's retry policy in a table: rows that differ from the
// default decision matrix fail with the decision the policy made.
func ExampleRun() {
	p := httpx.DefaultRetryPolicy()
	p.Classify = func(o *httpx.Outcome) httpx.Decision {
		if o.Response != nil && o.Response.StatusCode == http.StatusTooManyRequests {
			return httpx.Stop // surface rate limits to the user at once
		}
		return httpx.DefaultClassifier(o)
	}
	// In a test, retrytest.Run(t, p, cases) reports the same rows as failures.
	for _, c := range retrytest.DefaultCases() {
		if got := retrytest.Decide(p, c); got != c.Want {
			fmt.Printf("%s: %v, default %v\n", c.Name, got, c.Want)
		}
	}
	// Output:
	// GET 429 retried: Stop, default Retry
	// POST 429 retried: Stop, default Retry
}
