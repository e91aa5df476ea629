package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/idemkit/idemkit/middleware"
)

// http.TimeoutHandler in front of Idempotency (the placement
// docs/idempotency.md prescribes): the client that timed out gets 503, a
// retry while the handler still runs gets "processing", and once the
// handler finishes its answer is stored and replayed. The handler runs
// once. (Placed between the middleware and the handler instead, the 503
// releases the key while the handler runs on, and the retry runs it again.)
func TestTimeoutHandlerInFront(t *testing.T) {
	var runs atomic.Int64
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		<-release
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"booking_id":"bk_1"}`)
	})
	mw := middleware.Idempotency(middleware.DefaultIdempotencyConfig(middleware.NewMemoryStore()))
	// The first request waits this out (its handler blocks); every other
	// answer must come well within it, however slow the machine.
	srv := httptest.NewServer(http.TimeoutHandler(mw(handler), time.Second, "timeout"))
	defer srv.Close()
	key, body := newKey(), `{"zone":"a"}`

	if res := send(t, srv.Client(), http.MethodPost, srv.URL, key, body); res.status != http.StatusServiceUnavailable {
		t.Fatalf("first request = %d, want TimeoutHandler's 503", res.status)
	}
	if res := send(t, srv.Client(), http.MethodPost, srv.URL, key, body); res.status != http.StatusAccepted {
		t.Fatalf("retry while the handler runs = %d, want 202 (processing)", res.status)
	}
	close(release)
	eventually(t, patience, "the stored 201 replayed", func() bool {
		res := send(t, srv.Client(), http.MethodPost, srv.URL, key, body)
		if res.status != http.StatusAccepted && (res.status != http.StatusCreated || res.body != `{"booking_id":"bk_1"}`) {
			t.Fatalf("retry after the handler finished = %d %q, want 202 until the stored 201", res.status, res.body)
		}
		return res.status == http.StatusCreated
	})
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}
