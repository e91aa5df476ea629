package httpx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
)

// replayBody hands out the request body of each attempt: the caller's body
// first, then fresh copies from GetBody or from a buffer.
type replayBody struct {
	first      io.ReadCloser
	getBody    func() (io.ReadCloser, error)
	length     int64
	replayable bool
	limit      int64 // MaxBufferedBody, for error messages
	used       bool
}

// newReplayBody prepares req's body for replay. A body without GetBody is
// read up to limit bytes; if it is longer, or limit is negative, it is sent
// once. On error req.Body is closed.
func newReplayBody(req *http.Request, limit int64) (*replayBody, error) {
	b := &replayBody{first: req.Body, getBody: req.GetBody, length: req.ContentLength, limit: limit}
	switch {
	case req.Body == nil || req.Body == http.NoBody || req.GetBody != nil:
		b.replayable = true
		return b, nil
	case limit < 0:
		return b, nil
	}
	buf, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		req.Body.Close()
		return nil, fmt.Errorf("httpx: reading request body: %w", err)
	}
	if int64(len(buf)) > limit {
		b.first = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(buf), req.Body), c: req.Body}
		b.getBody = nil
		return b, nil
	}
	if err := req.Body.Close(); err != nil {
		return nil, fmt.Errorf("httpx: closing request body: %w", err)
	}
	b.replayable = true
	if len(buf) == 0 {
		b.first, b.length = http.NoBody, 0
		b.getBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return b, nil
	}
	b.getBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	b.first, _ = b.getBody()
	if b.length <= 0 {
		b.length = int64(len(buf))
	}
	return b, nil
}

// next returns the body for the next attempt.
func (b *replayBody) next() (io.ReadCloser, error) {
	if !b.used {
		b.used = true
		return b.first, nil
	}
	if b.first == nil || b.first == http.NoBody {
		return b.first, nil
	}
	if b.getBody == nil {
		return nil, ErrBodyNotReplayable
	}
	body, err := b.getBody()
	if err != nil {
		return nil, fmt.Errorf("%w: GetBody: %w", ErrBodyNotReplayable, err)
	}
	return body, nil
}

// notReplayable explains why the body cannot be sent again.
func (b *replayBody) notReplayable() error {
	if b.limit < 0 {
		return fmt.Errorf("%w: it has no GetBody and buffering is off; it was sent once", ErrBodyNotReplayable)
	}
	return fmt.Errorf("%w: it has no GetBody and is larger than %d bytes; it was sent once", ErrBodyNotReplayable, b.limit)
}

// closeUnused closes the caller's body when no attempt took it, as the
// RoundTripper contract requires.
func (b *replayBody) closeUnused() {
	if !b.used && b.first != nil {
		b.used = true
		b.first.Close()
	}
}

type prefixedBody struct {
	io.Reader
	c io.Closer
}

func (m *prefixedBody) Close() error { return m.c.Close() }
