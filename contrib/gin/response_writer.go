package idemgin

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"
)

// noWritten is the size of a response whose header is not written yet, as
// in gin.
const noWritten = -1

var errHijackAfterBody = errors.New("idemgin: hijack: response body already written")

var _ gin.ResponseWriter = (*responseWriter)(nil)

// responseWriter is the gin.ResponseWriter the chain gets inside a net/http
// middleware's boundary: gin's own semantics (WriteHeader only records the
// status; the header goes out with WriteHeaderNow, the first Write or
// Flush) over the writer the middleware hands on.
//
// With holdErrors, a header-only answer of status 400 or more
// (c.AbortWithStatus(401), c.AbortWithError(...)) is held, not written: for
// the chain it is written (Written reports true, Size 0), and the adapter
// answers it in the standard body when the chain returns without writing a
// body (see [Middleware]).
type responseWriter struct {
	w          http.ResponseWriter
	ctx        context.Context // the request's, for the CloseNotify fallback
	status     int
	inherited  int  // the status the outer writer had, to tell a change
	size       int  // body bytes written, or noWritten
	holdErrors bool // hold header-only answers of status >= 400
	held       bool // such an answer is held: written for gin, not for w
	hijacked   bool
}

func newResponseWriter(w http.ResponseWriter, ctx context.Context, status int, holdErrors bool) *responseWriter {
	return &responseWriter{w: w, ctx: ctx, status: status, inherited: status, size: noWritten, holdErrors: holdErrors}
}

// Unwrap returns the middleware's writer, for http.ResponseController.
func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// Header returns the header map of the middleware's writer.
func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

// WriteHeader records the status, as gin's writer does: it is written by
// WriteHeaderNow, Write or Flush. Once the header is written a different
// status is ignored. 1xx informational codes (103 Early Hints) go out at
// once and are never the final status.
func (rw *responseWriter) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		if !rw.Written() {
			rw.w.WriteHeader(code)
		}
		return
	}
	if code > 0 && rw.status != code && !rw.Written() {
		rw.status = code
	}
}

// WriteHeaderNow writes the header with the recorded status, unless it is
// written already (or held, see responseWriter).
func (rw *responseWriter) WriteHeaderNow() {
	if rw.Written() {
		return
	}
	rw.size = 0
	if rw.holdErrors && rw.status >= http.StatusBadRequest {
		rw.held = true
		return
	}
	rw.w.WriteHeader(rw.status)
}

// sendHeader writes the header now, a held one too: the body follows.
func (rw *responseWriter) sendHeader() {
	rw.WriteHeaderNow()
	if rw.held {
		rw.held = false
		rw.w.WriteHeader(rw.status)
	}
}

// Write writes the header if needed, then data.
func (rw *responseWriter) Write(data []byte) (int, error) {
	rw.sendHeader()
	n, err := rw.w.Write(data)
	rw.size += n
	return n, err
}

// WriteString writes the header if needed, then s.
func (rw *responseWriter) WriteString(s string) (int, error) {
	rw.sendHeader()
	n, err := io.WriteString(rw.w, s)
	rw.size += n
	return n, err
}

// Status returns the response's status: the one recorded, or the outer
// writer's until the chain sets one.
func (rw *responseWriter) Status() int { return rw.status }

// Size returns the body bytes written: -1 before the header is written, 0
// after a header-only write.
func (rw *responseWriter) Size() int { return rw.size }

// Written reports whether the header was written (as gin counts it: a held
// header too).
func (rw *responseWriter) Written() bool { return rw.size != noWritten }

// Flush writes the header if needed and flushes the response to the client.
// It does nothing when no writer below can flush.
func (rw *responseWriter) Flush() {
	rw.sendHeader()
	_ = http.NewResponseController(rw.w).Flush()
}

// Hijack lets the caller take over the connection, as gin allows: before
// any body byte was written (a written or held header is sent first). It
// returns an error matching http.ErrNotSupported where the connection
// cannot be hijacked (HTTP/2).
func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rw.size > 0 {
		return nil, nil, errHijackAfterBody
	}
	if rw.held {
		rw.sendHeader()
	}
	conn, brw, err := http.NewResponseController(rw.w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	rw.hijacked = true
	if rw.size < 0 {
		rw.size = 0
	}
	return conn, brw, nil
}

// CloseNotify returns a channel that receives true when the client's
// connection goes away: the server's own notification when the writer at
// the bottom of the chain has one, else the end of the request's context.
// (New code watches the request's context; gin's c.Stream uses this.)
func (rw *responseWriter) CloseNotify() <-chan bool {
	if cn, ok := base(rw.w).(interface{ CloseNotify() <-chan bool }); ok {
		return cn.CloseNotify()
	}
	ch := make(chan bool, 1)
	context.AfterFunc(rw.ctx, func() { ch <- true })
	return ch
}

// Pusher returns the HTTP/2 server push of the connection, or nil when
// there is none (HTTP/1).
func (rw *responseWriter) Pusher() http.Pusher {
	if p, ok := base(rw.w).(http.Pusher); ok {
		return p
	}
	return nil
}

// sent reports whether anything of the response went to the middleware's
// writer (or the connection was hijacked).
func (rw *responseWriter) sent() bool {
	return rw.hijacked || rw.Written() && !rw.held
}

// base returns the writer at the bottom of w's Unwrap chain: the server's
// own, whose optional interfaces say what the connection can do.
func base(w http.ResponseWriter) http.ResponseWriter {
	for range 32 { // bounded: a broken Unwrap chain must not loop forever
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return w
		}
		next := u.Unwrap()
		if next == nil {
			return w
		}
		w = next
	}
	return w
}
