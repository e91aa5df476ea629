package errs

import (
	"slices"
	"strings"
)

// FieldErrors collects several field problems of one request, keyed by field
// name. It resolves, without registration, to 400 VALIDATION_ERROR "Invalid
// request" with the problems as details:
//
//	{"error":"VALIDATION_ERROR","message":"Invalid request",
//	 "details":{"quantity":"must be positive","zone_id":"required"}}
//
// In problem+json the problems become the RFC 9457 "errors" list; a field
// name is turned into a JSON Pointer ("zone_id" → "#/zone_id"; a name that
// already starts with "/" is used as a pointer as is).
type FieldErrors map[string]string

// Add records problem for field, replacing an earlier problem of the same
// field. It allocates the map on first use.
func (f *FieldErrors) Add(field, problem string) {
	if *f == nil {
		*f = make(FieldErrors)
	}
	(*f)[field] = problem
}

// Err returns f as an error, or nil when f holds no problem, so a handler can
// write `if err := problems.Err(); err != nil { return err }`.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return f
}

// Error lists the problems sorted by field: "validation failed: quantity:
// must be positive; zone_id: required".
func (f FieldErrors) Error() string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString("validation failed")
	for i, k := range keys {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(f[k])
	}
	return b.String()
}
