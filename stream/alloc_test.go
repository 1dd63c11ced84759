package stream

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/decode"
)

// traffic replays segments of a fixed size at advancing sequence numbers by rewriting the
// decoded packets' Seq, so that a test or benchmark loop does no allocation of its own.
type traffic struct {
	r    *Reassembler
	h    Half
	c    nopConsumer
	size uint32
	base uint32 // sequence number of the next group's first byte
	same *decode.Packet
	diff *decode.Packet // the same size, different bytes
}

func newTraffic(tb testing.TB, size int) *traffic {
	tf := &traffic{
		r:    New(Config{}),
		size: uint32(size),
		base: 0 - 3*uint32(size), // wrap around 2^32 early on
		same: seg(tb, 0, fDat, strings.Repeat("s", size), 0),
		diff: seg(tb, 0, fDat, strings.Repeat("d", size), 0),
	}
	tf.h.Begin(tf.base)
	return tf
}

func (tf *traffic) send(p *decode.Packet, i int) {
	p.TCP.Seq = tf.base + uint32(i)*tf.size
	tf.r.Segment(&tf.h, 0, p, &tf.c)
}

// inOrder sends one segment in order.
func (tf *traffic) inOrder() {
	tf.send(tf.same, 0)
	tf.base += tf.size
}

// outOfOrder sends a group of four segments as 3, 1, 2, 0: three held, then all delivered.
func (tf *traffic) outOfOrder() {
	tf.send(tf.same, 3)
	tf.send(tf.same, 1)
	tf.send(tf.same, 2)
	tf.send(tf.same, 0)
	tf.base += 4 * tf.size
}

// overlapping sends held segments overlapped by a same-data and a different-data copy, a hole
// given up by an Ack, a retransmission, and in-order segments overlapping held ones.
func (tf *traffic) overlapping() {
	half := tf.size / 2
	tf.send(tf.same, 2)
	tf.same.TCP.Seq = tf.base + 2*tf.size - half // straddles the start of the held segment
	tf.r.Segment(&tf.h, 0, tf.same, &tf.c)
	tf.send(tf.diff, 2)
	tf.send(tf.same, 4)
	tf.r.Ack(&tf.h, 0, tf.base+tf.size, &tf.c) // segment 0 was lost: a gap
	tf.send(tf.same, 0)                        // retransmission of given-up bytes
	tf.send(tf.same, 1)                        // in order, then overlapping the held bytes
	tf.send(tf.same, 3)                        // in order, then the held segment 4
	tf.base += 5 * tf.size
}

func TestZeroAllocs(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(*traffic)
	}{
		{"in order", (*traffic).inOrder},
		{"out of order", (*traffic).outOfOrder},
		{"overlapping", (*traffic).overlapping},
	} {
		for _, size := range []int{1, 1460, 9000} {
			tf := newTraffic(t, size)
			if n := testing.AllocsPerRun(1000, func() { tc.run(tf) }); n != 0 {
				t.Errorf("%s, %d-byte segments: %v allocations per run", tc.name, size, n)
			}
			if tf.r.Stats.HeldChunks != 0 || tf.c.data == 0 {
				t.Errorf("%s: stats %+v delivered %d", tc.name, tf.r.Stats, tf.c.data)
			}
		}
	}
}

// The benchmarks report ns/op per segment.
func BenchmarkInOrder(b *testing.B) {
	tf := newTraffic(b, 1460)
	b.SetBytes(1460)
	b.ReportAllocs()
	for b.Loop() {
		tf.inOrder()
	}
}

func BenchmarkOutOfOrder(b *testing.B) {
	tf := newTraffic(b, 1460)
	b.SetBytes(4 * 1460)
	b.ReportAllocs()
	for b.Loop() {
		tf.outOfOrder() // four segments, three of them held
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(4*b.N), "ns/segment")
}

func BenchmarkOverlapping(b *testing.B) {
	tf := newTraffic(b, 1460)
	b.ReportAllocs()
	for b.Loop() {
		tf.overlapping() // seven segments and an Ack
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(7*b.N), "ns/segment")
}

