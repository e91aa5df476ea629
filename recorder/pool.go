package recorder

import "sync"

const (
	// initialBufSize is the capacity of a new capture buffer.
	initialBufSize = 4 << 10
	// maxPooledBufSize caps the capacity of buffers returned to the pool, so
	// one large response does not pin its memory for the life of the process.
	maxPooledBufSize = 64 << 10
)

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
