package httpx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// maxRetryDrain is how much of a discarded response body is read so that its
// connection can be reused; a longer body's connection is closed instead.
const maxRetryDrain = 64 << 10

// NewRetryTransport returns a RoundTripper that sends each request through
// base (nil means http.DefaultTransport) and retries it as p says: a stable
// idempotency key on every attempt, exponential backoff with full jitter,
// Retry-After honoured and capped, polling while the server reports the
// request as processing, a per-host retry budget, exact body replay, and a
// [*RetryError] when it gives up. Context cancellation and deadlines cut every
// wait short and are returned as the context's error. When the next wait
// would end after the context's deadline, the transport gives up at once
// with a *RetryError that matches both [ErrRetryAfterDeadline] and
// context.DeadlineExceeded.
//
// The transport never modifies the caller's request; every attempt is a
// clone. Its CloseIdleConnections method calls base's, so
// http.Client.CloseIdleConnections works through it. It panics when p holds a
// negative MaxAttempts, BaseDelay, MaxDelay or AttemptTimeout, or a BaseDelay
// larger than MaxDelay.
func NewRetryTransport(base http.RoundTripper, p RetryPolicy) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	p = p.withDefaults()
	return &retryTransport{
		base:   base,
		p:      p,
		budget: newBudgets(p.Budget),
		now:    time.Now,
		sleep:  sleepContext,
		jitter: fullJitter,
	}
}

type retryTransport struct {
	base   http.RoundTripper
	p      RetryPolicy
	budget *retryBudgets

	// Time and randomness, replaced by tests.
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func(ceiling time.Duration) time.Duration
}

// CloseIdleConnections closes the idle connections of the base transport.
func (t *retryTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *retryTransport) logger() *slog.Logger {
	if t.p.Logger != nil {
		return t.p.Logger
	}
	return slog.Default()
}

// RoundTrip implements http.RoundTripper.
func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	body, err := newReplayBody(req, t.p.MaxBufferedBody)
	if err != nil {
		return nil, err
	}
	key := t.p.keyFor(req.Header, req.Method)
	host := req.URL.Host
	t.budget.deposit(host, t.now())

	retries, polls := 0, 0
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			body.closeUnused()
			return nil, err
		}
		r, err := t.attemptRequest(req, body, key, attempt)
		if err != nil {
			return nil, &RetryError{Attempts: attempt - 1, Reason: err}
		}
		resp, err := t.send(r)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		o := &Outcome{Request: r, Attempt: attempt, KeySent: key != "", Response: resp, Err: err}
		d := t.p.Classify(o)
		if d != Retry && d != Poll {
			return o.Response, o.Err
		}

		var n int // the retry or poll about to happen
		var stop error
		switch {
		case !body.replayable:
			stop = body.notReplayable()
		case d == Retry && retries+1 >= t.p.MaxAttempts:
			stop = ErrAttemptsExhausted
		case d == Poll && polls >= t.p.MaxPolls:
			stop = fmt.Errorf("%w: %d polls", ErrAttemptsExhausted, polls)
		case d == Retry:
			n = retries + 1
		default:
			n = polls + 1
		}
		var delay time.Duration
		if stop == nil {
			now := t.now()
			var fromHeader bool
			delay, fromHeader = t.waitFor(n, resp, now)
			if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
				what := "backoff"
				if fromHeader {
					what = "Retry-After"
				}
				stop = &deadlineReason{what: what, wait: delay, left: dl.Sub(now).Round(time.Millisecond)}
			} else if d == Retry && !t.budget.withdraw(host, now) {
				stop = fmt.Errorf("%w for host %s", ErrRetryBudgetExhausted, host)
			}
		}
		if stop != nil {
			e := &RetryError{Attempts: attempt, Reason: stop, Err: err}
			if resp != nil {
				e.LastStatus = resp.StatusCode
				e.LastBody = discardResponse(o, true)
			}
			t.logger().LogAttrs(ctx, slog.LevelDebug, "httpx: giving up",
				slog.String("method", r.Method), slog.String("host", host),
				slog.Int("attempts", attempt), slog.String("error", e.Error()))
			return nil, e
		}
		discardResponse(o, false)

		if d == Retry {
			retries++
		} else {
			polls++
		}
		reason := outcomeReason(o)
		t.logger().LogAttrs(ctx, slog.LevelDebug, "httpx: retrying",
			slog.String("method", r.Method), slog.String("host", host),
			slog.Int("attempt", attempt), slog.String("decision", d.String()),
			slog.Duration("delay", delay), slog.String("reason", reason))
		if t.p.OnRetry != nil {
			ev := RetryEvent{Request: r, Attempt: attempt, Decision: d, Delay: delay, Reason: reason, Err: err}
			if resp != nil {
				ev.StatusCode = resp.StatusCode
			}
			t.p.OnRetry(ev)
		}
		if err := t.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// attemptRequest clones req for one attempt with its key, attempt number
