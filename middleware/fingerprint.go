package middleware

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/idemkit/idemkit/recorder"
)

// errBodyTooLarge reports a request body over the fingerprint limit.
var errBodyTooLarge = errors.New("request body exceeds the idempotency fingerprint limit")

// requestPrint holds what the middleware reads of a request: the framed
// fields that the fingerprint covers, followed by the body. The handler
// reads the body from the same buffer, so it is read from the client once
// and never copied.
type requestPrint struct {
	buf     []byte
	bodyOff int // buf[bodyOff:] is the body

	// rec is the request's scratch record: its claim, then its final
	// record. Stores copy what they keep, so it is reused with p.
	rec Record

	// resp and reader are the handler's ResponseWriter and request body
	// when it runs. net/http forbids using either after the handler
	// returns, so they are reused with p; resp keeps its header map.
	resp   recorder.Recorder
	reader bodyReader
}

var printPool = sync.Pool{New: func() any { return &requestPrint{buf: make([]byte, 0, 4096)} }}

// maxPooledPrint caps the buffers kept in the pool, so one large request
// does not pin a megabyte for the life of the process.
const maxPooledPrint = 64 << 10

// readPrint reads the request body (at most limit bytes) behind the
// length-prefixed method, path, raw query and scope. Length prefixes make
// the framing unambiguous ("ab"+"c" differs from "a"+"bc"). Headers,
// Content-Type included, are not part of the fingerprint; the query is taken
// as sent, so a reordered query is a different request.
func readPrint(method, path, rawQuery, scope string, body io.Reader, limit int64) (*requestPrint, error) {
	p := printPool.Get().(*requestPrint)
	b := p.buf[:0]
	b = appendField(b, method)
	b = appendField(b, path)
	b = appendField(b, rawQuery)
	b = appendField(b, scope)
	lenOff := len(b)
	b = append(b, make([]byte, 8)...)
	p.bodyOff = len(b)
	if body != nil {
		var err error
		b, err = readLimited(b, body, limit)
		p.buf = b
		if err != nil {
			p.release()
			return nil, err
		}
	}
	binary.BigEndian.PutUint64(b[lenOff:], uint64(len(b)-p.bodyOff))
	p.buf = b
	return p, nil
}

// readLimited appends r to b, failing with errBodyTooLarge past limit bytes.
func readLimited(b []byte, r io.Reader, limit int64) ([]byte, error) {
	start := len(b)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)-start) > limit {
			return b, errBodyTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(len(s)))
	return append(b, s...)
}

// sum returns the SHA-256 fingerprint of the request.
func (p *requestPrint) sum() [32]byte { return sha256.Sum256(p.buf) }

// body returns the request body that was read.
func (p *requestPrint) body() []byte { return p.buf[p.bodyOff:] }

func (p *requestPrint) release() {
	if cap(p.buf) > maxPooledPrint {
		return
	}
	p.buf = p.buf[:0]
	p.rec = Record{} // keeps no response headers or body alive in the pool
	printPool.Put(p)
}
