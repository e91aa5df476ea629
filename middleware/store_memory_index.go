package middleware

// slotIndex is a MemoryStore shard's hash table from keys to slots: open
// addressing with linear probing over a power-of-two array of uint64
// entries, each a key's bucket (the high 32 bits of its hash) over its
// slotRef, 0 for empty. Keys that share a bucket take entries of their
// own, next to each other, and a lookup compares the keys of the entries
// whose bucket matches.
//
// It replaces a Go map from bucket to slot because every claim of a new
// key looks up a key that is not there, in a table far larger than the
// caches: a probe here is one load from the entry array (a group of 8
// entries per cache line), where the map's went through its directory and
// table headers to a group of control bytes and slots. Profiles under
// new-key load had the map lookup as the largest single cost of the store.
//
// Growing doubles the array and re-places every entry under the shard's
// lock: about 5 ns an entry, so 20 µs for a shard of 4 096 records (a
// store of 256k) and 1 ms for 200k (13M). Deleting shifts the following
// entries back (no tombstones), so probe sequences stay as short as the
// load factor (at most 3/4) makes them.
type slotIndex struct {
	e     []uint64
	count int
}

// indexMinSize is the entry count of a shard's first index array.
const indexMinSize = 8

func indexEntry(bucket uint32, r slotRef) uint64 { return uint64(bucket)<<32 | uint64(r) }

// lookup returns the slot of key, whose hash is h, or nil.
func (sh *memoryShard) lookup(h uint64, key string) *memorySlot {
	x := &sh.index
	if len(x.e) == 0 {
		return nil
	}
	b := bucketOf(h)
	mask := uint32(len(x.e) - 1)
	for i := b & mask; ; i = (i + 1) & mask {
		v := x.e[i]
		if v == 0 {
			return nil
		}
		if uint32(v>>32) == b {
			if e := sh.slots.at(slotRef(v)); string(sh.keyOf(e)) == key {
				return e
			}
		}
	}
}

// add enters e, whose key is not in the index.
func (x *slotIndex) add(e *memorySlot) {
	if (x.count+1)*4 > len(x.e)*3 {
		x.grow()
	}
	x.place(indexEntry(e.bucket, e.self))
	x.count++
}

// place puts entry v in the first empty entry of its probe sequence.
func (x *slotIndex) place(v uint64) {
	mask := uint32(len(x.e) - 1)
	i := uint32(v>>32) & mask
	for x.e[i] != 0 {
		i = (i + 1) & mask
	}
	x.e[i] = v
}

func (x *slotIndex) grow() {
	old := x.e
	x.e = make([]uint64, max(indexMinSize, 2*len(old)))
	for _, v := range old {
		if v != 0 {
			x.place(v)
		}
	}
}

// remove takes e, which is in the index, out of it. Entries after it in
// its run move back into the gap when their probe sequence allows, so
// that an empty entry still ends every probe sequence.
func (x *slotIndex) remove(e *memorySlot) {
	mask := uint32(len(x.e) - 1)
	v := indexEntry(e.bucket, e.self)
	i := e.bucket & mask
	for x.e[i] != v {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		w := x.e[j]
		if w == 0 {
			break
		}
		// w may fill the gap at i unless its home lies cyclically in (i, j]:
		// then a lookup for it would start after the gap.
		home := uint32(w>>32) & mask
		if (i < j && i < home && home <= j) || (i > j && (i < home || home <= j)) {
			continue
		}
		x.e[i] = w
		i = j
	}
	x.e[i] = 0
	x.count--
}
