package idemgin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// callLog is a bare http.ResponseWriter that logs the calls reaching it.
type callLog struct {
	h     http.Header
	calls []string
}

func (w *callLog) Header() http.Header {
	if w.h == nil {
		w.h = make(http.Header)
	}
	return w.h
}
func (w *callLog) WriteHeader(code int) { w.calls = append(w.calls, fmt.Sprint("WriteHeader ", code)) }
func (w *callLog) Write(p []byte) (int, error) {
	w.calls = append(w.calls, "Write "+string(p))
	return len(p), nil
}

// flushLog can flush and push too.
type flushLog struct{ callLog }

func (w *flushLog) Flush()                               { w.calls = append(w.calls, "Flush") }
func (w *flushLog) Push(string, *http.PushOptions) error { return nil }
func (w *flushLog) CloseNotify() <-chan bool             { return closed }

var closed = make(chan bool)

// Each method keeps gin's semantics over the writer below.
func TestResponseWriterSequences(t *testing.T) {
	type step func(rw *responseWriter)
	tests := []struct {
		name       string
		holdErrors bool
		steps      []step
		calls      []string // what reached the writer below
		status     int
		size       int
		sent       bool
	}{
		{name: "nothing", status: 200, size: -1},
		{name: "WriteHeader only records", steps: []step{func(rw *responseWriter) { rw.WriteHeader(201) }},
			status: 201, size: -1},
		{name: "WriteHeaderNow writes", steps: []step{func(rw *responseWriter) { rw.WriteHeader(204); rw.WriteHeaderNow() }},
			calls: []string{"WriteHeader 204"}, status: 204, size: 0, sent: true},
		{name: "a status after the header is ignored", steps: []step{
			func(rw *responseWriter) { rw.WriteHeaderNow(); rw.WriteHeader(500) }},
			calls: []string{"WriteHeader 200"}, status: 200, size: 0, sent: true},
		{name: "Write writes the header first", steps: []step{func(rw *responseWriter) { rw.WriteHeader(201); rw.Write([]byte("ab")) }},
			calls: []string{"WriteHeader 201", "Write ab"}, status: 201, size: 2, sent: true},
		{name: "WriteString", steps: []step{func(rw *responseWriter) { rw.WriteString("abc") }},
			calls: []string{"WriteHeader 200", "Write abc"}, status: 200, size: 3, sent: true},
		{name: "1xx goes out at once", steps: []step{func(rw *responseWriter) { rw.WriteHeader(103); rw.WriteHeader(201) }},
			calls: []string{"WriteHeader 103"}, status: 201, size: -1},
		{name: "error header held", holdErrors: true, steps: []step{func(rw *responseWriter) { rw.WriteHeader(401); rw.WriteHeaderNow() }},
			status: 401, size: 0},
		{name: "held header sent with a body", holdErrors: true, steps: []step{
			func(rw *responseWriter) { rw.WriteHeader(401); rw.WriteHeaderNow(); rw.WriteString("no") }},
			calls: []string{"WriteHeader 401", "Write no"}, status: 401, size: 2, sent: true},
		{name: "success header not held", holdErrors: true, steps: []step{func(rw *responseWriter) { rw.WriteHeader(204); rw.WriteHeaderNow() }},
			calls: []string{"WriteHeader 204"}, status: 204, size: 0, sent: true},
		{name: "Flush without a flusher below", steps: []step{func(rw *responseWriter) { rw.Flush() }},
			calls: []string{"WriteHeader 200"}, status: 200, size: 0, sent: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := new(callLog)
			rw := newResponseWriter(w, context.Background(), http.StatusOK, tt.holdErrors)
			for _, s := range tt.steps {
				s(rw)
			}
			if !slices.Equal(w.calls, tt.calls) {
				t.Errorf("calls below = %q, want %q", w.calls, tt.calls)
			}
			if rw.Status() != tt.status || rw.Size() != tt.size || rw.Written() != (tt.size != -1) || rw.sent() != tt.sent {
				t.Errorf("Status, Size, Written, sent = %d %d %v %v, want %d %d %v %v", rw.Status(), rw.Size(), rw.Written(), rw.sent(),
					tt.status, tt.size, tt.size != -1, tt.sent)
			}
		})
	}
}

func TestResponseWriterOptionalFeatures(t *testing.T) {
	t.Run("Flush reaches a flusher", func(t *testing.T) {
		w := new(flushLog)
		rw := newResponseWriter(w, context.Background(), http.StatusOK, true)
		rw.WriteHeader(http.StatusUnauthorized)
		rw.WriteHeaderNow() // held
		rw.Flush()          // sends it: the body follows
		if want := []string{"WriteHeader 401", "Flush"}; !slices.Equal(w.calls, want) {
			t.Errorf("calls below = %q, want %q", w.calls, want)
		}
	})
	t.Run("Hijack unsupported", func(t *testing.T) {
		rw := newResponseWriter(new(callLog), context.Background(), http.StatusOK, false)
		if _, _, err := rw.Hijack(); !errors.Is(err, http.ErrNotSupported) {
			t.Errorf("Hijack() error = %v, want http.ErrNotSupported", err)
		}
		if rw.Written() {
			t.Error("a failed Hijack marked the response written")
		}
	})
	t.Run("Hijack after the body", func(t *testing.T) {
		rw := newResponseWriter(new(callLog), context.Background(), http.StatusOK, false)
		rw.WriteString("x")
		if _, _, err := rw.Hijack(); !errors.Is(err, errHijackAfterBody) {
			t.Errorf("Hijack() error = %v, want errHijackAfterBody", err)
		}
	})
	t.Run("Pusher and CloseNotify of the writer below", func(t *testing.T) {
		rw := newResponseWriter(new(flushLog), context.Background(), http.StatusOK, false)
		if rw.Pusher() == nil {
			t.Error("Pusher() = nil over a writer that pushes")
		}
		if rw.CloseNotify() != closed {
			t.Error("CloseNotify() is not the writer's own")
		}
	})
	t.Run("no Pusher, CloseNotify from the context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		rw := newResponseWriter(new(callLog), ctx, http.StatusOK, false)
		if rw.Pusher() != nil {
			t.Error("Pusher() != nil over a writer that cannot push")
		}
		ch := rw.CloseNotify()
		cancel()
		select {
		case v := <-ch:
			if !v {
				t.Error("CloseNotify delivered false")
			}
		case <-time.After(time.Minute):
			t.Error("CloseNotify did not fire when the request's context ended")
		}
	})
}
