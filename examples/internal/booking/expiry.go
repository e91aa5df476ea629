package booking

import (
	"container/heap"
	"time"
)

// deadline is a reservation waiting to expire.
type deadline struct {
	at time.Time
	b  *Booking
}

// deadlines is a min-heap of reservations by deadline. Entries of bookings
// confirmed or cancelled in the meantime stay until their deadline and are
// then dropped.
type deadlines []deadline

func (d deadlines) Len() int           { return len(d) }
func (d deadlines) Less(i, j int) bool { return d[i].at.Before(d[j].at) }
func (d deadlines) Swap(i, j int)      { d[i], d[j] = d[j], d[i] }
func (d *deadlines) Push(x any)        { *d = append(*d, x.(deadline)) }
func (d *deadlines) Pop() any {
	old := *d
	n := len(old) - 1
	x := old[n]
	old[n] = deadline{}
	*d = old[:n]
	return x
}

// expireDue expires every reservation whose deadline is at or before now and
// returns its seats. The caller holds s.mu.
func (s *Service) expireDue(now time.Time) {
	for len(s.deadlines) > 0 && !now.Before(s.deadlines[0].at) {
		d := heap.Pop(&s.deadlines).(deadline)
		if d.b.Status == StatusReserved {
			d.b.Status = StatusExpired
			s.release(d.b)
		}
	}
}
