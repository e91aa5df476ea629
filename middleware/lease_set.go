package middleware

import (
	"sync"
	"sync/atomic"
	"time"
)

// leaseShards spreads the running leases over independently locked lists,
// so requests on different CPUs do not queue on one lock to start and stop
// their leases.
const leaseShards = 16

// leaseSet holds the leases of one middleware whose handlers are running,
// and renews them with one timer for all of them. A per-request timer cost
// an allocation and a timer-heap insert and delete on every first request,
// though nearly every request ends long before its first renewal is due;
// joining and leaving the set is a short locked list operation.
//
// The timer fires every tick while the set is not empty and starts each
// due renewal on a goroutine of its own, as per-request timers did, so a
// slow store delays no other lease. A renewal is due renewEvery after the
// last one (or after the claim), and runs at most one tick late.
type leaseSet struct {
	tick   time.Duration
	timer  *time.Timer
	armed  atomic.Bool // the timer is set, or its function is running and will look again
	shards [leaseShards]leaseShard
}

type leaseShard struct {
	mu   sync.Mutex
	head *lease
	_    [48]byte // with mu and head: one 64-byte cache line per shard
}

// init prepares s for leases renewed every renewEvery.
func (s *leaseSet) init(renewEvery time.Duration) {
	s.tick = max(min(renewEvery/4, time.Second), 100*time.Microsecond)
	s.timer = time.AfterFunc(time.Hour, s.scan)
	s.timer.Stop()
}

// add puts l in the set, in the shard the key picks (the last byte of a
// storage key is hash output), and makes sure the timer runs.
func (s *leaseSet) add(l *lease) {
	l.shard = &s.shards[int(l.key[len(l.key)-1])%leaseShards]
	sh := l.shard
	sh.mu.Lock()
	l.next = sh.head
	if sh.head != nil {
		sh.head.prev = l
	}
	sh.head = l
	sh.mu.Unlock()
	// Load first: a compare-and-swap takes the cache line exclusively even
	// when it fails, and every request of every core passes here.
	if !s.armed.Load() && s.armed.CompareAndSwap(false, true) {
		s.timer.Reset(s.tick)
	}
}

// remove takes l out of the set; it may be called once l was added.
func (s *leaseSet) remove(l *lease) {
	sh := l.shard
	sh.mu.Lock()
	if l.prev != nil {
		l.prev.next = l.next
	} else if sh.head == l {
		sh.head = l.next
	}
	if l.next != nil {
		l.next.prev = l.prev
	}
	l.prev, l.next = nil, nil
	sh.mu.Unlock()
}

// scan starts the renewals that are due and sets the timer again while
// leases remain. armed is cleared before the lists are read: a lease added
// after that arms the timer itself, one added before is seen here.
func (s *leaseSet) scan() {
	s.armed.Store(false)
	now := time.Now()
	var due []*lease
	remain := false
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		for l := sh.head; l != nil; l = l.next {
			remain = true
			if l.takeIfDue(now) {
				due = append(due, l)
			}
		}
		sh.mu.Unlock()
	}
	if remain && s.armed.CompareAndSwap(false, true) {
		s.timer.Reset(s.tick)
	}
	for _, l := range due {
		go l.renew()
	}
}
