package storetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/middleware"
)

// Run runs the conformance suite against stores made by newStore: each
// check is a subtest of t with a fresh store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) middleware.Store) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.run(t, newStore(t))
		})
	}
}

// Check runs the conformance suite outside go test, with a fresh store
// from newStore for each check. It returns nil when the store conforms,
// else every failure joined into one error.
func Check(newStore func() middleware.Store) error {
	var errs []error
	for _, c := range cases {
		ct := &checkT{name: c.name}
		ct.ctx, ct.cancel = context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.run(ct, newStore())
		}()
		<-done
		ct.cancel()
		errs = append(errs, ct.errs...)
	}
	return errors.Join(errs...)
}

// tester is the part of testing.T the checks use.
type tester interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Context() context.Context
}

// checkT implements tester for Check; Fatalf ends the check's goroutine.
type checkT struct {
	name   string
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	errs   []error
}

func (c *checkT) Helper() {}

func (c *checkT) Context() context.Context { return c.ctx }

func (c *checkT) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.errs = append(c.errs, fmt.Errorf("%s: %s", c.name, fmt.Sprintf(format, args...)))
}

func (c *checkT) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}
