package middleware_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
	srv := httptest.NewServer(http.TimeoutHandler(mw(handler), 20*time.Millisecond, "timeout"))
	defer srv.Close()

	post := func() (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(`{"zone":"a"}`))
		req.Header.Set("Idempotency-Key", "k-timeout")
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post(); code != http.StatusServiceUnavailable {
		t.Fatalf("first request = %d, want TimeoutHandler's 503", code)
	}
	if code, _ := post(); code != http.StatusAccepted {
		t.Fatalf("retry while the handler runs = %d, want 202 (processing)", code)
	}
	close(release)
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := post()
		if code == http.StatusCreated && body == `{"booking_id":"bk_1"}` {
			break
		}
		if code != http.StatusAccepted || time.Now().After(deadline) {
			t.Fatalf("retry after the handler finished = %d %q, want the stored 201", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
}
