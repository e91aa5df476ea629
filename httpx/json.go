package httpx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
)

// contentTypeJSON is the Content-Type of every JSON answer.
const contentTypeJSON = "application/json; charset=utf-8"

// WriteJSON encodes v as JSON and writes it with status. The Content-Type is
// set to "application/json; charset=utf-8" unless the handler already set
// one. v is encoded into a buffer before anything is written, so an encoding
// error writes nothing and is returned (wrapped): the caller can still answer
// with [WriteError]. Like encoding/json's Encoder the body ends with a
// newline. An error from the underlying Write is returned as is.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	buf := getBuffer()
	defer putBuffer(buf)
	enc := json.NewEncoder(buf)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("httpx: encode json: %w", err)
	}
	h := w.Header()
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", contentTypeJSON)
	}
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// maxPooledBuffer caps the capacity of a buffer returned to the pool, so one
// huge response does not pin its memory.
const maxPooledBuffer = 64 << 10

var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer { return bufferPool.Get().(*bytes.Buffer) }

func putBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledBuffer {
		return
	}
	b.Reset()
	bufferPool.Put(b)
}
