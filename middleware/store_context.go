package middleware

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

// storeDeadlines gives the store calls of every request a deadline without
// a timer of their own: calls starting within the same short window share
// one deadline, and one context that the runtime cancels when it passes.
// A call's deadline is therefore between StoreTimeout - step and
// StoreTimeout away (step is StoreTimeout/64, at least a millisecond),
// at the cost of one timer per window instead of a context, a timer and
// its cancellation per call.
type storeDeadlines struct {
	timeout time.Duration
	step    time.Duration
	cur     atomic.Pointer[deadlineWindow]
}

// deadlineWindow is the context shared by the store calls that start
// within step of opened.
type deadlineWindow struct {
	opened time.Time // with its monotonic reading
	ctx    context.Context
	cancel context.CancelFunc // never called: the deadline ends ctx
}

func newStoreDeadlines(timeout time.Duration) *storeDeadlines {
	return &storeDeadlines{timeout: timeout, step: max(timeout/64, time.Millisecond)}
}

// window returns the window open at now, opening a new one when the
// current one is older than step. Two callers may open one each at the
// same moment; both are valid and the later one stays current.
func (d *storeDeadlines) window(now time.Time) *deadlineWindow {
	if w := d.cur.Load(); w != nil && now.Sub(w.opened) < d.step {
		return w
	}
	w := &deadlineWindow{opened: now}
	w.ctx, w.cancel = context.WithDeadline(context.Background(), now.Add(d.timeout))
	d.cur.Store(w)
	return w
}

// storeContext is the context of one store call: the request's values,
// never its cancellation (a claim or final write cut off half-way because
// the client left would block the key), and the deadline of a shared
// window.
type storeContext struct {
	values context.Context // context.WithoutCancel(r.Context())
	win    *deadlineWindow
}

func (c *storeContext) Deadline() (time.Time, bool) { return c.win.ctx.Deadline() }
func (c *storeContext) Done() <-chan struct{}       { return c.win.ctx.Done() }
func (c *storeContext) Err() error                  { return c.win.ctx.Err() }
func (c *storeContext) Value(key any) any           { return c.values.Value(key) }

// detached returns the context for a store call made for r. A store in
// this process never blocks, so it gets no deadline at all.
func (m *idempotency) detached(r *http.Request) context.Context {
	if m.inProcess {
		return context.Background()
	}
	return &storeContext{values: context.WithoutCancel(r.Context()), win: m.deadlines.window(time.Now())}
}