// BenchmarkRandomOrder holds segments with a hole after each, in a random order, until the Half
// holds nearly FlowCap (then releases it and starts over): the out-of-order storm an attacker
// can send, whose cost per segment must not grow with the chunks held.
func BenchmarkRandomOrder(b *testing.B) {
	for _, size := range []int{1460, 64} {
		b.Run(fmt.Sprintf("segment=%dB", size), func(b *testing.B) {
			r := New(Config{})
			p := seg(b, 0, fDat, strings.Repeat("s", size), 0)
			var c nopConsumer
			var h Half
			segs := int(r.flowChunks) / ((size + ChunkSize - 1) / ChunkSize) // chunks the segments take
			order := rand.New(rand.NewPCG(1, 2)).Perm(segs)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == segs {
					r.Release(&h)
					i = 0
				}
				if i == 0 {
					h.Begin(1000)
				}
				p.TCP.Seq = 1000 + uint32((2*order[i]+1)*size)
				r.Segment(&h, 0, p, &c)
				i++
			}
			if r.Stats.FlowCapHits != 0 || r.Stats.MemcapHits != 0 {
				b.Fatalf("caps hit: %+v", r.Stats)
			}
		})
	}
}

// manyHalves is as many Halves as fill the whole pool (Memcap / FlowCap), each with its own
// random order of size-byte segments with a hole after each: the out-of-order storm over many
// connections at once, whose tree descents miss the caches.
type manyHalves struct {
	r      *Reassembler
	p      *decode.Packet
	c      nopConsumer
	halves []Half
	orders [][]int
	pos    []int // the next segment of each Half
	segs   int   // segments per Half: as many as fit in FlowCap
	size   int
}

func newManyHalves(b *testing.B, size int) *manyHalves {
	r := New(Config{})
	m := &manyHalves{r: r, p: seg(b, 0, fDat, strings.Repeat("s", size), 0), size: size,
		halves: make([]Half, len(r.chunks)/int(r.flowChunks)),
		segs:   int(r.flowChunks) / ((size + ChunkSize - 1) / ChunkSize)}
	m.orders, m.pos = make([][]int, len(m.halves)), make([]int, len(m.halves))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range m.orders {
		m.orders[i] = rng.Perm(m.segs)
	}
	return m
}

// step sends Half k its next segment, after releasing it when it has had them all.
func (m *manyHalves) step(k int) {
	h := &m.halves[k]
	if m.pos[k] == m.segs {
		m.r.Release(h)
		m.pos[k] = 0
	}
	if m.pos[k] == 0 {
		h.Begin(1000)
	}
	m.p.TCP.Seq = 1000 + uint32((2*m.orders[k][m.pos[k]]+1)*m.size)
	m.r.Segment(h, 0, m.p, &m.c)
	m.pos[k]++
}

func (m *manyHalves) checkNoCapHit(b *testing.B) {
	if st := m.r.Stats; st.FlowCapHits != 0 || st.MemcapHits != 0 {
		b.Fatalf("caps hit: %+v", st)
	}
}

// BenchmarkRandomOrderManyHalves is BenchmarkRandomOrder on manyHalves, their segments
// interleaved, all Halves released together once full.
func BenchmarkRandomOrderManyHalves(b *testing.B) {
	for _, size := range []int{1460, 64} {
		b.Run(fmt.Sprintf("segment=%dB", size), func(b *testing.B) {
			m := newManyHalves(b, size)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i == m.segs*len(m.halves) {
					for k := range m.halves {
						m.r.Release(&m.halves[k])
						m.pos[k] = 0
					}
					i = 0
				}
				m.step(i % len(m.halves))
				i++
			}
			m.checkNoCapHit(b)
		})
	}
}

// BenchmarkRandomOrderStaggered is BenchmarkRandomOrderManyHalves with each Half released as soon
// as it completes, the Halves staggered so that releases spread out: the pool is never freed all
// at once, so the chunks a segment gets are scattered (those of the Half released last, taken
// in turn with all the others), as in a storm that lasts.
func BenchmarkRandomOrderStaggered(b *testing.B) {
	for _, size := range []int{1460, 64} {
		b.Run(fmt.Sprintf("segment=%dB", size), func(b *testing.B) {
			m := newManyHalves(b, size)
			n := len(m.halves)
			for k := range n { // Half k starts k/n of the way through
				for range k * m.segs / n {
					m.step(k)
				}
			}
			for k := range n { // a whole cycle, to mix the pool
				for range m.segs {
					m.step(k)
				}
			}
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				m.step(i % n)
				i++
			}
			m.checkNoCapHit(b)
		})
	}
}
