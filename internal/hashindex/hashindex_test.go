package hashindex

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNewSize(t *testing.T) {
	for _, c := range []struct{ slots, size int }{
		{-1, 2}, {0, 2}, {1, 2}, {2, 4}, {3, 8}, {4, 8}, {5, 16}, {64, 128}, {65, 256}, {4096, 8192},
	} {
		if got := len(New(c.slots)); got != c.size {
			t.Errorf("New(%d): %d entries, want %d", c.slots, got, c.size)
		}
	}
}

// candidates returns the slots Lookup yields for h, in probe order, and the probe count.
func candidates(x Index, h uint32) ([]int32, int) {
	var out []int32
	c := x.Lookup(h)
	for {
		s, ok := c.Next()
		if !ok {
			return out, c.Probes()
		}
		out = append(out, s)
	}
}

// check compares x with the reference (slot -> hash): every slot is found under its hash,
// exactly the slots of a hash are, each entry sits in an unbroken probe run from its home, and
// nothing else is in the table.
func check(t *testing.T, x Index, ref map[int32]uint32, step int) {
	t.Helper()
	byHash := map[uint32][]int32{}
	for s, h := range ref {
		byHash[h] = append(byHash[h], s)
	}
	for h, want := range byHash {
		got, probes := candidates(x, h)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: hash %#x yields %v, want %v", step, h, got, want)
		}
		if probes < len(want) || probes > len(x) {
			t.Fatalf("step %d: hash %#x: %d probes for %d slots", step, h, probes, len(want))
		}
	}
	used := 0
	mask := uint32(len(x) - 1)
	for i, e := range x {
		if e == 0 {
			continue
		}
		used++
		h, s := uint32(e>>32), int32(uint32(e)-1)
		if rh, ok := ref[s]; !ok || rh != h {
			t.Fatalf("step %d: entry %d holds slot %d hash %#x, reference has %#x (%v)", step, i, s, h, rh, ok)
		}
		for j := h & mask; j != uint32(i); j = (j + 1) & mask {
			if x[j] == 0 {
				t.Fatalf("step %d: entry %d (home %d) is cut off from its home by an empty entry at %d", step, i, h&mask, j)
			}
		}
	}
	if used != len(ref) {
		t.Fatalf("step %d: %d entries in use, %d in the reference", step, used, len(ref))
	}
}

// TestChurnAgainstMap inserts and removes at random in small tables whose hashes share their
// low bits, so probe runs collide, merge and wrap around the end of the table, and compares
// the index with a map after every operation.
func TestChurnAgainstMap(t *testing.T) {
	for _, c := range []struct {
		slots  int
		hashes func(rng *rand.Rand) uint32
	}{
		// Few distinct hashes: equal hashes for different slots.
		{4, func(rng *rand.Rand) uint32 { return uint32(rng.IntN(3))<<20 | 7 }},
		// Homes on the last entries of the table: runs wrap around to the start.
		{8, func(rng *rand.Rand) uint32 { return rng.Uint32()&^15 | uint32(13+rng.IntN(3)) }},
		// Two homes, one at each end.
		{16, func(rng *rand.Rand) uint32 { return rng.Uint32()&^31 | []uint32{0, 31}[rng.IntN(2)] }},
		// Any hash, hash 0 included.
		{32, func(rng *rand.Rand) uint32 { return rng.Uint32() >> rng.IntN(32) }},
	} {
		rng := rand.New(rand.NewPCG(uint64(c.slots), 7))
		x := New(c.slots)
		ref := map[int32]uint32{}
		for step := range 20000 {
			s := int32(rng.IntN(c.slots))
			if h, ok := ref[s]; ok {
				x.Remove(h, s)
				delete(ref, s)
			} else {
				h := c.hashes(rng)
				x.Insert(h, s)
				ref[s] = h
			}
			check(t, x, ref, step)
		}
		for s, h := range ref {
			x.Remove(h, s)
		}
		if slices.ContainsFunc(x, func(e uint64) bool { return e != 0 }) {
			t.Errorf("%d slots: entries left after removing everything", c.slots)
		}
	}
}

// TestProbeOrder checks that candidates come in probe order and Probes counts every entry
// examined, other hashes' included.
func TestProbeOrder(t *testing.T) {
	x := New(8) // 16 entries
	x.Insert(0x10f, 1)
	x.Insert(0x20f, 2) // wraps to entry 0
	x.Insert(0x10f, 3) // entry 1
	c := x.Lookup(0x10f)
	var got []int32
	for {
		s, ok := c.Next()
		if !ok {
			break
		}
		got = append(got, s)
	}
	if !slices.Equal(got, []int32{1, 3}) || c.Probes() != 3 {
		t.Errorf("got %v after %d probes, want [1 3] after 3", got, c.Probes())
	}
	if s, ok := c.Next(); ok || c.Probes() != 3 {
		t.Errorf("Next after the end: %d %v, %d probes", s, ok, c.Probes())
	}
	x.Remove(0x10f, 1) // 0x20f and the second 0x10f shift back
	if x[15] != 0x20f<<32|3 || x[0] != 0x10f<<32|4 || x[1] != 0 {
		t.Errorf("after Remove: %#x %#x %#x", x[15], x[0], x[1])
	}
	if c := x.Lookup(0x30e); func() bool { _, ok := c.Next(); return ok }() {
		t.Error("a hash never inserted was found")
	}
}

func TestRemoveAbsentPanics(t *testing.T) {
	x := New(4)
	x.Insert(5, 1)
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	x.Remove(5, 2)
}

func TestNoAllocs(t *testing.T) {
	x := New(1024)
	rng := rand.New(rand.NewPCG(1, 2))
	hashes := make([]uint32, 1024)
	for i := range hashes {
		hashes[i] = rng.Uint32() | 1
		x.Insert(hashes[i], int32(i))
	}
	i := 0
	if n := testing.AllocsPerRun(1000, func() {
		s := int32(i % len(hashes))
		c := x.Lookup(hashes[s])
		for {
			if got, ok := c.Next(); !ok || got == s {
				break
			}
		}
		x.Remove(hashes[s], s)
		x.Insert(hashes[s], s)
		i++
	}); n != 0 {
		t.Errorf("%v allocations per lookup, remove and insert", n)
	}
}
