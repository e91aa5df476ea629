package errs_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/idemkit/idemkit/errs"
)

func TestRegisterErrors(t *testing.T) {
	sentinel := errors.New("x")
	tests := []struct {
		name   string
		target error
		status int
		code   string
		msg    string
		want   error
	}{
		{"nil target", nil, 400, "X", "m", errs.ErrInvalidRegistration},
		{"status too low", sentinel, 399, "X", "m", errs.ErrInvalidRegistration},
		{"status too high", sentinel, 600, "X", "m", errs.ErrInvalidRegistration},
		{"empty code", sentinel, 400, "", "m", errs.ErrInvalidRegistration},
		{"code with space", sentinel, 400, "BAD CODE", "m", errs.ErrInvalidRegistration},
		{"empty message", sentinel, 400, "X", "", errs.ErrInvalidRegistration},
		{"carrier *Error", errs.ErrNotFound, 404, "X", "m", errs.ErrInvalidRegistration},
		{"carrier FieldErrors", errs.FieldErrors{}, 400, "X", "m", errs.ErrInvalidRegistration},
		{"not comparable", nonComparable{}, 400, "X", "m", errs.ErrInvalidRegistration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := errs.NewRegistry().Register(tt.target, tt.status, tt.code, tt.msg)
			if !errors.Is(err, tt.want) {
				t.Errorf("Register(%v, %d, %q, %q) = %v, want %v", tt.target, tt.status, tt.code, tt.msg, err, tt.want)
			}
		})
	}
}

func TestRegisterDuplicate(t *testing.T) {
	r := errs.NewRegistry()
	sentinel := errors.New("x")
	if err := r.Register(sentinel, 404, "A", "a"); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(sentinel, 409, "B", "b"); !errors.Is(err, errs.ErrDuplicate) {
		t.Errorf("Register(same sentinel) = %v, want ErrDuplicate", err)
	}
	if got := r.Resolve(sentinel); got.Code != "A" {
		t.Errorf("after duplicate, Resolve = %s, want A (no silent override)", got.Code)
	}
	describe := func(*stockError) (string, map[string]string) { return "m", nil }
	if err := errs.RegisterTypeIn(r, 409, "T", describe); err != nil {
		t.Fatal(err)
	}
	if err := errs.RegisterTypeIn(r, 409, "T2", describe); !errors.Is(err, errs.ErrDuplicate) {
		t.Errorf("RegisterTypeIn(same type) = %v, want ErrDuplicate", err)
	}
	// The same sentinel in another registry is fine.
	if err := errs.NewRegistry().Register(sentinel, 409, "B", "b"); err != nil {
		t.Errorf("Register in a fresh registry = %v, want nil", err)
	}
}

func TestRegisterTypeInvalid(t *testing.T) {
	r := errs.NewRegistry()
	if err := errs.RegisterTypeIn[error](r, 400, "X", func(error) (string, map[string]string) { return "", nil }); !errors.Is(err, errs.ErrInvalidRegistration) {
		t.Errorf("RegisterTypeIn[error] = %v, want ErrInvalidRegistration", err)
	}
	if err := errs.RegisterTypeIn[*stockError](r, 400, "X", nil); !errors.Is(err, errs.ErrInvalidRegistration) {
		t.Errorf("RegisterTypeIn(nil describe) = %v, want ErrInvalidRegistration", err)
	}
	if err := errs.RegisterTypeIn(r, 400, "X", func(*errs.Error) (string, map[string]string) { return "", nil }); !errors.Is(err, errs.ErrInvalidRegistration) {
		t.Errorf("RegisterTypeIn[*errs.Error] = %v, want ErrInvalidRegistration", err)
	}
}

func TestRegisterTypeInterface(t *testing.T) {
	r := errs.NewRegistry()
	type timeout interface {
		error
		Timeout() bool
	}
	if err := errs.RegisterTypeIn(r, 503, "SERVICE_UNAVAILABLE", func(timeout) (string, map[string]string) { return "", nil }); err != nil {
		t.Fatal(err)
	}
	got := r.Resolve(fmt.Errorf("dial: %w", timeoutErr{}))
	if got.Status != 503 || got.Message != "Service Unavailable" {
		t.Errorf("Resolve(timeout) = %d %q, want 503 %q", got.Status, got.Message, "Service Unavailable")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "i/o timeout" }
func (timeoutErr) Timeout() bool { return true }

func TestDefaultRegisterPanicsOnDuplicate(t *testing.T) {
	sentinel := errors.New("errs_test: default duplicate")
	errs.Register(sentinel, 409, "DEFAULT_DUP", "dup")
	defer func() {
		v := recover()
		err, ok := v.(error)
		if !ok || !errors.Is(err, errs.ErrDuplicate) {
			t.Errorf("second Register panicked with %v, want an error wrapping ErrDuplicate", v)
		}
	}()
	errs.Register(sentinel, 409, "DEFAULT_DUP", "dup")
}

func TestDefaultRegisterType(t *testing.T) {
	type defaultTyped struct{ timeoutErr }
	errs.RegisterType(418, "TEAPOT", func(defaultTyped) (string, map[string]string) { return "short and stout", nil })
	got := errs.Resolve(fmt.Errorf("x: %w", defaultTyped{}))
	if got.Status != 418 || got.Code != "TEAPOT" || errs.Default().Resolve(defaultTyped{}).Code != "TEAPOT" {
		t.Errorf("Resolve(defaultTyped) = %d %s, want 418 TEAPOT", got.Status, got.Code)
	}
}

// TestConcurrentRegisterResolve registers and resolves from many goroutines;
// run it with -race.
func TestConcurrentRegisterResolve(t *testing.T) {
	r := errs.NewRegistry()
	const n = 64
	sentinels := make([]error, n)
	for i := range sentinels {
		sentinels[i] = fmt.Errorf("sentinel %d", i)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := r.Register(sentinels[i], 400+i%100, fmt.Sprintf("CODE_%d", i), "m"); err != nil {
				t.Errorf("Register(%d) = %v", i, err)
			}
		})
		wg.Go(func() {
			for j := range n {
				got := r.Resolve(fmt.Errorf("wrap: %w", sentinels[j]))
				if got.Matched && got.Code != fmt.Sprintf("CODE_%d", j) {
					t.Errorf("Resolve(sentinel %d) = %s", j, got.Code)
				}
				_ = r.Explain(sentinels[j])
			}
		})
	}
	wg.Wait()
	for i, s := range sentinels {
		if got := r.Resolve(s); got.Code != fmt.Sprintf("CODE_%d", i) {
			t.Errorf("Resolve(sentinel %d) = %s, want CODE_%d", i, got.Code, i)
		}
	}
}
