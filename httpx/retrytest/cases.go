package retrytest

import (
	"net/http"
	"strconv"

	"github.com/idemkit/idemkit/httpx"
)

// DefaultCases returns the default decision matrix ([httpx.DefaultDecisionMatrix]
// with the default key rule) as cases; each call returns a fresh slice.
func DefaultCases() []Case {
	key := func() http.Header { return http.Header{"Idempotency-Key": {"caller-key-1"}} }
	retryAfter := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	const processing = `{"status":"processing"}`
	const inProgress = `{"error":"REQUEST_IN_PROGRESS","message":"A request with this key is being processed."}`
	cases := []Case{
		{Name: "GET 200 done", Status: 200, Want: httpx.Stop},
		{Name: "POST 201 done", Method: "POST", Status: 201, Want: httpx.Stop},
		{Name: "GET 204 done", Status: 204, Want: httpx.Stop},
		{Name: "GET 304 done", Status: 304, Want: httpx.Stop},
		{Name: "POST 202 processing body polled", Method: "POST", Status: 202, Body: processing, Want: httpx.Poll},
		{Name: "POST 202 Retry-After polled", Method: "POST", Status: 202, ResponseHeader: retryAfter("1"), Want: httpx.Poll},
		{Name: "POST 202 final answer", Method: "POST", Status: 202, Body: `{"job":"42"}`, Want: httpx.Stop},
		{Name: "GET 202 processing without key final", Status: 202, Body: processing, ResponseHeader: retryAfter("1"), Want: httpx.Stop},
		{Name: "GET 202 processing with caller key polled", Header: key(), Status: 202, Body: processing, Want: httpx.Poll},
		{Name: "POST 409 REQUEST_IN_PROGRESS polled", Method: "POST", Status: 409, Body: inProgress, Want: httpx.Poll},
		{Name: "POST 409 other conflict final", Method: "POST", Status: 409, Body: `{"error":"DUPLICATE_EMAIL"}`, Want: httpx.Stop},
		{Name: "POST 409 non-JSON final", Method: "POST", Status: 409, Body: "conflict", Want: httpx.Stop},
		{Name: "GET 501 final", Status: 501, Want: httpx.Stop},
		{Name: "GET 505 final", Status: 505, Want: httpx.Stop},
		{Name: "GET 418 final", Status: 418, Want: httpx.Stop},
	}
	for _, s := range []int{400, 401, 403, 404, 410, 422} {
		cases = append(cases,
			Case{Name: "GET " + strconv.Itoa(s) + " never retried", Status: s, Want: httpx.Stop},
			Case{Name: "POST " + strconv.Itoa(s) + " never retried", Method: "POST", Status: s, Want: httpx.Stop})
	}
	for _, s := range []int{408, 425, 429, 500, 502, 503, 504} {
		cases = append(cases,
			Case{Name: "GET " + strconv.Itoa(s) + " retried", Status: s, Want: httpx.Retry},
			Case{Name: "POST " + strconv.Itoa(s) + " retried", Method: "POST", Status: s, Want: httpx.Retry})
	}
	errs := []struct {
		name string
		err  func() error
	}{{"refused", ConnRefused}, {"reset", ConnReset}, {"timeout", Timeout}}
	for _, e := range errs {
		for _, m := range []string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "POST", "PATCH"} {
			// POST and PATCH get a generated key, so they are resendable too.
			cases = append(cases, Case{Name: m + " " + e.name + " retried", Method: m, Err: e.err(), Want: httpx.Retry})
		}
		cases = append(cases, Case{Name: "LOCK " + e.name + " without key not retried", Method: "LOCK", Err: e.err(), Want: httpx.Stop})
		cases = append(cases, Case{Name: "LOCK " + e.name + " with caller key retried", Method: "LOCK", Header: key(), Err: e.err(), Want: httpx.Retry})
	}
	return cases
}
