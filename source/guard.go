package source

import (
	"errors"
	"sync/atomic"
)

// errBusy is what Next or Stats return when called while another goroutine is inside one of
// them: a Source belongs to one worker.
var errBusy = errors.New("source: Next or Stats called concurrently (a Source belongs to one worker goroutine)")

// guard arbitrates, without a lock, between the worker (Next, Stats) and a Close that may come
// from any goroutine. Whichever of them finishes last releases the kernel resources, so a
// socket or ring is never freed under a running Next: Close releases at once when the worker
// is idle, and otherwise leaves it to the worker, which sees the closed bit as it leaves.
// It costs two uncontended compare-and-swaps per Next.
type guard struct{ v atomic.Uint32 }

const (
	gBusy   = 1 << iota // the worker is inside Next or Stats
	gHeld               // the last Next returned bytes that live in the kernel's ring
	gClosed             // Close was called
)

// enter marks the worker busy. It fails with ErrClosed or errBusy. next says the caller is
// Next, which gives up the bytes of the previous packet.
func (g *guard) enter(next bool) error {
	for {
		st := g.v.Load()
		switch {
		case st&gClosed != 0:
			return ErrClosed
		case st&gBusy != 0:
			return errBusy
		}
		nst := st | gBusy
		if next {
			nst &^= gHeld
		}
		if g.v.CompareAndSwap(st, nst) {
			return nil
		}
	}
}

// leave marks the worker idle, holding ring bytes if held. It returns false when Close came
// in the meantime: the worker must then release.
func (g *guard) leave(held bool) bool {
	st := g.v.Load()
	if st&gClosed != 0 {
		return false
	}
	nst := st &^ gBusy
	if held {
		nst |= gHeld
	}
	// Only Close can have changed the state since the Load, and only by setting gClosed.
	return g.v.CompareAndSwap(st, nst)
}

// close sets the closed bit. It returns the state it found and whether this call set the bit:
// the caller releases when it did and the worker was not busy.
func (g *guard) close() (prev uint32, first bool) {
	for {
		st := g.v.Load()
		if st&gClosed != 0 {
			return st, false
		}
		if g.v.CompareAndSwap(st, st|gClosed) {
			return st, true
		}
	}
}

// counters keep a source's Stats where any goroutine may read or update them.
type counters struct{ received, dropped, ifDrops, freezes atomic.Uint64 }

func (c *counters) load() Stats {
	return Stats{Received: c.received.Load(), Dropped: c.dropped.Load(), IfDrops: c.ifDrops.Load(), Freezes: c.freezes.Load()}
}

func (c *counters) store(s Stats) {
	c.received.Store(s.Received)
	c.dropped.Store(s.Dropped)
	c.ifDrops.Store(s.IfDrops)
	c.freezes.Store(s.Freezes)
}
