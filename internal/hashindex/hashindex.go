// Package hashindex is the open-addressing hash index that the flow table and the
// defragmenter keep over their preallocated slots.
//
// An Index maps 32-bit hashes to slot numbers. It stores no keys: Lookup yields the slots filed
// under a hash, in probe order, and the caller compares its own keys to pick the one it wants.
// The table is a power of two of 64-bit entries, hash<<32 | slot+1, 0 meaning empty (an entry
// is never 0, whatever the hash, since slot+1 is not). Collisions are resolved by linear
// probing, and Remove shifts the rest of the probe run back (backward-shift deletion), so there
// are no tombstones and a run always ends at an empty entry.
//
// Nothing allocates after New, and the table never grows: it is sized for a number of slots
// given up front, at a load factor of at most 1/2 so probe runs stay short. Not safe for
// concurrent use.
package hashindex

import (
	"unsafe"

	"github.com/ids-sensor/ids/internal/prefetch"
)

// Index is the table of entries. It is a plain slice, so that a caller's tests can range over
// the entries (to see that none is left behind, say), and copies of an Index share its table.
// The zero Index is not usable; make one with New.
type Index []uint64

// New returns an index for up to slots entries at once (at least 1): a table of the smallest
// power of two of at least 2*slots entries.
func New(slots int) Index {
	slots = max(slots, 1)
	size := 2
	for size < 2*slots {
		size <<= 1
	}
	return make(Index, size)
}

func (x *Index) mask() uint32 { return uint32(len(*x) - 1) }

// Insert files slot under hash h. slot must be non-negative and not filed already, and the
// index holds at most as many entries as New was given slots.
func (x *Index) Insert(h uint32, slot int32) {
	t, mask := *x, x.mask()
	i := h & mask
	for t[i] != 0 {
		i = (i + 1) & mask
	}
	t[i] = uint64(h)<<32 | uint64(uint32(slot)+1)
}

// Remove deletes slot, filed under hash h, and moves the entries after it in the probe run back
// where their own probe sequences still find them. It panics if slot is not filed under h.
func (x *Index) Remove(h uint32, slot int32) {
	t, mask := *x, x.mask()
	want := uint64(h)<<32 | uint64(uint32(slot)+1)
	i := h & mask
	for t[i] != want {
		if t[i] == 0 {
			panic("hashindex: Remove of an entry that is not in the index")
		}
		i = (i + 1) & mask
	}
	for {
		t[i] = 0
		j := i
		for {
			j = (j + 1) & mask
			e := t[j]
			if e == 0 {
				return
			}
			home := uint32(e>>32) & mask
			// e may move to i only if its home is not in (i, j] (cyclically).
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				t[i] = e
				i = j
				break
			}
		}
	}
}

// Lookup returns a cursor over the slots filed under hash h.
func (x *Index) Lookup(h uint32) Cursor {
	return Cursor{x: x, h: h, i: h & x.mask()}
}

// Cursor walks the probe run of one hash. Use it right after Lookup: an Insert or Remove in
// between may make it skip or repeat slots. It holds a pointer to its Index, not a copy of the
// slice: that keeps it small enough to be built and stepped without stalls once inlined.
type Cursor struct {
	x *Index
	h uint32
	i uint32 // next entry to examine
}

// Next returns the next slot filed under the cursor's hash, in probe order; ok is false once
// the probe run has ended, and stays false.
func (c *Cursor) Next() (slot int32, ok bool) {
	t := *c.x
	for {
		e := t[c.i]
		if e == 0 {
			return -1, false
		}
		c.i = (c.i + 1) & uint32(len(t)-1)
		if uint32(e>>32) == c.h {
			return int32(uint32(e) - 1), true
		}
	}
}

// Probes returns how many entries the cursor has examined so far, the slots it returned
// included and the empty entry that ended the run excluded: the distance it has moved from
// the hash's home entry (a run is always shorter than the table, which is never full).
func (c *Cursor) Probes() int { return int((c.i - c.h) & c.x.mask()) }

// Prefetch starts loading the entry where a lookup of hash h begins.
func (x *Index) Prefetch(h uint32) { prefetch.Line(unsafe.Pointer(&(*x)[h&x.mask()])) }
