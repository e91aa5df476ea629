package retrytest

import (
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/idemkit/idemkit/httpx"
)

// Case is one outcome of an attempt and the decision a policy should make.
type Case struct {
	// Name names the subtest.
	Name string
	// Method is the request method; "" means GET.
	Method string
	// Header is the request header, e.g. a caller-supplied Idempotency-Key.
	Header http.Header
	// Status, ResponseHeader and Body describe the response; ignored when
	// Err is set.
	Status         int
	ResponseHeader http.Header
	Body           string
	// Err is a transport error instead of a response.
	Err error
	// Want is the expected decision.
	Want httpx.Decision
}

// Decide returns the decision p makes for c.
func Decide(p httpx.RetryPolicy, c Case) httpx.Decision {
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequest(method, "http://retrytest.invalid/", nil)
	if err != nil {
		panic("retrytest: " + err.Error())
	}
	if c.Header != nil {
		req.Header = c.Header.Clone()
	}
	if c.Err != nil {
		return p.Decide(req, nil, c.Err)
	}
	h := c.ResponseHeader.Clone()
	if h == nil {
		h = http.Header{}
	}
	resp := &http.Response{
		Status:     http.StatusText(c.Status),
		StatusCode: c.Status,
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(c.Body)),
		Request:    req,
	}
	return p.Decide(req, resp, nil)
}

// Run checks each case in a subtest named after it.
func Run(t *testing.T, p httpx.RetryPolicy, cases []Case) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if got := Decide(p, c); got != c.Want {
				t.Errorf("Decide(%s %s) = %v, want %v", methodOf(c), describe(c), got, c.Want)
			}
		})
	}
}

func methodOf(c Case) string {
	if c.Method == "" {
		return http.MethodGet
	}
	return c.Method
}

func describe(c Case) string {
	if c.Err != nil {
		return "error " + c.Err.Error()
	}
	return http.StatusText(c.Status) + " " + c.Body
}

// ConnRefused returns a transport error like the one for a refused
// connection.
func ConnRefused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// ConnReset returns a transport error like the one for a connection reset by
// the peer.
func ConnReset() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// Timeout returns a transport error like the one for an I/O timeout.
func Timeout() error {
	return &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
}
