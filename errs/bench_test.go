package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/idemkit/idemkit/errs"
)

func benchRegistry(b *testing.B) *errs.Registry {
	r := errs.NewRegistry()
	for i := range 50 {
		if err := r.Register(fmt.Errorf("filler %d", i), 400, "FILLER", "f"); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.Register(errNotFound, 404, "BOOKING_NOT_FOUND", "Booking not found"); err != nil {
		b.Fatal(err)
	}
	if err := errs.RegisterTypeIn(r, 409, "INSUFFICIENT_STOCK", func(e *stockError) (string, map[string]string) {
		return "Not enough seats available", nil
	}); err != nil {
		b.Fatal(err)
	}
	return r
}

func BenchmarkResolve(b *testing.B) {
	r := benchRegistry(b)
	cases := []struct {
		name string
		err  error
	}{
		{"sentinel/wrapped", fmt.Errorf("handler: %w", fmt.Errorf("get: %w", errNotFound))},
		{"typed", fmt.Errorf("reserve: %w", &stockError{1, 2})},
		{"details", errs.WithDetails(errNotFound, "booking_id", "42")},
		{"carrier", errs.ErrServiceUnavailable.Wrap(errors.New("x"))},
		{"unregistered", fmt.Errorf("insert: %w", errors.New("pq: boom"))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = r.Resolve(c.err)
			}
		})
	}
}

// BenchmarkErrorsIs is the baseline: one errors.Is call against one sentinel.
func BenchmarkErrorsIs(b *testing.B) {
	err := fmt.Errorf("handler: %w", fmt.Errorf("get: %w", errNotFound))
	b.ReportAllocs()
	for b.Loop() {
		_ = errors.Is(err, errNotFound)
	}
}
