package middleware

import (
	"net/http"

	"github.com/idemkit/idemkit/errs"
)

// Codes of the answers the idempotency middleware writes itself.
const (
	CodeInvalidIdempotencyKey  = "INVALID_IDEMPOTENCY_KEY"
	CodeIdempotencyKeyReused   = "IDEMPOTENCY_KEY_REUSED"
	CodeRequestInProgress      = "REQUEST_IN_PROGRESS"
	CodeBadRequestBody         = "BAD_REQUEST_BODY"
	CodeIdempotencyKeyRequired = "IDEMPOTENCY_KEY_REQUIRED"
)

// Errors the idempotency middleware answers with. Each is an [*errs.Error],
// so it is written in the standard error body; details say more (the reason
// a key is malformed, the body limit).
var (
	// ErrInvalidIdempotencyKey is 400 INVALID_IDEMPOTENCY_KEY: empty, longer
	// than 255 bytes, bytes outside printable ASCII, leading or trailing
	// space, a malformed quoted string, or the header sent twice.
	ErrInvalidIdempotencyKey = errs.New(http.StatusBadRequest, CodeInvalidIdempotencyKey,
		"Idempotency key must be 1 to 255 printable ASCII characters")
	// ErrIdempotencyKeyRequired is 400 IDEMPOTENCY_KEY_REQUIRED: the route
	// requires a key ([IdempotencyConfig.RequireKey]) and the request
	// carries none. details.header names the header to send.
	ErrIdempotencyKeyRequired = errs.New(http.StatusBadRequest, CodeIdempotencyKeyRequired,
		"This request requires an idempotency key")
	// errKeyHeaderTwice is ErrInvalidIdempotencyKey (it matches it with
	// errors.Is) with the message that fits a key header sent twice.
	errKeyHeaderTwice = errs.New(http.StatusBadRequest, CodeInvalidIdempotencyKey,
		"Send the idempotency key header once, with one value")
	// errKeyRejected is ErrInvalidIdempotencyKey (it matches it with
	// errors.Is) for a well-formed key that KeyValidator refused.
	errKeyRejected = errs.New(http.StatusBadRequest, CodeInvalidIdempotencyKey,
		"Idempotency key is not in the format this endpoint accepts")
	// ErrIdempotencyKeyReused is 422 IDEMPOTENCY_KEY_REUSED: the key was
	// used before with a different method, path, query or body.
	ErrIdempotencyKeyReused = errs.New(http.StatusUnprocessableEntity, CodeIdempotencyKeyReused,
		"This idempotency key was already used for a different request")
	// ErrRequestInProgress is 409 REQUEST_IN_PROGRESS, the answer to a
	// duplicate of a running request in [InProgressConflict] mode.
	ErrRequestInProgress = errs.New(http.StatusConflict, CodeRequestInProgress,
		"A request with this idempotency key is still being processed")
	// ErrBadRequestBody is 400 BAD_REQUEST_BODY: the request body could not
	// be read (the client went away or sent a broken body).
	ErrBadRequestBody = errs.New(http.StatusBadRequest, CodeBadRequestBody,
		"The request body could not be read")
)
