package recorder

import (
	"net/http"
	"sync"
)

const (
	// initialBufSize is the capacity of a new capture buffer.
	initialBufSize = 4 << 10
	// maxPooledBufSize caps the capacity of buffers returned to the pool, so
	// one large response does not pin its memory for the life of the process.
	maxPooledBufSize = 64 << 10
)

// maxPooledSnapshot caps the header maps returned to the pool: a map keeps
// its table when cleared.
const maxPooledSnapshot = 32

var snapshotPool = sync.Pool{New: func() any { return make(http.Header, 8) }}

// snapshot returns a copy of h in a pooled map. The values are copied into
// one new array, which is never pooled, so slices of it may be handed on.
func snapshot(h http.Header) http.Header {
	s := snapshotPool.Get().(http.Header)
	setValues(s, h)
	return s
}

// copyInto returns a copy of src, made in dst (cleared) when dst is small
// enough to reuse, as putSnapshot decides for pooled maps, and in a new map
// otherwise. The values are copied into one new array, as in snapshot.
func copyInto(dst, src http.Header) http.Header {
	if dst == nil || len(dst) > maxPooledSnapshot {
		dst = make(http.Header, len(src))
	} else {
		clear(dst)
	}
	if len(src) > 0 {
		setValues(dst, src)
	}
	return dst
}

func putSnapshot(s http.Header) {
	if len(s) > maxPooledSnapshot {
		return
	}
	clear(s)
	snapshotPool.Put(s)
}

var bufPool = sync.Pool{
	New: func() any {
		b := make([]byte, 0, initialBufSize)
		return &b
	},
}

func getBuf() *[]byte {
	return bufPool.Get().(*[]byte)
}

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBufSize {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}
