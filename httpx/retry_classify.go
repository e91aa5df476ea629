package httpx

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
)

// Decision is what the retry transport does with the outcome of an attempt.
type Decision int

const (
	// Stop hands the response (or the transport error) to the caller.
	Stop Decision = iota
	// Retry treats the outcome as a failure worth another attempt: it waits
	// (backoff or Retry-After), uses up an attempt and a token of the host's
	// retry budget.
	Retry
	// Poll means the server is still working on the request (202 processing,
	// 409 REQUEST_IN_PROGRESS): wait (Retry-After or backoff) and ask again.
	// Polls count against MaxPolls, not MaxAttempts nor the budget.
	Poll
)

// String returns "Stop", "Retry" or "Poll".
func (d Decision) String() string {
	switch d {
	case Stop:
		return "Stop"
	case Retry:
		return "Retry"
	case Poll:
		return "Poll"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Classifier decides what the retry transport does with an attempt's outcome.
// Wrap [DefaultClassifier] to change a few rows:
//
//	p.Classify = func(o *httpx.Outcome) httpx.Decision {
//		if o.Response != nil && o.Response.StatusCode == http.StatusNotImplemented {
//			return httpx.Retry
//		}
//		return httpx.DefaultClassifier(o)
//	}
//
// A classifier must not read o.Response.Body; it may call [Outcome.Body].
// The request context is checked before the classifier runs: an outcome
// caused by the caller's cancellation or deadline never reaches it.
type Classifier func(o *Outcome) Decision

// maxRetryPeek is how much of a response body [Outcome.Body] reads.
const maxRetryPeek = 4 << 10

// Outcome is the result of one attempt, as seen by a [Classifier].
type Outcome struct {
	// Request is the attempt as sent, with its key and attempt headers.
	Request *http.Request
	// Attempt is the 1-based number of this attempt.
	Attempt int
	// KeySent reports whether the attempt carried an idempotency key
	// (supplied by the caller or generated).
	KeySent bool
	// Response is the answer; nil when Err is set.
	Response *http.Response
	// Err is the transport error (refused, reset, timeout, ...); nil when
	// Response is set.
	Err error

	peeked bool
	peek   []byte
}

// Body returns up to the first 4 KiB of the response body (nil for a transport
// error). The body stays intact: whoever receives the response reads it whole.
func (o *Outcome) Body() []byte {
	if o.peeked || o.Response == nil || o.Response.Body == nil || o.Response.Body == http.NoBody {
		return o.peek
	}
	o.peeked = true
	orig := o.Response.Body
	b, err := io.ReadAll(io.LimitReader(orig, maxRetryPeek))
	o.peek = b
	var rest io.Reader = orig
	if err != nil {
		rest = peekErrReader{err}
	}
	o.Response.Body = &peekedBody{Reader: io.MultiReader(bytes.NewReader(b), rest), c: orig}
	return o.peek
}

// Resendable reports whether sending the request again is safe even if the
// server already applied it: its method is idempotent (GET, HEAD, OPTIONS,
// TRACE, PUT, DELETE) or it carries an idempotency key.
func (o *Outcome) Resendable() bool {
	return o.KeySent || (o.Request != nil && idempotentMethod(o.Request.Method))
}

type peekedBody struct {
	io.Reader
	c io.Closer
}

func (b *peekedBody) Close() error { return b.c.Close() }

type peekErrReader struct{ err error }

func (r peekErrReader) Read([]byte) (int, error) { return 0, r.err }

// DecisionMatrix is a decision matrix as data. [DefaultDecisionMatrix]
// returns the default one; edit a copy and install its Classify method as
// [RetryPolicy.Classify].
type DecisionMatrix struct {
	// Status maps a response status to a decision; a status that is absent
	// is Stop. Two rows are conditional: Poll on 202 applies only when a key
	// was sent and the response carries the processing marker (a Retry-After
	// header or the body {"status":"processing"}), and Poll on 409 only when
	// the body's "error" code is in InProgressCodes; otherwise both are Stop.
	Status map[int]Decision
	// InProgressCodes are the 409 error codes meaning "the first request with
	// this key is still running".
	InProgressCodes []string
	// TransportError is the decision for a transport error (no response)
	// when the request is [Outcome.Resendable]; for any other request it is
	// Stop, because the server may have applied it. TLS certificate errors and
	// http.ErrSchemeMismatch are always Stop.
	TransportError Decision
}

// DefaultDecisionMatrix returns a fresh copy of the default decision matrix:
//
//	2xx, 3xx                               Stop
//	202 + key sent + processing marker     Poll
//	400, 401, 403, 404, 410, 422           Stop
//	409 REQUEST_IN_PROGRESS                Poll (other 409s Stop)
//	408, 425, 429, 500, 502, 503, 504      Retry
//	transport error, resendable request    Retry
//	transport error, POST/PATCH, no key    Stop
//	any other status                       Stop
func DefaultDecisionMatrix() DecisionMatrix {
	return DecisionMatrix{
		Status: map[int]Decision{
			http.StatusAccepted:            Poll,
			http.StatusBadRequest:          Stop,
			http.StatusUnauthorized:        Stop,
			http.StatusForbidden:           Stop,
			http.StatusNotFound:            Stop,
			http.StatusRequestTimeout:      Retry,
			http.StatusConflict:            Poll,
			http.StatusGone:                Stop,
			http.StatusUnprocessableEntity: Stop,
			http.StatusTooEarly:            Retry,
			http.StatusTooManyRequests:     Retry,
			http.StatusInternalServerError: Retry,
			http.StatusBadGateway:          Retry,
			http.StatusServiceUnavailable:  Retry,
			http.StatusGatewayTimeout:      Retry,
		},
		InProgressCodes: []string{"REQUEST_IN_PROGRESS"},
		TransportError:  Retry,
	}
}

// defaultMatrix backs DefaultClassifier; it is never modified.
var defaultMatrix = DefaultDecisionMatrix()

// DefaultClassifier is the default [Classifier]: [DefaultDecisionMatrix]'s
// Classify.
func DefaultClassifier(o *Outcome) Decision { return defaultMatrix.Classify(o) }

// Classify applies the matrix to o; it has the [Classifier] signature.
func (m DecisionMatrix) Classify(o *Outcome) Decision {
	if o.Response == nil {
		if o.Err == nil || permanentTransportError(o.Err) || !o.Resendable() {
			return Stop
		}
		return m.TransportError
	}
	code := o.Response.StatusCode
	d := m.Status[code]
	if d != Poll {
		return d
	}
	switch code {
	case http.StatusAccepted:
		if o.KeySent && (o.Response.Header.Get("Retry-After") != "" || processingMarker(o.Body())) {
			return Poll
		}
		return Stop
	case http.StatusConflict:
		if slices.Contains(m.InProgressCodes, inProgressCode(o.Body())) {
			return Poll
		}
		return Stop
	}
	return Poll
}

// processingMarker reports whether body is {"status":"processing"}.
func processingMarker(body []byte) bool {
	var v struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(body, &v) == nil && v.Status == "processing"
}

// inProgressCode returns the "error" member of a standard error body.
func inProgressCode(body []byte) string {
	var v struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.Error
}

// permanentTransportError reports errors that another attempt cannot fix.
func permanentTransportError(err error) bool {
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.Is(err, http.ErrSchemeMismatch) ||
		errors.As(err, &verify) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

// idempotentMethod reports whether RFC 9110 calls method idempotent.
func idempotentMethod(method string) bool {
	switch method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
