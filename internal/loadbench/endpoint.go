package loadbench

import (
	"io"
	"net/http"
	"sync/atomic"
)

// RequestBody is the JSON body the load sends: about 100 bytes, like a
// small order or booking request.
const RequestBody = `{"customer_id":"cus_4f9a2c71","zone_id":"zone-a","quantity":2,"note":"load benchmark order body"}`

// ResponseBody is the JSON body the endpoint answers with: about 100 bytes.
const ResponseBody = `{"order_id":"ord_7c1e93b04d2a","status":"RESERVED","quantity":2,"total_cents":4200,"currency":"EUR"}`

// Path is the path of the endpoint in every configuration.
const Path = "/v1/orders"

var responseBody = []byte(ResponseBody)

// Endpoint is the JSON write endpoint under test. It reads the request body
// and answers 201 Created with [ResponseBody], and counts its executions, so
// that a test can tell how often a key ran the handler. The zero value is
// ready to use.
type Endpoint struct {
	runs atomic.Int64
}

// ServeHTTP reads the body and answers 201 with a JSON body.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.runs.Add(1)
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		http.Error(w, "reading the body failed", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	w.Write(responseBody)
}

// Runs returns how many times the endpoint ran.
func (e *Endpoint) Runs() int64 { return e.runs.Load() }
