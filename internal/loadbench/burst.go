package loadbench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
)

// BurstResult is what a same-key burst produced.
type BurstResult struct {
	// Requests is the number of requests fired.
	Requests int
	// Runs is how many times the endpoint ran for them.
	Runs int64
	// Statuses counts the answers by status; replayed answers (with
	// Idempotent-Replayed: true) are counted under Replayed instead.
	Statuses map[int]int
	// Replayed counts answers with Idempotent-Replayed: true.
	Replayed int
	// Errors counts requests that got no answer.
	Errors int
}

// Summary returns the answers as text, e.g. "201×1, 202×12, replayed×187".
func (b BurstResult) Summary() string {
	var parts []string
	for _, code := range sortedKeys(b.Statuses) {
		parts = append(parts, fmt.Sprintf("%d×%d", code, b.Statuses[code]))
	}
	if b.Replayed > 0 {
		parts = append(parts, fmt.Sprintf("replayed×%d", b.Replayed))
	}
	if b.Errors > 0 {
		parts = append(parts, fmt.Sprintf("errors×%d", b.Errors))
	}
	return strings.Join(parts, ", ")
}

// Burst fires n concurrent POSTs of [RequestBody] with Idempotency-Key key
// at url and counts the answers and e's executions for them.
//
// To make the requests arrive together, it first opens n connections (with
// n concurrent GETs, which the idempotency middlewares ignore and which are
// not counted), then releases all POSTs at once, one per connection.
func Burst(ctx context.Context, url, key string, n int, e *Endpoint) (BurstResult, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxIdleConns: n, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}

	// Open n connections and leave them idle in the pool.
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err == nil {
				err = roundTrip(client, req, nil)
			}
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			return BurstResult{}, fmt.Errorf("loadbench: burst: opening connections: %w", err)
		}
	}

	res := BurstResult{Requests: n, Statuses: map[int]int{}}
	before := e.Runs()
	var mu sync.Mutex
	start := make(chan struct{})
	for range n {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(RequestBody))
		if err != nil {
			return BurstResult{}, fmt.Errorf("loadbench: burst: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		wg.Go(func() {
			<-start
			var resp *http.Response
			err := roundTrip(client, req, &resp)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				res.Errors++
			case resp.Header.Get("Idempotent-Replayed") == "true":
				res.Replayed++
			default:
				res.Statuses[resp.StatusCode]++
			}
		})
	}
	close(start)
	wg.Wait()
	res.Runs = e.Runs() - before
	return res, nil
}

// roundTrip sends req, reads the whole answer so the connection is reused,
// and stores the response (its body consumed) in *out when out is not nil.
func roundTrip(client *http.Client, req *http.Request, out **http.Response) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if out != nil {
		*out = resp
	}
	return err
}
