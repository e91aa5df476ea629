package middleware

// slabChunk is the number of slots a shard's slab adds at a time.
const slabChunk = 256

// maxSlots bounds a shard's slots so that every slotRef fits in 32 bits.
const maxSlots = 1<<31 - 1

// slotRef names a slot of a shard's slab as its index plus one, so that
// the zero slotRef is no slot.
type slotRef uint32

// memorySlot is one record of a MemoryStore shard. Slots live in the
// shard's slab and refer to each other by slotRef, not by pointer, the
// shard's map holds slotRefs, and the record's bytes live in the shard's
// arena (store_memory_arena.go): a slot holds no pointer, so the garbage
// collector neither marks nor scans anything per record. A large store is
// live heap that every collection would otherwise walk, and it grows with
// the request rate.
type memorySlot struct {
	exp    int64  // nanoseconds since MemoryStore.base
	chunk  uint32 // the record's arena chunk and offset
	off    uint32
	klen   uint32 // the record: klen bytes of key, then vlen bytes of encoded record
	vlen   uint32
	bucket uint32 // the shard's map key (bucketOf the key's hash)
	self   slotRef
	same   slotRef // the next slot in the same bucket
	prev   slotRef // neighbours in the expiry queue (store_memory_expiry.go)
	next   slotRef // the same, or the next free slot while free
	q      int32   // index of the shard's expiry queue holding the slot
}

// slab holds a shard's slots in fixed-size chunks that never move, so a
// *memorySlot stays valid while the slot is in use. Free slots are chained
// through next. Chunks are kept once allocated: the slab stays at the
// shard's peak record count, which WithMaxEntries bounds.
type slab struct {
	chunks [][]memorySlot
	free   slotRef
	used   int // slots ever handed out, free or not
}

// at returns the slot r, or nil for the zero slotRef.
func (s *slab) at(r slotRef) *memorySlot {
	if r == 0 {
		return nil
	}
	i := int(r - 1)
	return &s.chunks[i/slabChunk][i%slabChunk]
}

// lookup returns the slot r if it was ever handed out, else nil: for a
// slotRef kept outside the shard, checked before it is trusted.
func (s *slab) lookup(r slotRef) *memorySlot {
	if r == 0 || int(r) > s.used {
		return nil
	}
	return s.at(r)
}

// alloc returns a zeroed slot with self set, or nil when the shard has
// maxSlots slots in use.
func (s *slab) alloc() *memorySlot {
	if r := s.free; r != 0 {
		e := s.at(r)
		s.free = e.next
		*e = memorySlot{self: r}
		return e
	}
	if s.used == maxSlots {
		return nil
	}
	if s.used%slabChunk == 0 {
		s.chunks = append(s.chunks, make([]memorySlot, slabChunk))
	}
	s.used++
	e := s.at(slotRef(s.used))
	e.self = slotRef(s.used)
	return e
}

// release frees e; its record must be freed first.
func (s *slab) release(e *memorySlot) {
	r := e.self
	*e = memorySlot{next: s.free}
	s.free = r
}
