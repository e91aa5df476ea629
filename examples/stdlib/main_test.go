package main

import (
	"testing"

	"github.com/idemkit/idemkit/examples/internal/routertest"
)

// TestRouter runs the shared router-example test on this example's wiring.
func TestRouter(t *testing.T) { routertest.Run(t, newHandler) }
