package stream

import (
	"math/rand/v2"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/ids-sensor/ids/decode"
)

// TestIndexStress drives two Halves through thousands of segments in random order, small and
// large, overlapping, with Acks, drains and evictions, so that their indexes grow several levels,
// split, shrink from the front, are dropped and started again; it checks the index after every
// call (checkHalf) and the transcripts against the reference model. With a node pool cut to a
// few nodes, indexes cannot grow and are dropped (index's fallback): delivery must not change.
func TestIndexStress(t *testing.T) {
	for _, tc := range []struct {
		name  string
		nodes int // 0: as New sizes the pool
	}{{"pool", 0}, {"starved", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 400000
			r := New(Config{Memcap: 8 << 20, FlowCap: 4 << 20})
			if tc.nodes > 0 {
				r.nodes = r.nodes[:tc.nodes+1]
			}
			rng := rand.New(rand.NewPCG(5, 6))
			var stream [2][]byte
			for dir := range stream {
				stream[dir] = make([]byte, n)
				for i := range stream[dir] {
					stream[dir][i] = 'a' + byte(rng.IntN(26))
				}
			}
			var h [2]Half
			var m [2]*model
			c := &transcript{tb: t, limit: n}
			pkt := new(decode.Packet)
			maxLevel := uint8(0)
			check := func() {
				t.Helper()
				for dir := range 2 {
					checkHalf(t, r, &h[dir])
					if h[dir].flags&halfIndexed != 0 {
						maxLevel = max(maxLevel, r.nodes[h[dir].tail].level)
					}
				}
			}
			send := func(dir, s, L int) {
				t.Helper()
				fr := tcpFrame(uint32(1000*dir+s), fDat, stream[dir][s:s+L])
				pkt.Decode(layers.LinkTypeEthernet, fr, 0, len(fr))
				r.Segment(&h[dir], dir, pkt, c)
				m[dir].segment(s, L, stream[dir][s:s+L])
				check()
			}
			for round := range 6 {
				for dir := range 2 {
					m[dir] = newModel(n)
					c.out[dir] = c.out[dir][:0]
					send(dir, 0, 1) // the stream starts at 0
				}
				for range 8000 {
					dir := rng.IntN(2)
					mm := m[dir]
					switch op := rng.IntN(100); {
					case op < 80 && mm.next+1 < n: // ahead of the next expected byte, often far
						s := mm.next + 1 + rng.IntN(min(n-mm.next-1, 1+rng.IntN(100000)))
						L := 1 + rng.IntN(16)
						if rng.IntN(8) == 0 {
							L = 1 + rng.IntN(1460)
						}
						send(dir, s, min(L, n-s))
					case op < 81 && mm.next < n: // in order: drains what it makes contiguous
						send(dir, mm.next, min(n-mm.next, 1+rng.IntN(300)))
					case op < 82 && mm.next < n: // an Ack a little ahead
						a := min(n, mm.next+1+rng.IntN(2000))
						if rng.IntN(4) == 0 { // most of what is held: the index shrinks or goes
							a = min(n, mm.next+1+rng.IntN(100000))
						}
						r.Ack(&h[dir], dir, uint32(1000*dir+a), c)
						mm.ack(a)
						check()
					}
				}
				for dir := range 2 {
					if got, want := c.out[dir], m[dir].out; len(got) != len(want) {
						t.Fatalf("round %d dir %d: delivered %d, model %d", round, dir, len(got), len(want))
					} else {
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("round %d dir %d: byte %d is %d, model %d", round, dir, i, got[i], want[i])
							}
						}
					}
					r.Release(&h[dir])
					h[dir] = Half{}
				}
				if r.Stats.HeldChunks != 0 || r.nodesUsed != 0 || r.Stats.MemcapHits+r.Stats.FlowCapHits != 0 {
					t.Fatalf("after release: %+v, %d nodes used", r.Stats, r.nodesUsed)
				}
			}
			if tc.nodes == 0 && maxLevel < 2 {
				t.Errorf("indexes reached level %d only", maxLevel)
			}
			t.Logf("highest root level %d, %d nodes ever taken", maxLevel, r.nodeFresh-1)
		})
	}
}
