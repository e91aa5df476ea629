package httpx_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

// okBase answers 200 from memory, so the benchmarks measure the retry
// transport's own cost (clone, key, headers, body replay) per attempt.
var okBase = fakeBase(func(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return cannedResponse(r, http.StatusOK), nil
})

// BenchmarkRetryBaseline is the base transport alone.
func BenchmarkRetryBaseline(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "http://example.test/orders", strings.NewReader(`{"seat":"12A"}`))
		resp, _ := okBase.RoundTrip(req)
		resp.Body.Close()
	}
}

// BenchmarkRetryTransport is one successful POST through the retry
// transport (a generated key, GetBody replay set up).
func BenchmarkRetryTransport(b *testing.B) {
	rt := httpx.NewRetryTransport(okBase, httpx.RetryPolicy{})
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "http://example.test/orders", strings.NewReader(`{"seat":"12A"}`))
		resp, _ := rt.RoundTrip(req)
		resp.Body.Close()
	}
}

// BenchmarkRetryTransportBuffered is the same POST with a body that has no
// GetBody, so the transport buffers it.
func BenchmarkRetryTransportBuffered(b *testing.B) {
	rt := httpx.NewRetryTransport(okBase, httpx.RetryPolicy{})
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest("POST", "http://example.test/orders", hideGetBody(`{"seat":"12A"}`))
		resp, _ := rt.RoundTrip(req)
		resp.Body.Close()
	}
}
