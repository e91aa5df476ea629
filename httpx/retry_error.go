package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Reasons a retry transport gives up; a [*RetryError] wraps one of them.
var (
	// ErrAttemptsExhausted: MaxAttempts (or MaxPolls) were used up.
	ErrAttemptsExhausted = errors.New("httpx: retry attempts exhausted")
	// ErrRetryBudgetExhausted: the host's retry budget had no token left.
	ErrRetryBudgetExhausted = errors.New("httpx: retry budget exhausted")
	// ErrBodyNotReplayable: the request body has no GetBody and was larger
	// than MaxBufferedBody, so it was sent once and cannot be sent again.
	ErrBodyNotReplayable = errors.New("httpx: request body cannot be replayed")
	// ErrRetryAfterDeadline: the wait before the next attempt (Retry-After or
	// backoff) ends after the request's context deadline, so the transport
	// fails now instead of sleeping into the deadline. The [*RetryError]
	// also matches context.DeadlineExceeded, as the deadline would have
	// ended the call anyway.
	ErrRetryAfterDeadline = errors.New("httpx: retry wait exceeds the request deadline")
	// ErrAttemptTimeout: an attempt got no response headers within
	// RetryPolicy.AttemptTimeout.
	ErrAttemptTimeout = errors.New("httpx: attempt timed out")
)

// RetryError is returned by a retry transport when an attempt's outcome
// called for another attempt but none could be made. It says how many
// attempts were sent, keeps the last status and cause, and why the transport
// gave up; errors.Is matches both Reason and Err.
//
// Context cancellation, and a deadline that expires during an attempt or a
// wait, are never a RetryError: the transport returns the context's error.
// When the transport gives up early because the next wait would end after
// the deadline, the RetryError (Reason ErrRetryAfterDeadline) matches
// context.DeadlineExceeded too and its Timeout method reports true, so
// ordinary timeout handling sees it either way.
type RetryError struct {
	// Attempts is the number of attempts sent, polls included.
	Attempts int
	// LastStatus is the status of the last response, 0 when the last attempt
	// ended in a transport error.
	LastStatus int
	// LastBody holds up to the first 4 KiB of the last response body (nil for
	// a transport error), e.g. to decode a standard error body.
	LastBody []byte
	// Reason is why no further attempt was made: ErrAttemptsExhausted,
	// ErrRetryBudgetExhausted, ErrBodyNotReplayable or ErrRetryAfterDeadline
	// (possibly wrapped with details; ErrRetryAfterDeadline's details name
	// the wait and the time left, and match context.DeadlineExceeded).
	Reason error
	// Err is the last transport error; nil when the last attempt got a
	// response.
	Err error
}

// Error reads like "httpx: gave up after 4 attempts (httpx: retry attempts
// exhausted): last status 503 Service Unavailable".
func (e *RetryError) Error() string {
	var b strings.Builder
	b.WriteString("httpx: gave up after ")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt")
	} else {
		b.WriteString(" attempts")
	}
	if e.Reason != nil {
		b.WriteString(" (")
		b.WriteString(e.Reason.Error())
		b.WriteString(")")
	}
	switch {
	case e.Err != nil:
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	case e.LastStatus != 0:
		b.WriteString(": last status ")
		b.WriteString(strconv.Itoa(e.LastStatus))
		if t := http.StatusText(e.LastStatus); t != "" {
			b.WriteString(" ")
			b.WriteString(t)
		}
	}
	return b.String()
}

// Timeout reports whether the transport gave up because of the request's
// deadline (the error matches context.DeadlineExceeded). It makes
// url.Error.Timeout, and net.Error checks on an http.Client's error, report
// the early give-up as a timeout.
func (e *RetryError) Timeout() bool {
	return errors.Is(e, context.DeadlineExceeded)
}

// Unwrap returns Reason and Err, so errors.Is and errors.As see both.
func (e *RetryError) Unwrap() []error {
	var errs []error
	if e.Reason != nil {
		errs = append(errs, e.Reason)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// deadlineReason is the Reason of a RetryError when the next wait would end
// after the context's deadline: it names the wait and the time left, and
// matches both ErrRetryAfterDeadline and context.DeadlineExceeded.
type deadlineReason struct {
	what string // "Retry-After" or "backoff"
	wait time.Duration
	left time.Duration
}

func (r *deadlineReason) Error() string {
	return fmt.Sprintf("%v: %s %v but %v left", ErrRetryAfterDeadline, r.what, r.wait, r.left)
}

func (r *deadlineReason) Unwrap() []error {
	return []error{ErrRetryAfterDeadline, context.DeadlineExceeded}
}
