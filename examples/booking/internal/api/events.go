package api

import (
	"log/slog"

	"github.com/idemkit/idemkit/httpx"
	"github.com/idemkit/idemkit/middleware"
)

// logEvent logs the idempotency middleware's events, so the demo shows what
// happened to each keyed request: a replay, a duplicate in flight or a reused
// key at Info, everything else at Debug (the middleware itself already logs
// store failures at Warn).
func logEvent(e middleware.Event) {
	level := slog.LevelDebug
	switch e.Kind {
	case middleware.EventReplayed, middleware.EventInProgress, middleware.EventMismatch:
		level = slog.LevelInfo
	}
	ctx := e.Request.Context()
	attrs := []slog.Attr{
		slog.String("trace_id", httpx.TraceID(ctx)),
		slog.String("method", e.Request.Method),
		slog.String("path", e.Request.URL.Path),
	}
	if e.Status != 0 {
		attrs = append(attrs, slog.Int("status", e.Status))
	}
	if e.Err != nil {
		attrs = append(attrs, slog.Any("error", e.Err))
	}
	slog.Default().LogAttrs(ctx, level, "idempotency "+e.Kind.String(), attrs...)
}
