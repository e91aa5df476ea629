package errs

// WithDetails returns an error that wraps err and carries public details as
// key/value pairs: WithDetails(err, "available", "5", "requested", "10").
// errors.Is and errors.As still see err, and Error() is err's text.
//
// Details are public: they are written in the body whenever the error tree
// resolves to a registration or an *Error on a path below this wrapper
// (they are dropped for an unregistered technical error). Outer WithDetails
// win over inner ones and over the registration's own details on a key
// clash. A trailing key without a value gets "". WithDetails(nil, ...)
// returns nil.
func WithDetails(err error, keyvals ...string) error {
	if err == nil {
		return nil
	}
	if len(keyvals)%2 == 1 {
		keyvals = append(keyvals[:len(keyvals):len(keyvals)], "")
	}
	return &detailsError{err: err, kv: keyvals}
}

type detailsError struct {
	err error
	kv  []string
}

func (e *detailsError) Error() string { return e.err.Error() }
func (e *detailsError) Unwrap() error { return e.err }

// mergeInto copies the pairs into dst, overwriting.
func (e *detailsError) mergeInto(dst map[string]string) {
	for i := 0; i+1 < len(e.kv); i += 2 {
		dst[e.kv[i]] = e.kv[i+1]
	}
}
