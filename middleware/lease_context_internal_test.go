package middleware

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLeaseContext checks the lazily derived handler context against what
// context.WithCancelCause would answer, whichever of Done, a lost lease or
// the parent's end comes first.
func TestLeaseContext(t *testing.T) {
	lost := errors.New("lease lost")
	closed := func(ch <-chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-time.After(patience): // closing may take a goroutine: await it
			return false
		}
	}
	for _, tc := range []struct {
		name      string
		doneFirst bool // a handler asked for Done before anything happened
		act       func(cancelParent context.CancelFunc, c *leaseContext)
		wantErr   error
		wantCause error
	}{
		{"lease lost, Done never asked", false, func(_ context.CancelFunc, c *leaseContext) { c.lose(lost) }, context.Canceled, lost},
		{"lease lost after Done", true, func(_ context.CancelFunc, c *leaseContext) { c.lose(lost) }, context.Canceled, lost},
		{"parent ended, Done never asked", false, func(cancel context.CancelFunc, _ *leaseContext) { cancel() }, context.Canceled, context.Canceled},
		{"parent ended after Done", true, func(cancel context.CancelFunc, _ *leaseContext) { cancel() }, context.Canceled, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type key struct{}
			parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
			defer cancel()
			l := &Lease{Key: "k"}
			c := &leaseContext{parent: parent, lease: l}
			defer c.release()
			if got, _ := LeaseFrom(c); got.Key != "k" {
				t.Errorf("LeaseFrom = %+v, want the lease", got)
			}
			if c.Value(key{}) != "v" || c.Err() != nil || context.Cause(c) != nil {
				t.Fatalf("before: Value %v, Err %v, Cause %v; want the parent's value and no error", c.Value(key{}), c.Err(), context.Cause(c))
			}
			if _, ok := c.Deadline(); ok {
				t.Error("Deadline reported one; the parent has none")
			}
			if tc.doneFirst {
				c.Done()
			}
			derived, stop := context.WithTimeout(c, time.Hour) // what a handler's own call would do
			defer stop()
			tc.act(cancel, c)
			if !closed(c.Done()) || !closed(derived.Done()) {
				t.Fatal("Done of the context or of its derived context not closed")
			}
			if !errors.Is(c.Err(), tc.wantErr) || !errors.Is(context.Cause(c), tc.wantCause) {
				t.Errorf("Err = %v, Cause = %v; want %v, %v", c.Err(), context.Cause(c), tc.wantErr, tc.wantCause)
			}
			if !errors.Is(context.Cause(derived), tc.wantCause) {
				t.Errorf("derived context's Cause = %v, want %v", context.Cause(derived), tc.wantCause)
			}
		})
	}

	t.Run("release ends a derived child, never the parent", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := &leaseContext{parent: parent, lease: &Lease{}}
		c.release() // nothing derived: nothing to do
		done := c.Done()
		c.release()
		if !closed(done) || parent.Err() != nil {
			t.Errorf("after release: child done %v, parent err %v; want done and nil", closed(done), parent.Err())
		}
	})
}
