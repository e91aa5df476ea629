package errs

import (
	"maps"
	"net/http"
	"reflect"
)

// Resolution is the public answer a [Registry] makes of an error.
type Resolution struct {
	// Status is the HTTP status, 400–599.
	Status int
	// Code is the machine code, e.g. "INSUFFICIENT_STOCK".
	Code string
	// Message is the public message.
	Message string
	// Details are the public details, or nil. The map may be shared with
	// the matched *Error or FieldErrors: treat it as read-only.
	Details map[string]string
	// Matched is false when nothing matched and the answer is the
	// INTERNAL_ERROR fallback for a technical error.
	Matched bool
}

// maxDepth bounds the walk of an error tree, guarding against cycles.
const maxDepth = 64

// Resolve returns the public answer for err. It walks err's tree in the order
// errors.Is and errors.As do — the error itself, then its Unwrap() error, or
// each error of Unwrap() []error left to right, depth first — and the first
// node that matches wins, so an outer match is preferred to an inner one.
// At one node the checks are, in order:
//
//  1. the node is an *Error or a FieldErrors: used as is;
//  2. the node is a registered sentinel (==);
//  3. the node has an Is method that reports a registered sentinel
//     (sentinels tried in registration order);
//  4. the node matches a registered type (type assertion or As method;
//     types tried in registration order).
//
// When no node matches, the built-in mappings are tried the same way:
// context.Canceled → 499 CLIENT_CLOSED_REQUEST, context.DeadlineExceeded →
// 504 GATEWAY_TIMEOUT, *http.MaxBytesError → 413 PAYLOAD_TOO_LARGE (with
// detail "limit"). Registering one of those targets yourself overrides it.
// When nothing matches, the answer is 500 INTERNAL_ERROR with the generic
// message and no details: the error's text is never part of a Resolution.
//
// The details of every WithDetails wrapper on the path from the root to the
// matched node are merged over the match's own details, the outermost
// wrapper winning.
//
// A nil err resolves to INTERNAL_ERROR. Resolve does not allocate unless
// details must be merged.
func (r *Registry) Resolve(err error) Resolution {
	return r.resolve(err, nil)
}

func (r *Registry) resolve(err error, tr *tracer) Resolution {
	if err != nil {
		w := walker{t: r.load(), carriers: true, tr: tr}
		if w.walk(err, 0) {
			return finish(w.res)
		}
		tr.phase("built-in mappings")
		w = walker{t: builtins, tr: tr}
		if w.walk(err, 0) {
			return finish(w.res)
		}
	}
	return Resolution{Status: http.StatusInternalServerError, Code: CodeInternal, Message: MessageInternal}
}

func finish(res Resolution) Resolution {
	res.Matched = true
	if res.Status < 400 || res.Status > 599 {
		res.Status = http.StatusInternalServerError
	}
	if res.Code == "" {
		res.Code = codeFromStatus(res.Status)
	}
	if res.Message == "" {
		res.Message = messageFromStatus(res.Status)
	}
	return res
}

// walker is one walk of an error tree against one table.
type walker struct {
	t        *table // nil for an empty registry
	carriers bool   // honour *Error and FieldErrors nodes
	res      Resolution
	owns     bool // res.Details is a map of our own, safe to write
	tr       *tracer
}

// walk visits err's tree depth first and stops at the first match. On the
// way back up it merges the details of WithDetails wrappers on the path, so
// that outer wrappers overwrite inner ones.
func (w *walker) walk(err error, depth int) bool {
	if depth > maxDepth {
		return false
	}
	w.tr.visit(err, depth)
	if w.match(err) {
		w.merge(err, depth)
		return true
	}
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if u := x.Unwrap(); u != nil && w.walk(u, depth+1) {
			w.merge(err, depth)
			return true
		}
	case interface{ Unwrap() []error }:
		for _, u := range x.Unwrap() {
			if u != nil && w.walk(u, depth+1) {
				w.merge(err, depth)
				return true
			}
		}
	}
	return false
}

func (w *walker) merge(err error, depth int) {
	d, ok := err.(*detailsError)
	if !ok || len(d.kv) == 0 {
		return
	}
	if !w.owns {
		m := make(map[string]string, len(w.res.Details)+len(d.kv)/2)
		maps.Copy(m, w.res.Details)
		w.res.Details = m
		w.owns = true
	}
	d.mergeInto(w.res.Details)
	w.tr.detailsAt(depth)
}

func (w *walker) match(err error) bool {
	if w.carriers {
		switch e := err.(type) {
		case *Error:
			if e == nil {
				return false
			}
			w.res = Resolution{Status: e.status(), Code: e.code(), Message: e.message(), Details: e.Details}
			w.tr.matched("an *errs.Error in the tree (it carries its own mapping)")
			return true
		case FieldErrors:
			w.res = Resolution{Status: http.StatusBadRequest, Code: CodeValidation, Message: ErrValidation.Message, Details: e}
			w.tr.matched("an errs.FieldErrors in the tree (it carries its own mapping)")
			return true
		}
	}
	t := w.t
	if t == nil {
		return false
	}
	if len(t.sentinels) > 0 && reflect.TypeOf(err).Comparable() {
		if ru, ok := t.sentinels[err]; ok {
			w.res = Resolution{Status: ru.status, Code: ru.code, Message: ru.message}
			w.tr.matchedRule(ru, "the node is the registered sentinel (==)")
			return true
		}
	}
	if len(t.ordered) > 0 {
		if x, ok := err.(interface{ Is(error) bool }); ok {
			for _, ru := range t.ordered {
				if x.Is(ru.target) {
					w.res = Resolution{Status: ru.status, Code: ru.code, Message: ru.message}
					w.tr.matchedRule(ru, "the node's Is method reports the registered sentinel")
					return true
				}
			}
		}
	}
	for _, ru := range t.types {
		if msg, details, ok := ru.describe(err); ok {
			w.res = Resolution{Status: ru.status, Code: ru.code, Message: msg, Details: details}
			w.tr.matchedRule(ru, "the node matches the registered type (errors.As)")
			return true
		}
	}
	return false
}
