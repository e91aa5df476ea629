package middleware

import "time"

// maxExpiryQueues bounds the expiry queues of a shard: one per time to
// live in use, and callers use a few (the processing and completed TTLs of
// each configuration sharing the store).
const maxExpiryQueues = 8

// expiryQueue is a doubly linked list of a shard's entries in expiry
// order. Entries given the same time to live expire in the order they are
// written, so with one queue per time to live an entry joins at the tail
// and the entry expiring first is at a queue's head: writing and sweeping
// cost O(1), where a heap over all entries (processing records expiring in
// seconds among completed ones expiring in a day) moved every new entry up
// and every completed one down through O(log n) slots, each a cache miss in
// a large store.
type expiryQueue struct {
	ttl        time.Duration
	head, tail slotRef
}

// requeue moves e, whose exp was set from ttl, to its place in the expiry
// order.
func (sh *memoryShard) requeue(e *memorySlot, ttl time.Duration) {
	sh.dequeue(e)
	sh.enqueue(e, ttl)
}

// first returns the entry that expires first, or nil when there is none.
func (sh *memoryShard) first() *memorySlot {
	var first *memorySlot
	for i := range sh.queues {
		if h := sh.slots.at(sh.queues[i].head); h != nil && (first == nil || h.exp < first.exp) {
			first = h
		}
	}
	return first
}

// enqueue links e into the queue of ttl. It walks back from the tail past
// entries expiring later, so every queue stays in expiry order even when
// the clock moves back or entries of other times to live share a queue;
// usually it stops at once.
func (sh *memoryShard) enqueue(e *memorySlot, ttl time.Duration) {
	sh.earliest = min(sh.earliest, e.exp)
	e.q = int32(sh.queueFor(ttl))
	q := &sh.queues[e.q]
	after := sh.slots.at(q.tail)
	for after != nil && after.exp > e.exp {
		after = sh.slots.at(after.prev)
	}
	if after == nil {
		e.prev, e.next, q.head = 0, q.head, e.self
	} else {
		e.prev, e.next, after.next = after.self, after.next, e.self
	}
	if e.next == 0 {
		q.tail = e.self
	} else {
		sh.slots.at(e.next).prev = e.self
	}
}

func (sh *memoryShard) dequeue(e *memorySlot) {
	q := &sh.queues[e.q]
	if e.prev == 0 {
		q.head = e.next
	} else {
		sh.slots.at(e.prev).next = e.next
	}
	if e.next == 0 {
		q.tail = e.prev
	} else {
		sh.slots.at(e.next).prev = e.prev
	}
	e.prev, e.next = 0, 0
}

// queueFor returns the index of the queue for ttl: its own, an empty one
// taken over, a new one, or, past maxExpiryQueues, the queue of the
// nearest time to live (still ordered, by enqueue's walk).
func (sh *memoryShard) queueFor(ttl time.Duration) int {
	free, nearest := -1, 0
	for i := range sh.queues {
		q := &sh.queues[i]
		switch {
		case q.ttl == ttl:
			return i
		case q.head == 0 && free < 0:
			free = i
		}
		if (q.ttl - ttl).Abs() < (sh.queues[nearest].ttl - ttl).Abs() {
			nearest = i
		}
	}
	switch {
	case free >= 0:
		sh.queues[free].ttl = ttl
		return free
	case len(sh.queues) < maxExpiryQueues:
		sh.queues = append(sh.queues, expiryQueue{ttl: ttl})
		return len(sh.queues) - 1
	}
	return nearest
}
