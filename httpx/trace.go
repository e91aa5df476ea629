package httpx

import "context"

type traceIDKey struct{}

// WithTraceID returns a copy of ctx carrying the request's trace id.
// middleware.RequestID calls it for every request; [WriteError] writes the
// id as the body's "trace_id" and logs it.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, id)
}

// TraceID returns the trace id stored by [WithTraceID], or "".
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceIDKey{}).(string)
	return id
}
