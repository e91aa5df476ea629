package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/idemkit/idemkit/middleware"
)

// eventCounts counts the idempotency middleware's events by kind, for
// /metrics (wire a real metrics library the same way, from OnEvent).
type eventCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func newEventCounts() *eventCounts { return &eventCounts{n: make(map[string]int64)} }

// count is the middleware's OnEvent: fast, and keeps nothing of the request.
func (e *eventCounts) count(ev middleware.Event) {
	e.mu.Lock()
	e.n[ev.Kind.String()]++
	e.mu.Unlock()
}

// serve answers GET /metrics in the Prometheus text format.
func (e *eventCounts) serve(c *gin.Context) {
	e.mu.Lock()
	kinds := make([]string, 0, len(e.n))
	for k := range e.n {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	b := []byte("# TYPE idemkit_idempotency_events_total counter\n")
	for _, k := range kinds {
		b = fmt.Appendf(b, "idemkit_idempotency_events_total{kind=%q} %d\n", k, e.n[k])
	}
	e.mu.Unlock()
	c.Data(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", b)
}
