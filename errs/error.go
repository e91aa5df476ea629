package errs

import (
	"net/http"
	"strconv"
	"strings"
)

// Error is a public error: it carries its own HTTP status, machine code and
// public message, so library and application code can return it without a
// registration. When an *Error is found in an error's tree it is used as is
// (see [Registry.Resolve]).
//
// Err is the internal cause. It is reachable with [errors.Is] and
// [errors.As], appears in Error() and therefore in logs, and is never
// written to a client.
type Error struct {
	// Status is the HTTP status code, 400–599. Any other value is answered
	// as 500.
	Status int
	// Code is the stable machine-readable code, e.g. "INSUFFICIENT_STOCK".
	// Empty means the status text in upper snake case ("NOT_FOUND").
	Code string
	// Message is the public, human-readable message. Empty means the
	// status text ("Not Found").
	Message string
	// Details are public key/value details written in the body's
	// "details" object. They are read, never modified, by this package.
	Details map[string]string
	// Err is the internal cause: logged, never written.
	Err error
}

// New returns an *Error with the given status, code and public message.
func New(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// Error returns "CODE: message", followed by ": cause" when Err is set. The
// text is meant for logs; clients see only Code, Message and Details.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.code())
	b.WriteString(": ")
	b.WriteString(e.message())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the internal cause, Err.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same status and code, so
// that errors.Is(err, errs.ErrServiceUnavailable) holds for a copy made with
// [Error.Wrap] or built by hand.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Status == e.Status && t.code() == e.code()
}

// Wrap returns a copy of e whose internal cause is cause. The copy matches e
// with errors.Is. Details are shared with e, not copied.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

func (e *Error) status() int {
	if e.Status < 400 || e.Status > 599 {
		return http.StatusInternalServerError
	}
	return e.Status
}

func (e *Error) code() string {
	if e.Code != "" {
		return e.Code
	}
	return codeFromStatus(e.status())
}

func (e *Error) message() string {
	if e.Message != "" {
		return e.Message
	}
	return messageFromStatus(e.status())
}

// codeFromStatus turns a status text into upper snake case: 404 → NOT_FOUND.
func codeFromStatus(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return CodeInternal
	case StatusClientClosedRequest:
		return CodeClientClosedRequest
	}
	text := http.StatusText(status)
	if text == "" {
		return "HTTP_" + strconv.Itoa(status)
	}
	b := make([]byte, 0, len(text))
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b = append(b, c)
		case c == ' ' || c == '-':
			b = append(b, '_')
		}
	}
	return string(b)
}

func messageFromStatus(status int) string {
	switch {
	case status == http.StatusInternalServerError:
		return MessageInternal
	case status == StatusClientClosedRequest:
		return "Client closed the request"
	case http.StatusText(status) != "":
		return http.StatusText(status)
	case status >= 500:
		return MessageInternal
	default:
		return "Request failed"
	}
}
