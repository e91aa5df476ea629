package errs

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
)

// ErrDuplicate is returned (and, by the package-level functions, panicked
// with) when a target error or type is registered twice in one [Registry].
var ErrDuplicate = errors.New("errs: already registered")

// ErrInvalidRegistration is returned when a registration's arguments are
// unusable: nil target, status outside 400–599, empty or malformed code,
// empty message, nil describe function, or a target that already carries
// its own mapping (*Error, FieldErrors).
var ErrInvalidRegistration = errors.New("errs: invalid registration")

// Registry maps errors to public answers. Sentinel errors are registered with
// [Registry.Register] and matched by identity (errors.Is semantics); types
// are registered with [RegisterTypeIn] and matched by type (errors.As
// semantics). See [Registry.Resolve] for which registration wins.
//
// A Registry is safe for concurrent use. Lookups take no lock: registrations
// copy an immutable table and swap it in atomically, so registration is
// O(n) and meant for start-up, while Resolve never blocks. The zero value is
// an empty registry ready to use.
type Registry struct {
	mu    sync.Mutex // serialises writers
	table atomic.Pointer[table]
}

// NewRegistry returns an empty registry, isolated from the default one.
func NewRegistry() *Registry { return &Registry{} }

type ruleKind uint8

const (
	kindSentinel ruleKind = iota + 1
	kindType
)

// rule is one registration. Rules are immutable once published.
type rule struct {
	kind    ruleKind
	seq     int // registration order, from 1
	status  int
	code    string
	message string // sentinel rules only

	target error // kindSentinel

	typ      reflect.Type                                                     // kindType
	describe func(error) (message string, details map[string]string, ok bool) // kindType
}

// table is an immutable snapshot of a registry.
type table struct {
	sentinels map[error]*rule
	ordered   []*rule // sentinels in registration order, for nodes with an Is method
	types     []*rule // in registration order
	n         int
}

func (t *table) clone() *table {
	c := &table{n: t.n}
	c.sentinels = maps.Clone(t.sentinels)
	if c.sentinels == nil {
		c.sentinels = make(map[error]*rule)
	}
	c.ordered = append([]*rule(nil), t.ordered...)
	c.types = append([]*rule(nil), t.types...)
	return c
}

func (r *Registry) load() *table { return r.table.Load() }

// add validates nothing; callers have. It returns ErrDuplicate on a clash.
func (r *Registry) add(nr *rule) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	if old == nil {
		old = &table{}
	}
	switch nr.kind {
	case kindSentinel:
		if prev, ok := old.sentinels[nr.target]; ok {
			return fmt.Errorf("%w: sentinel %q (as %d %s)", ErrDuplicate, nr.target.Error(), prev.status, prev.code)
		}
	case kindType:
		for _, prev := range old.types {
			if prev.typ == nr.typ {
				return fmt.Errorf("%w: type %v (as %d %s)", ErrDuplicate, nr.typ, prev.status, prev.code)
			}
		}
	}
	t := old.clone()
	t.n++
	nr.seq = t.n
	switch nr.kind {
	case kindSentinel:
		t.sentinels[nr.target] = nr
		t.ordered = append(t.ordered, nr)
	case kindType:
		t.types = append(t.types, nr)
	}
	r.table.Store(t)
	return nil
}

// Register maps the sentinel target to status, code and public message.
// An error matches when target is in its tree: the same value (==) or a
// node whose Is(target) method reports true, through %w wrapping and
// errors.Join, exactly as errors.Is finds it.
//
// It returns an error wrapping [ErrDuplicate] when target is already
// registered here, and [ErrInvalidRegistration] for unusable arguments
// (the target's dynamic type must be comparable).
func (r *Registry) Register(target error, status int, code, message string) error {
	if target == nil {
		return fmt.Errorf("%w: nil target", ErrInvalidRegistration)
	}
	if err := checkCarrier(reflect.TypeOf(target)); err != nil {
		return err
	}
	if !reflect.TypeOf(target).Comparable() {
		return fmt.Errorf("%w: target type %T is not comparable; use RegisterType", ErrInvalidRegistration, target)
	}
	if err := checkMapping(status, code); err != nil {
		return err
	}
	if message == "" {
		return fmt.Errorf("%w: empty message for %s", ErrInvalidRegistration, code)
	}
	return r.add(&rule{kind: kindSentinel, target: target, status: status, code: code, message: message})
}

// RegisterTypeIn maps every error of type T in r: an error matches when a
// node of its tree has type T (or, for an interface T, implements it), or
// has an As method that fills a T, exactly as errors.As finds it. describe
// turns the matched value into the public message and details; an empty
// message means the status text. describe must not panic and must not
// return internal text.
//
// It returns an error wrapping [ErrDuplicate] when T is already registered
// here, and [ErrInvalidRegistration] for unusable arguments (T may not be
// the error interface itself, *Error or FieldErrors).
func RegisterTypeIn[T error](r *Registry, status int, code string, describe func(T) (message string, details map[string]string)) error {
	typ := reflect.TypeFor[T]()
	if typ == reflect.TypeFor[error]() {
		return fmt.Errorf("%w: RegisterType[error] would match every error", ErrInvalidRegistration)
	}
	if err := checkCarrier(typ); err != nil {
		return err
	}
	if err := checkMapping(status, code); err != nil {
		return err
	}
	if describe == nil {
		return fmt.Errorf("%w: nil describe function for %s", ErrInvalidRegistration, code)
	}
	return r.add(&rule{kind: kindType, typ: typ, status: status, code: code, describe: typedMatcher(describe)})
}

func typedMatcher[T error](describe func(T) (string, map[string]string)) func(error) (string, map[string]string, bool) {
	return func(err error) (string, map[string]string, bool) {
		if t, ok := err.(T); ok {
			m, d := describe(t)
			return m, d, true
		}
		if t, ok := asMethod[T](err); ok {
			m, d := describe(t)
			return m, d, true
		}
		return "", nil, false
	}
}

// asMethod honours an As(any) bool method, like errors.As. It lives in its
// own function so that the common path above does not allocate a T.
func asMethod[T error](err error) (T, bool) {
	x, ok := err.(interface{ As(any) bool })
	if !ok {
		var zero T
		return zero, false
	}
	return asCall[T](x)
}

// asCall is split from asMethod because &t escapes: only nodes with an As
// method pay for the allocation.
func asCall[T error](x interface{ As(any) bool }) (T, bool) {
	var t T
	ok := x.As(&t)
	return t, ok
}

func checkCarrier(t reflect.Type) error {
	if t == reflect.TypeFor[*Error]() || t == reflect.TypeFor[FieldErrors]() {
		return fmt.Errorf("%w: %v carries its own mapping and needs no registration", ErrInvalidRegistration, t)
	}
	return nil
}

func checkMapping(status int, code string) error {
	if status < 400 || status > 599 {
		return fmt.Errorf("%w: status %d outside 400–599", ErrInvalidRegistration, status)
	}
	if code == "" {
		return fmt.Errorf("%w: empty code", ErrInvalidRegistration)
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return fmt.Errorf("%w: code %q: use letters, digits, '_', '-' or '.'", ErrInvalidRegistration, code)
		}
	}
	return nil
}
