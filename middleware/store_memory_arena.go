package middleware

import "encoding/binary"

// A MemoryStore shard keeps the bytes of its records (key and encoded
// record, back to back) in an arena of large byte chunks rather than as a
// string and a slice per record. Chunks hold no pointers, and neither do
// the slots that refer into them, so the garbage collector sees a few
// chunks per shard where it saw two objects per record: a store of a
// million records was two million objects that every collection marked,
// a cache miss each, and the store is the largest live structure of a
// process that uses it.
//
// The arena is log-structured. Each shard has two logs, one for
// processing records and one for final (completed, tombstone) records:
// a record is appended to its log's current chunk, and freeing it only
// counts its bytes as dead. Records of one log die in roughly the order
// they were written — claims are completed within the handler's time,
// final records expire in order of their time to live — so chunks usually
// die whole and are released without copying anything. A chunk that is no
// longer current and is more than half dead is compacted when one of its
// records is freed: its live records move to the current chunk, and it is
// released. The chunks therefore hold at most about twice the bytes of
// the live records, plus one partly written chunk per log.
const (
	arenaChunkSize = 32 << 10
	// arenaFirstChunk is the size of a log's first chunk; each next one
	// doubles up to arenaChunkSize, so that a store holding a few records
	// holds a few small chunks.
	arenaFirstChunk = 2 << 10
	// arenaOwnChunk is the size above which a record gets a chunk of its
	// own, so that a large response never strands a mostly empty chunk
	// and a compaction never moves more than half a chunk.
	arenaOwnChunk = arenaChunkSize / 4
	// arenaHeaderLen precedes every record in a chunk: its length (key
	// and value) and the slot that owns it (0 once freed), so that a
	// compaction can walk a chunk and find the slot of each live record.
	arenaHeaderLen = 8
	// arenaMaxRecord bounds a record's length so it fits the header.
	arenaMaxRecord = 1<<32 - 1 - arenaHeaderLen
)

// Logs of a shard's arena.
const (
	logProcessing = iota
	logFinal
	arenaLogs
)

// logOf returns the log that holds the encoded record val.
func logOf(val []byte) int {
	if len(val) > 1 && val[1] == byte(StateProcessing) {
		return logProcessing
	}
	return logFinal
}

type arenaChunk struct {
	buf  []byte // records back to back; nil once released
	dead int    // bytes of freed records, headers included
}

// arena is the record memory of one shard (the shard's lock guards it).
type arena struct {
	chunks []arenaChunk
	free   []uint32       // indices of released chunks, reused first
	cur    [arenaLogs]int // each log's current chunk index plus one (0: none)
	held   int64          // bytes of chunk memory allocated (capacity), spare included
	// spare is the buffer of the last full-size chunk released, reused by
	// the next chunk: the processing log, whose chunks die whole within
	// moments, then allocates nothing.
	spare []byte
}

// put copies key and val into log l as one record owned by e, and points
// e at it. The caller has checked that len(key)+len(val) <= arenaMaxRecord.
func (sh *memoryShard) put(l int, e *memorySlot, key string, val []byte) {
	dst := sh.alloc(l, e, len(key)+len(val))
	copy(dst[copy(dst, key):], val)
	e.klen, e.vlen = uint32(len(key)), uint32(len(val))
}

// alloc reserves n bytes in log l for a record owned by e, points e at
// them and returns them.
func (sh *memoryShard) alloc(l int, e *memorySlot, n int) []byte {
	a := &sh.arena
	size := arenaHeaderLen + n
	var c int
	if size > arenaOwnChunk {
		c = a.newChunk(size)
	} else {
		c = a.cur[l] - 1
		if c < 0 || len(a.chunks[c].buf)+size > cap(a.chunks[c].buf) {
			next := arenaFirstChunk
			if c >= 0 {
				next = min(2*cap(a.chunks[c].buf), arenaChunkSize)
				a.cur[l] = 0
				a.releaseIfDead(c)
			}
			if next < size {
				next = arenaChunkSize
			}
			c = a.newChunk(next)
			a.cur[l] = c + 1
		}
	}
	ch := &a.chunks[c]
	off := len(ch.buf)
	ch.buf = ch.buf[:off+size]
	binary.LittleEndian.PutUint32(ch.buf[off:], uint32(n))
	binary.LittleEndian.PutUint32(ch.buf[off+4:], uint32(e.self))
	e.chunk, e.off = uint32(c), uint32(off)
	return ch.buf[off+arenaHeaderLen : off+size]
}

// newChunk returns the index of an empty chunk of capacity size.
func (a *arena) newChunk(size int) int {
	var buf []byte
	if size == arenaChunkSize && a.spare != nil {
		buf, a.spare = a.spare, nil // its old bytes are never read: only what is written is
	} else {
		buf = make([]byte, 0, size)
		a.held += int64(cap(buf))
	}
	if n := len(a.free); n > 0 {
		c := int(a.free[n-1])
		a.free = a.free[:n-1]
		a.chunks[c] = arenaChunk{buf: buf}
		return c
	}
	a.chunks = append(a.chunks, arenaChunk{buf: buf})
	return len(a.chunks) - 1
}

// releaseIfDead releases chunk c, which is no log's current chunk, when
// every record in it was freed, and reports whether it did.
func (a *arena) releaseIfDead(c int) bool {
	ch := &a.chunks[c]
	if ch.dead < len(ch.buf) {
		return false
	}
	if cap(ch.buf) == arenaChunkSize && a.spare == nil {
		a.spare = ch.buf[:0]
	} else {
		a.held -= int64(cap(ch.buf))
	}
	*ch = arenaChunk{}
	a.free = append(a.free, uint32(c))
	return true
}

// record returns e's record: key, then value.
func (sh *memoryShard) record(e *memorySlot) []byte {
	off := int(e.off) + arenaHeaderLen
	return sh.arena.chunks[e.chunk].buf[off : off+int(e.klen)+int(e.vlen)]
}

// keyOf returns e's key, sharing the arena's memory: compare it, never
// keep it.
func (sh *memoryShard) keyOf(e *memorySlot) []byte { return sh.record(e)[:e.klen] }

// valOf returns e's encoded record, sharing the arena's memory: read it
// under the shard's lock, never keep it.
func (sh *memoryShard) valOf(e *memorySlot) []byte { return sh.record(e)[e.klen:] }

// free frees e's record. A chunk left more than half dead, and no log's
// current chunk, is compacted: its live records move to their log's
// current chunk (their slots follow), and it is released.
func (sh *memoryShard) free(e *memorySlot) {
	a := &sh.arena
	c := int(e.chunk)
	ch := &a.chunks[c]
	binary.LittleEndian.PutUint32(ch.buf[e.off+4:], 0)
	ch.dead += arenaHeaderLen + int(e.klen) + int(e.vlen)
	if c == a.cur[logProcessing]-1 || c == a.cur[logFinal]-1 || a.releaseIfDead(c) || 2*ch.dead <= len(ch.buf) {
		return
	}
	buf := ch.buf
	for off := 0; off < len(buf); {
		n := int(binary.LittleEndian.Uint32(buf[off:]))
		if owner := slotRef(binary.LittleEndian.Uint32(buf[off+4:])); owner != 0 {
			live := sh.slots.at(owner)
			body := buf[off+arenaHeaderLen : off+arenaHeaderLen+n]
			copy(sh.alloc(logOf(body[live.klen:]), live, n), body)
		}
		off += arenaHeaderLen + n
	}
	a.chunks[c].dead = len(buf)
	a.releaseIfDead(c)
}
