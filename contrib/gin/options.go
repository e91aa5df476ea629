package idemgin

import (
	"github.com/idemkit/idemkit/httpx"
)

// Option configures [Middleware], [NoRoute] and [NoMethod].
type Option func(*options)

type options struct {
	ew *httpx.ErrorWriter // nil: httpx.WriteError's defaults
}

// WithErrorWriter answers errors with ew instead of [httpx.WriteError]'s
// defaults (the default registry and slog.Default()): its Registry resolves
// the errors, its Logger logs them, and its DisableProblemDetails applies.
// ew must not be modified while it is in use. A nil ew means the defaults.
func WithErrorWriter(ew *httpx.ErrorWriter) Option {
	return func(o *options) { o.ew = ew }
}

func newOptions(opts []Option) *options {
	o := new(options)
	for _, opt := range opts {
		opt(o)
	}
	return o
}
