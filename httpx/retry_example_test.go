package httpx_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	"github.com/idemkit/idemkit/httpx"
)

// A client whose POSTs are safe to retry: the transport adds one
// Idempotency-Key per request, sends it on every attempt, and retries the
// 503 with backoff.
func ExampleNewRetryTransport() {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "booked (attempt %s)", r.Header.Get("Idempotency-Attempt"))
	}))
	defer srv.Close()

	p := httpx.DefaultRetryPolicy()
	p.BaseDelay, p.MaxDelay = 10*time.Millisecond, 100*time.Millisecond // short waits for the example
	p.OnRetry = func(e httpx.RetryEvent) {
		fmt.Printf("attempt %d: %s, retrying\n", e.Attempt, e.Reason)
	}
	client := &http.Client{Transport: httpx.NewRetryTransport(http.DefaultTransport, p)}

	resp, err := client.Post(srv.URL+"/bookings", "application/json", strings.NewReader(`{"seat":"12A"}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// attempt 1: 503 Service Unavailable, retrying
	// 200 booked (attempt 2)
}

// Wrapping the default classifier changes one row of the decision matrix
// and keeps the others.
func ExampleDefaultClassifier() {
	p := httpx.DefaultRetryPolicy()
	p.Classify = func(o *httpx.Outcome) httpx.Decision {
		if o.Response != nil && o.Response.StatusCode == http.StatusNotImplemented {
			return httpx.Retry // this upstream answers 501 while it deploys
		}
		return httpx.DefaultClassifier(o)
	}
	get, _ := http.NewRequest("GET", "http://api.example/", nil)
	for _, status := range []int{501, 503, 404} {
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody}
		fmt.Println(status, p.Decide(get, resp, nil))
	}
	// Output:
	// 501 Retry
	// 503 Retry
	// 404 Stop
}

// A decision matrix is data: copy the default, edit it, install it.
func ExampleDecisionMatrix() {
	m := httpx.DefaultDecisionMatrix()
	m.Status[http.StatusTooManyRequests] = httpx.Stop // a caller that surfaces rate limits at once
	p := httpx.RetryPolicy{Classify: m.Classify}

	post, _ := http.NewRequest("POST", "http://api.example/orders", nil)
	for _, status := range []int{429, 503} {
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: http.NoBody}
		fmt.Println(status, p.Decide(post, resp, nil))
	}
	// Output:
	// 429 Stop
	// 503 Retry
}

func ExampleParseRetryAfter() {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"120", "Sat, 01 Mar 2025 12:00:30 GMT", "Sat, 01 Mar 2025 11:00:00 GMT", "soon"} {
		d, ok := httpx.ParseRetryAfter(v, now)
		fmt.Println(d, ok)
	}
	// Output:
	// 2m0s true
	// 30s true
	// 0s true
	// 0s false
}
