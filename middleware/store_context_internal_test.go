package middleware

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStoreContext(t *testing.T) {
	const timeout = 64 * time.Millisecond // step: 1ms
	m := &idempotency{deadlines: newStoreDeadlines(timeout)}
	type key struct{}
	reqCtx, cancelReq := context.WithCancelCause(context.WithValue(context.Background(), key{}, "v"))
	r := httptest.NewRequest("POST", "/", nil).WithContext(reqCtx)

	start := time.Now()
	ctx := m.detached(r)
	end := time.Now()
	dl, ok := ctx.Deadline()
	if !ok || dl.After(end.Add(timeout)) || dl.Before(start.Add(timeout-m.deadlines.step)) {
		t.Errorf("deadline %v after the call, want within (%v - step, %v]", dl.Sub(start), timeout, timeout)
	}
	if got := ctx.Value(key{}); got != "v" {
		t.Errorf("Value = %v, want the request's value", got)
	}

	cancelReq(errors.New("client left"))
	// Only the deadline may end it (it may have passed already on a busy
	// machine; the cause, checked below, tells the two apart).
	if err := ctx.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err = %v after the client left; a store call must not be cut off half-way", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the deadline")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) || !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		t.Errorf("Err = %v, Cause = %v; want DeadlineExceeded for both, not the request's cause", ctx.Err(), context.Cause(ctx))
	}
	later := time.Now()
	if dl, _ := m.detached(r).Deadline(); dl.Before(later.Add(timeout - m.deadlines.step)) {
		t.Errorf("a call after the window passed got a deadline %v after it, want a new one about %v after", dl.Sub(later), timeout)
	}
}

func TestStoreDeadlineWindows(t *testing.T) {
	d := newStoreDeadlines(time.Second) // step: 15.625ms
	t0 := time.Now()
	w := d.window(t0)
	if d.window(t0.Add(d.step-time.Microsecond)) != w {
		t.Error("a call within the step opened a new window")
	}
	w2 := d.window(t0.Add(d.step))
	if w2 == w {
		t.Fatal("a call one step later shared the old window")
	}
	if dl, _ := w2.ctx.Deadline(); !dl.Equal(t0.Add(d.step + time.Second)) {
		t.Errorf("new window's deadline = %v after t0, want step + timeout", dl.Sub(t0))
	}
	if newStoreDeadlines(10*time.Millisecond).step != time.Millisecond {
		t.Error("step below a millisecond")
	}
}
