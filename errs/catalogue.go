package errs

import "net/http"

// StatusClientClosedRequest is the non-standard status (nginx's 499) used for
// [context.Canceled]: the client went away before the answer was ready.
const StatusClientClosedRequest = 499

// Codes of the built-in catalogue. They are stable: clients may switch on them.
const (
	CodeInternal             = "INTERNAL_ERROR"
	CodeServiceUnavailable   = "SERVICE_UNAVAILABLE"
	CodeGatewayTimeout       = "GATEWAY_TIMEOUT"
	CodeClientClosedRequest  = "CLIENT_CLOSED_REQUEST"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeMalformedJSON        = "MALFORMED_JSON"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeValidation           = "VALIDATION_ERROR"
	CodeRequestTimeout       = "REQUEST_TIMEOUT"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
)

// MessageInternal is the public message of every technical error.
const MessageInternal = "Something went wrong. Please try again."

// The built-in catalogue. Each is an *Error, so it carries its own mapping:
// return it, wrap it with %w, or attach a cause with [Error.Wrap]. Do not
// modify them.
var (
	// ErrInternal is the answer to every unregistered (technical) error:
	// 500 INTERNAL_ERROR.
	ErrInternal = New(http.StatusInternalServerError, CodeInternal, MessageInternal)
	// ErrServiceUnavailable is 503 SERVICE_UNAVAILABLE, for a dependency
	// (database, Valkey) that is down or timing out.
	ErrServiceUnavailable = New(http.StatusServiceUnavailable, CodeServiceUnavailable,
		"Service temporarily unavailable. Please try again.")
	// ErrGatewayTimeout is 504 GATEWAY_TIMEOUT, the built-in answer to
	// [context.DeadlineExceeded].
	ErrGatewayTimeout = New(http.StatusGatewayTimeout, CodeGatewayTimeout,
		"The request took too long. Please try again.")
	// ErrClientClosedRequest is 499 CLIENT_CLOSED_REQUEST, the built-in
	// answer to [context.Canceled]: the client went away.
	ErrClientClosedRequest = New(StatusClientClosedRequest, CodeClientClosedRequest,
		"Client closed the request")
	// ErrPayloadTooLarge is 413 PAYLOAD_TOO_LARGE, the built-in answer to
	// [*http.MaxBytesError].
	ErrPayloadTooLarge = New(http.StatusRequestEntityTooLarge, CodePayloadTooLarge,
		"Request body is too large")
	// ErrMalformedJSON is 400 MALFORMED_JSON: the request body is not the
	// JSON the endpoint expects.
	ErrMalformedJSON = New(http.StatusBadRequest, CodeMalformedJSON,
		"Request body is not valid JSON")
	// ErrUnsupportedMediaType is 415 UNSUPPORTED_MEDIA_TYPE: wrong or
	// missing Content-Type.
	ErrUnsupportedMediaType = New(http.StatusUnsupportedMediaType, CodeUnsupportedMediaType,
		"Content-Type must be application/json")
	// ErrValidation is 400 VALIDATION_ERROR "Invalid request"; see
	// [FieldErrors] for per-field problems.
	ErrValidation = New(http.StatusBadRequest, CodeValidation, "Invalid request")
	// ErrRequestTimeout is 408 REQUEST_TIMEOUT: the request body did not
	// arrive in time.
	ErrRequestTimeout = New(http.StatusRequestTimeout, CodeRequestTimeout,
		"Request was not received in time")
	// ErrNotFound is 404 NOT_FOUND.
	ErrNotFound = New(http.StatusNotFound, CodeNotFound, "Not found")
	// ErrMethodNotAllowed is 405 METHOD_NOT_ALLOWED.
	ErrMethodNotAllowed = New(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed")
)

// ForStatus returns the built-in error for an HTTP status that stands for
// one thing whatever the route: [ErrNotFound] for 404, [ErrMethodNotAllowed]
// for 405, [ErrRequestTimeout] for 408, [ErrPayloadTooLarge] for 413,
// [ErrClientClosedRequest] for 499, [ErrInternal] for 500,
// [ErrServiceUnavailable] for 503 and [ErrGatewayTimeout] for 504. For any
// other status it returns a new *Error with that status alone, whose code
// and message come from the status text ("CONFLICT", "Conflict"). Framework
// adapters use it to answer a status-only error (echo's HTTPError, gin's
// AbortWithStatus) in the standard body with the catalogue's code.
func ForStatus(status int) *Error {
	switch status {
	case http.StatusNotFound:
		return ErrNotFound
	case http.StatusMethodNotAllowed:
		return ErrMethodNotAllowed
	case http.StatusRequestTimeout:
		return ErrRequestTimeout
	case http.StatusRequestEntityTooLarge:
		return ErrPayloadTooLarge
	case StatusClientClosedRequest:
		return ErrClientClosedRequest
	case http.StatusInternalServerError:
		return ErrInternal
	case http.StatusServiceUnavailable:
		return ErrServiceUnavailable
	case http.StatusGatewayTimeout:
		return ErrGatewayTimeout
	}
	return &Error{Status: status}
}