// and body.
func (t *retryTransport) attemptRequest(req *http.Request, body *replayBody, key string, attempt int) (*http.Request, error) {
	b, err := body.next()
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Body = b
	r.ContentLength = body.length
	r.GetBody = nil
	if body.replayable {
		r.GetBody = body.getBody
	}
	if key != "" && r.Header.Get(t.p.KeyHeader) == "" && r.Header.Get(alternateKeyHeader) == "" {
		r.Header.Set(t.p.KeyHeader, key)
	}
	if t.p.AttemptHeader != "" {
		r.Header.Set(t.p.AttemptHeader, strconv.Itoa(attempt))
	}
	return r, nil
}

// send runs one attempt, bounded by AttemptTimeout until its response
// headers arrive.
func (t *retryTransport) send(r *http.Request) (*http.Response, error) {
	if t.p.AttemptTimeout <= 0 {
		return t.base.RoundTrip(r)
	}
	ctx, cancel := context.WithCancel(r.Context())
	timer := time.AfterFunc(t.p.AttemptTimeout, cancel)
	resp, err := t.base.RoundTrip(r.WithContext(ctx))
	fired := !timer.Stop()
	if fired && r.Context().Err() == nil {
		// Timed out, or headers arrived just as the timer fired: either way
		// the attempt's context is cancelled and its body unreadable.
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, fmt.Errorf("%w after %v", ErrAttemptTimeout, t.p.AttemptTimeout)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose(resp.Body, cancel)
	return resp, nil
}

// discardResponse drains (up to maxRetryDrain) and closes a response that is not handed
// to the caller, so its connection is reused. With keep it returns the first
// bytes of the body, for RetryError.LastBody.
func discardResponse(o *Outcome, keep bool) []byte {
	if o.Response == nil || o.Response.Body == nil {
		return nil
	}
	var kept []byte
	if keep {
		kept = o.Body()
	}
	io.CopyN(io.Discard, o.Response.Body, maxRetryDrain)
	o.Response.Body.Close()
	return kept
}

// outcomeReason describes an outcome for logs and RetryEvent.Reason.
func outcomeReason(o *Outcome) string {
	if o.Response == nil {
		if o.Err == nil {
			return "no response"
		}
		return o.Err.Error()
	}
	if o.Response.Status != "" {
		return o.Response.Status
	}
	return strconv.Itoa(o.Response.StatusCode) + " " + http.StatusText(o.Response.StatusCode)
}

// sleepContext waits d or until ctx is done, whichever comes first.
func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// cancelOnClose calls cancel when body is closed, keeping body's Write
// method (101 Switching Protocols bodies are io.ReadWriteCloser).
func cancelOnClose(body io.ReadCloser, cancel context.CancelFunc) io.ReadCloser {
	if rw, ok := body.(io.ReadWriteCloser); ok {
		return &cancelReadWriteCloser{ReadWriteCloser: rw, cancel: cancel}
	}
	return &cancelReadCloser{ReadCloser: body, cancel: cancel}
}

type cancelReadCloser struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelReadCloser) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

type cancelReadWriteCloser struct {
	io.ReadWriteCloser
	cancel context.CancelFunc
}

func (c *cancelReadWriteCloser) Close() error {
	err := c.ReadWriteCloser.Close()
	c.cancel()
	return err
}
