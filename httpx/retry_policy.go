package httpx

import (
	"log/slog"
	"net/http"
	"time"
)

// Defaults of [RetryPolicy]; a zero field takes the value listed here.
const (
	// DefaultMaxAttempts is the default [RetryPolicy.MaxAttempts]: the first
	// attempt and up to three retries.
	DefaultMaxAttempts = 4
	// DefaultBaseDelay is the default [RetryPolicy.BaseDelay]: retries wait up
	// to 1s, 2s, 4s, ... (full jitter).
	DefaultBaseDelay = time.Second
	// DefaultMaxDelay is the default [RetryPolicy.MaxDelay].
	DefaultMaxDelay = 30 * time.Second
	// DefaultMaxPolls is the default [RetryPolicy.MaxPolls].
	DefaultMaxPolls = 20
	// DefaultMaxBufferedBody is the default [RetryPolicy.MaxBufferedBody]: 1 MiB.
	DefaultMaxBufferedBody = 1 << 20
	// DefaultKeyHeader is the default [RetryPolicy.KeyHeader].
	DefaultKeyHeader = "Idempotency-Key"
	// DefaultAttemptHeader is the default [RetryPolicy.AttemptHeader].
	DefaultAttemptHeader = "Idempotency-Attempt"
)

// RetryPolicy configures [NewRetryTransport]. The zero value is usable: every
// zero field takes the default written in its comment, so RetryPolicy{} and
// [DefaultRetryPolicy]() behave the same. A transport copies the policy; later
// changes to it have no effect.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts for failures (Retry decisions),
	// counting the first one. 1 turns retries off. Zero means 4.
	MaxAttempts int
	// BaseDelay is the backoff of the first retry: the n-th retry waits a
	// random duration in [0, BaseDelay·2^(n-1)] ("full jitter"), at most
	// MaxDelay. Zero means 1s (waits up to 1s, 2s, 4s).
	BaseDelay time.Duration
	// MaxDelay caps every wait, a Retry-After included. Zero means 30s.
	MaxDelay time.Duration

	// MaxPolls is the number of extra requests allowed for Poll decisions
	// (the server said it is still working on the request). Polls do not use
	// up MaxAttempts or the retry budget. Zero means 20; negative means never
	// poll (a Poll decision then ends the request with a [*RetryError]).
	MaxPolls int
	// AttemptTimeout bounds each attempt until its response headers arrive;
	// an attempt that times out is a transport error (and is retried by the
	// default classifier). Zero means no per-attempt limit: only the request's
	// context bounds it.
	AttemptTimeout time.Duration

	// KeyHeader is the idempotency-key header. Zero means "Idempotency-Key".
	KeyHeader string
	// KeyMethods lists the methods that get a generated key (a random UUIDv4,
	// the same on every attempt) when the request carries none. A request that
	// already has a key (in KeyHeader, or in X-Idempotency-Key) keeps it.
	// Nil means POST and PATCH; an empty non-nil slice turns generation off.
	KeyMethods []string
	// AttemptHeader names the header carrying the 1-based attempt number
	// ("Idempotency-Attempt: 2"), for server logs. Zero means
	// "Idempotency-Attempt"; "-" sends no attempt header.
	AttemptHeader string

	// Classify decides what to do with each attempt's outcome. Nil means
	// [DefaultClassifier]; wrap it to change a few rows.
	Classify Classifier
	// Budget limits retries per host so that a fleet of clients backs off
	// when a server is down. The zero value is the default budget (10% extra
	// load); set Budget.Ratio negative to turn it off.
	Budget RetryBudget

	// MaxBufferedBody is how much of a request body without GetBody is
	// buffered so that it can be replayed. A larger body is sent once and not
	// retried ([ErrBodyNotReplayable]). Bodies from http.NewRequest with a
	// *bytes.Buffer, *bytes.Reader or *strings.Reader have GetBody and are
	// never buffered. Zero means 1 MiB; negative means never buffer.
	MaxBufferedBody int64

	// Logger receives a debug record for every retry and for giving up.
	// Nil means slog.Default().
	Logger *slog.Logger
	// OnRetry, when set, is called before each wait that is followed by
	// another attempt (never when the transport gives up), for metrics.
	OnRetry func(RetryEvent)
}

// DefaultRetryPolicy returns the default policy with every field spelled out:
// 4 attempts, backoff 1s·2^n with full jitter capped at 30s, 20 polls, keys
// generated for POST and PATCH in "Idempotency-Key", "Idempotency-Attempt",
// the default classifier, a 10% retry budget per host, and bodies buffered
// up to 1 MiB.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:     DefaultMaxAttempts,
		BaseDelay:       DefaultBaseDelay,
		MaxDelay:        DefaultMaxDelay,
		MaxPolls:        DefaultMaxPolls,
		KeyHeader:       DefaultKeyHeader,
		KeyMethods:      []string{http.MethodPost, http.MethodPatch},
		AttemptHeader:   DefaultAttemptHeader,
		Classify:        DefaultClassifier,
		Budget:          DefaultRetryBudget(),
		MaxBufferedBody: DefaultMaxBufferedBody,
	}
}

// RetryEvent describes a retry or poll that is about to happen; see
// [RetryPolicy.OnRetry].
type RetryEvent struct {
	// Request is the attempt that just finished, as sent (with its key and
	// attempt headers).
	Request *http.Request
	// Attempt is the 1-based number of the attempt that just finished; the
	// next one is Attempt+1.
	Attempt int
	// Decision is Retry or Poll.
	Decision Decision
	// Delay is the wait before the next attempt.
	Delay time.Duration
	// Reason says why, e.g. "503 Service Unavailable" or the transport error.
	Reason string
	// StatusCode is the status of the finished attempt, 0 for transport errors.
	StatusCode int
	// Err is the transport error of the finished attempt, nil for responses.
	Err error
}

// withDefaults returns p with zero fields replaced by defaults. It panics on
// values that are programmer errors.
func (p RetryPolicy) withDefaults() RetryPolicy {
	switch {
	case p.MaxAttempts < 0:
		panic("httpx: RetryPolicy.MaxAttempts is negative")
	case p.BaseDelay < 0:
		panic("httpx: RetryPolicy.BaseDelay is negative")
	case p.MaxDelay < 0:
		panic("httpx: RetryPolicy.MaxDelay is negative")
	case p.AttemptTimeout < 0:
		panic("httpx: RetryPolicy.AttemptTimeout is negative")
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = DefaultMaxDelay
	}
	if p.BaseDelay > p.MaxDelay {
		panic("httpx: RetryPolicy.BaseDelay is larger than MaxDelay")
	}
	if p.MaxPolls == 0 {
		p.MaxPolls = DefaultMaxPolls
	}
	if p.MaxPolls < 0 {
		p.MaxPolls = 0
	}
	if p.KeyHeader == "" {
		p.KeyHeader = DefaultKeyHeader
	}
	p.KeyHeader = http.CanonicalHeaderKey(p.KeyHeader)
	if p.KeyMethods == nil {
		p.KeyMethods = []string{http.MethodPost, http.MethodPatch}
	} else {
		p.KeyMethods = append([]string(nil), p.KeyMethods...)
	}
	switch p.AttemptHeader {
	case "":
		p.AttemptHeader = DefaultAttemptHeader
	case "-":
		p.AttemptHeader = ""
	}
	if p.Classify == nil {
		p.Classify = DefaultClassifier
	}
	p.Budget = p.Budget.withDefaults()
	if p.MaxBufferedBody == 0 {
		p.MaxBufferedBody = DefaultMaxBufferedBody
	}
	return p
}
