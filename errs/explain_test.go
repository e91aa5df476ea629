package errs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/idemkit/idemkit/errs"
)

func TestExplain(t *testing.T) {
	r := newBookingRegistry(t)
	tests := []struct {
		name string
		err  error
		want []string
	}{
		{"sentinel through details", fmt.Errorf("reserve: %w", errs.WithDetails(errStock, "available", "5")), []string{
			`answer: 409 INSUFFICIENT_STOCK "Not enough seats available" details: available="5"`,
			`sentinel registration #1 "booking: insufficient stock" → 409 INSUFFICIENT_STOCK (the node is the registered sentinel (==)), at node [2] (depth 2), searching the registry`,
			"details: merged from WithDetails at depth 1",
			"[1]   *errs.detailsError",
			"<- match",
		}},
		{"typed", &stockError{5, 10}, []string{"type registration #5 *errs_test.stockError", "at node [0] (depth 0)"}},
		{"carrier", errs.ErrServiceUnavailable.Wrap(errStock), []string{"an *errs.Error in the tree"}},
		{"built-in", errors.Join(errors.New("a"), context.Canceled), []string{
			"499 CLIENT_CLOSED_REQUEST", "at node [2] (depth 1), searching the built-in mappings"}},
		{"unregistered", errors.New("secret"), []string{"matched: nothing in the registry (5 registrations)", "technical error"}},
		{"nil", nil, []string{"error: <nil>", "a nil error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.Explain(tt.err)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Explain(%v) = \n%s\nwant it to contain %q", tt.err, got, w)
				}
			}
		})
	}
}
