package httpx_test

import (
	"context"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

func TestTraceID(t *testing.T) {
	if got := httpx.TraceID(context.Background()); got != "" {
		t.Errorf("TraceID(empty context) = %q, want \"\"", got)
	}
	ctx := httpx.WithTraceID(context.Background(), "abc")
	if got := httpx.TraceID(ctx); got != "abc" {
		t.Errorf("TraceID(WithTraceID(ctx, abc)) = %q, want abc", got)
	}
	ctx = httpx.WithTraceID(ctx, "def")
	if got := httpx.TraceID(ctx); got != "def" {
		t.Errorf("TraceID after a second WithTraceID = %q, want def", got)
	}
}
