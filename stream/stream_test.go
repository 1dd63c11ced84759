package stream

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unsafe"

	"github.com/ids-sensor/ids/decode"
)

func TestInOrder(t *testing.T) {
	k := newConn(t, Config{})
	k.send(100, fDat, "hello ")
	k.send(106, fDat, "world")
	k.want("hello world")
	if s := k.r.Stats; s.Segments != 2 || s.InOrder != 2 || s.HeldChunks != 0 || s.Gaps != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// The SYN fixes the start: the first data segment seen is out of order and must wait.
func TestSYNThenData(t *testing.T) {
	k := newConn(t, Config{})
	k.send(999, fSYN, "")
	k.send(1003, fDat, "def")
	k.want("")
	k.send(1000, fDat, "abc")
	k.want("abcdef")
	k.send(1000, fDat, "abc") // retransmission of delivered bytes
	k.want("abcdef")
	if s := k.r.Stats; s.Segments != 3 || s.InOrder != 1 || s.OutOfOrder != 1 || s.Retransmits != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// Data carried on the SYN itself (TCP Fast Open) starts after the SYN's sequence number.
func TestSYNWithData(t *testing.T) {
	k := newConn(t, Config{})
	k.send(41, fSYN, "GET")
	k.send(45, fDat, " /")
	k.want("GET /")
}

// Begin starts a Half whose SYN the engine did not offer; it does not restart one.
func TestBegin(t *testing.T) {
	k := newConn(t, Config{})
	k.h[0].Begin(10)
	k.send(13, fDat, "de")
	k.h[0].Begin(13)
	k.send(10, fDat, "abc")
	k.want("abcde")
}

func TestMidStreamPickup(t *testing.T) {
	k := newConn(t, Config{})
	k.send(5000, fACK, "") // a bare ACK does not start the stream (it may be a keepalive at next-1)
	k.send(5001, fDat, "xyz")
	k.send(4990, fDat, "0123456789a") // before the pickup point: never deliverable
	k.send(5004, fDat, "!")
	k.want("xyz!")
	if s := k.r.Stats; s.Retransmits != 1 || s.InOrder != 2 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOneByteSegments(t *testing.T) {
	const msg = "one byte at a time"
	k := newConn(t, Config{})
	for i := range len(msg) {
		k.send(uint32(7+i), fDat, msg[i:i+1])
	}
	k.want(msg)

	// The same, odd bytes first (each held alone), then the even ones filling the holes.
	k = newConn(t, Config{})
	k.send(6, fSYN, "")
	for _, odd := range []int{1, 0} {
		for i := odd; i < len(msg); i += 2 {
			k.send(uint32(7+i), fDat, msg[i:i+1])
		}
	}
	k.want(msg)
	if k.r.Stats.HeldChunks != 0 || k.r.Stats.HeldBytes != 0 {
		t.Fatalf("stats %+v", k.r.Stats)
	}
}

func TestReverseOrder(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	parts := []string{"alpha ", "beta ", "gamma ", "delta ", "epsilon"}
	seqs := make([]uint32, len(parts))
	for i, next := 0, uint32(1); i < len(parts); i++ {
		seqs[i], next = next, next+uint32(len(parts[i]))
	}
	for i := len(parts) - 1; i >= 0; i-- {
		k.send(seqs[i], fDat, parts[i])
		if i > 0 {
			k.want("")
		}
	}
	k.want(strings.Join(parts, ""))
	if s := k.r.Stats; s.OutOfOrder != 4 || s.InOrder != 1 || s.HeldBytes != 0 || s.HeldChunks != 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Bytes arriving in reverse order one at a time are packed into chunks, not one chunk each.
func TestReversePacking(t *testing.T) {
	const n = 2*ChunkSize + 10
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	k := newConn(t, Config{Memcap: 3 * ChunkSize, FlowCap: 3 * ChunkSize})
	k.send(0, fSYN, "")
	for i := n - 1; i > 0; i-- {
		k.send(uint32(1+i), fDat, string(msg[i:i+1]))
	}
	if s := k.r.Stats; s.HeldChunks != 3 || s.HeldBytes != n-1 || s.MemcapHits+s.FlowCapHits != 0 {
		t.Fatalf("stats %+v", s)
	}
	k.send(1, fDat, string(msg[:1]))
	k.want(string(msg))
}

func TestInterleavedHoles(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	// "AAABBBCCCDDDEEEFFF": B, D, F first, then A, C, E.
	at := func(i int) uint32 { return uint32(1 + 3*i) }
	k.send(at(1), fDat, "BBB")
	k.send(at(3), fDat, "DDD")
	k.send(at(5), fDat, "FFF")
	k.want("")
	k.send(at(0), fDat, "AAA")
	k.want("AAABBB")
	k.send(at(4), fDat, "EEE")
	k.want("AAABBB")
	k.send(at(2), fDat, "CCC")
	k.want("AAABBBCCCDDDEEEFFF")
	if s := k.r.Stats; s.InOrder != 2 || s.OutOfOrder != 4 || s.HeldChunks != 0 || s.Overlaps != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestExactRetransmission(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	k.send(1, fDat, "abc")
	p := k.send(1, fDat, "abc") // already delivered: dropped unexamined
	if len(p.Anomalies()) != 0 {
		t.Fatalf("anomalies %v", p.Anomalies())
	}
	k.send(7, fDat, "ghi")
	p = k.send(7, fDat, "ghi") // already held: compared, same
	if !p.HasAnomaly(decode.StreamOverlap) || p.HasAnomaly(decode.StreamOverlapDiff) {
		t.Fatalf("anomalies %v", p.Anomalies())
	}
	k.send(4, fDat, "def")
	k.want("abcdefghi")
	if s := k.r.Stats; s.Retransmits != 2 || s.Overlaps != 1 || s.OverlapsDiff != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestOverlapSameData(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	p1 := k.send(4, fDat, "defg")
	p2 := k.send(3, fDat, "cdefghi") // overlaps the held bytes on both sides
	k.want("")
	p3 := k.send(1, fDat, "abcd") // in order, its last byte overlaps held "c..."
	k.want("abcdefghi")
	if len(p1.Anomalies()) != 0 {
		t.Fatalf("p1 anomalies %v", p1.Anomalies())
	}
	for _, p := range []*decode.Packet{p2, p3} {
		if !p.HasAnomaly(decode.StreamOverlap) || p.HasAnomaly(decode.StreamOverlapDiff) {
			t.Fatalf("anomalies %v", p.Anomalies())
		}
	}
	if s := k.r.Stats; s.Overlaps != 2 || s.OverlapsDiff != 0 || s.OutOfOrder != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// Policy "first": the bytes received first win, and the later segment carries both anomalies.
func TestOverlapDifferentData(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	p1 := k.send(3, fDat, "XYZ")
	p2 := k.send(5, fDat, "zzzfg") // its first byte differs from the held "Z"
	p3 := k.send(1, fDat, "abcde") // in order; "cde" differs from the held "XYZ"
	k.want("abXYZzzfg")
	if len(p1.Anomalies()) != 0 {
		t.Fatalf("p1 anomalies %v", p1.Anomalies())
	}
	for _, p := range []*decode.Packet{p2, p3} {
		if !p.HasAnomaly(decode.StreamOverlap) || !p.HasAnomaly(decode.StreamOverlapDiff) {
			t.Fatalf("anomalies %v", p.Anomalies())
		}
	}
	if s := k.r.Stats; s.Overlaps != 2 || s.OverlapsDiff != 2 {
		t.Fatalf("stats %+v", s)
	}
}

// A segment starting before the next expected byte: its old part is dropped, the rest delivered.
func TestStraddlingNextExpected(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	k.send(1, fDat, "abcd")
	p := k.send(3, fDat, "CDef") // "CD" was delivered as "cd": not kept, so not compared
	k.want("abcdef")
	if len(p.Anomalies()) != 0 || k.r.Stats.Trimmed != 1 || k.r.Stats.InOrder != 2 {
		t.Fatalf("anomalies %v stats %+v", p.Anomalies(), k.r.Stats)
	}
	// Straddling next expected and a held segment at once.
	k.send(9, fDat, "ij")
	p = k.send(5, fDat, "EFghIJk")
	k.want("abcdefghijk")
	if !p.HasAnomaly(decode.StreamOverlapDiff) {
		t.Fatalf("anomalies %v", p.Anomalies())
	}
}

func TestWraparound(t *testing.T) {
	const isn = 1<<32 - 6 // the SYN; data starts at 2^32-5 and wraps after "abcde"
	k := newConn(t, Config{})
	k.send(isn, fSYN, "")
	k.send(isn+1, fDat, "abc")
	k.send(2, fDat, "hij")      // after the wrap, held across it
	k.send(1<<32-2, fDat, "de") // ends exactly at 2^32
	k.want("abcde")
	k.send(0, fDat, "fg")
	k.want("abcdefghij")
	k.send(1<<32-1, fDat, "eF") // before the wrap and wholly old
	k.send(5, fDat, "k")
	k.want("abcdefghijk")
	if s := k.r.Stats; s.Retransmits != 1 || s.OutOfOrder != 1 || s.Garbage != 0 {
		t.Fatalf("stats %+v", s)
	}

	// A stream picked up mid-stream just before the wrap, with a hole across it acknowledged.
	k = newConn(t, Config{})
	k.send(1<<32-3, fDat, "xy")
	k.send(3, fDat, "z")
	k.ack(3)
	k.want("xy[gap 4]z")
}

func TestSnaplenCut(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	k.sendCut(1, fDat, "0123456789", 4)
	k.send(11, fDat, "abc")
	k.want("012345[gap 4]abc")
	if s := k.r.Stats; s.Gaps != 1 || s.GapBytes != 4 {
		t.Fatalf("stats %+v", s)
	}

	// Out of order: the cut bytes are held as unknown, a later full copy does not replace
	// them (first policy), and a wholly cut segment is a gap of its own.
	k = newConn(t, Config{})
	k.send(0, fSYN, "")
	k.sendCut(4, fDat, "defgh", 2) // "def" + 2 cut
	k.sendCut(9, fDat, "ijk", 3)   // all cut: extends the unknown tail
	k.send(4, fDat, "defghijkl")   // same bytes where comparable, then "l" new
	k.want("")
	k.send(1, fDat, "abc")
	k.want("abcdef[gap 5]l")

	// A wholly cut segment held alone, then the hole before it filled.
	k = newConn(t, Config{})
	k.send(0, fSYN, "")
	k.sendCut(4, fDat, "defg", 4)
	k.send(1, fDat, "abc")
	k.want("abc[gap 4]")

	// A cut in-order segment whose cut part overlaps held bytes: the held bytes are delivered.
	k = newConn(t, Config{})
	k.send(0, fSYN, "")
	k.send(5, fDat, "ef")
	p := k.sendCut(1, fDat, "abcdefg", 5)
	k.want("ab[gap 2]ef[gap 1]")
	if !p.HasAnomaly(decode.StreamOverlap) || p.HasAnomaly(decode.StreamOverlapDiff) {
		t.Fatalf("anomalies %v", p.Anomalies())
	}
}

func TestAckPastHole(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	k.send(1, fDat, "hello ")
	k.send(12, fDat, "world") // hole [7, 12)
	k.send(20, fDat, "!!")    // hole [17, 20)
	k.ack(5)                  // old
	k.want("hello ")
	k.ack(14) // past the first hole, inside held data: gap, then everything contiguous
	k.want("hello [gap 5]world")
	k.ack(24) // past the second hole and beyond anything seen: both gaps
	k.want("hello [gap 5]world[gap 3]!![gap 2]")
	k.send(24, fDat|fFIN, "end")
	k.ack(28) // acknowledges the FIN: not a missing byte
	k.want("hello [gap 5]world[gap 3]!![gap 2]end")
	k.ack(1 << 31) // garbage
	k.want("hello [gap 5]world[gap 3]!![gap 2]end")
	k.send(27, fDat|fFIN, "+") // past a FIN: that FIN was forged, this one counts
	k.ack(29)
	k.want("hello [gap 5]world[gap 3]!![gap 2]end+")
	if s := k.r.Stats; s.Gaps != 3 || s.GapBytes != 10 {
		t.Fatalf("stats %+v", s)
	}

	// An Ack before anything started does nothing.
	k = newConn(t, Config{})
	k.ack(100)
	k.want("")
}

func TestFlowCapHit(t *testing.T) {
	k := newConn(t, Config{Memcap: 8 * ChunkSize, FlowCap: 2 * ChunkSize})
	k.send(0, fSYN, "")
	k.send(1, fDat, "ab")
	a := strings.Repeat("A", ChunkSize)
	k.send(11, fDat, a)                   // held: one chunk
	k.send(11+ChunkSize, fDat, "B")       // held: a second chunk
	k.send(21+ChunkSize, fDat, "C")       // needs a third: FlowCap
	k.want("ab[gap 8]" + a + "B[gap 9]C") // hole given up, everything delivered
	if s := k.r.Stats; s.FlowCapHits != 1 || s.MemcapHits != 0 || s.HeldChunks != 0 || s.Gaps != 2 {
		t.Fatalf("stats %+v", s)
	}
	k.send(23+ChunkSize, fDat, "E") // delivery continues: holding works again
	k.send(22+ChunkSize, fDat, "D")
	k.want("ab[gap 8]" + a + "B[gap 9]CDE")

	// Data held after the segment that hits the cap stays held; a cap hit in the middle of a
	// segment holds what fits and delivers the rest in order.
	k = newConn(t, Config{Memcap: 8 * ChunkSize, FlowCap: 2 * ChunkSize})
	k.send(0, fSYN, "")
	k.send(1001, fDat, "z")         // chunk 1, far ahead
	k.send(11, fDat, "A")           // chunk 2
	p := k.send(5, fDat, "y"+a+"Z") // fills chunk 2 around its "A", needs a third: FlowCap
	k.want("[gap 4]y" + a + "Z")
	if s := k.r.Stats; s.FlowCapHits != 1 || s.HeldChunks != 1 || len(p.Anomalies()) != 1 || !p.HasAnomaly(decode.StreamOverlap) {
		t.Fatalf("stats %+v anomalies %v", s, p.Anomalies())
	}
	k.ack(1001)
	k.want("[gap 4]y" + a + "Z[gap " + itoa(1001-519) + "]z")
}

func TestMemcapHit(t *testing.T) {
	r := New(Config{Memcap: 2 * ChunkSize, FlowCap: 2 * ChunkSize})
	var h1, h2 Half
	var c recorder
	a := strings.Repeat("a", ChunkSize)
	r.Segment(&h1, 0, seg(t, 0, fSYN, "", 0), &c)
	r.Segment(&h1, 0, seg(t, 101, fDat, a+"b", 0), &c) // takes both chunks
	r.Segment(&h2, 1, seg(t, 0, fSYN, "", 0), &c)
	r.Segment(&h2, 1, seg(t, 5, fDat, "late", 0), &c) // pool empty: given up, delivered
	if got := c.tr[1].String(); got != "[gap 4]late" {
		t.Fatalf("dir 1: %q", got)
	}
	if s := r.Stats; s.MemcapHits != 1 || s.FlowCapHits != 0 || s.HeldChunks != 2 || s.HeldBytes != ChunkSize+1 {
		t.Fatalf("stats %+v", s)
	}
	r.Segment(&h1, 0, seg(t, 1, fDat, strings.Repeat("x", 100), 0), &c)
	if got := c.tr[0].String(); got != strings.Repeat("x", 100)+a+"b" {
		t.Fatalf("dir 0: %q", got)
	}
	checkHalf(t, r, &h1)
	checkHalf(t, r, &h2)
}

// Release returns every chunk: the whole Memcap is usable again, by another Half.
func TestReleaseReturnsChunks(t *testing.T) {
	const chunks = 16
	r := New(Config{Memcap: chunks * ChunkSize, FlowCap: chunks * ChunkSize})
	var c nopConsumer
	fill := func(h *Half) {
		r.Segment(h, 0, seg(t, 0, fSYN, "", 0), &c)
		for i := range chunks { // one byte per chunk: holes between them
			r.Segment(h, 0, seg(t, uint32(10+1000*i), fDat, "x", 0), &c)
		}
		checkHalf(t, r, h)
	}
	var h1, h2 Half
	for round := range 3 {
		fill(&h1)
		if r.Stats.HeldChunks != chunks || r.Stats.MemcapHits != 0 {
			t.Fatalf("round %d: stats %+v", round, r.Stats)
		}
		r.Release(&h1)
		if r.Stats.HeldChunks != 0 || r.Stats.HeldBytes != 0 || h1 != (Half{}) {
			t.Fatalf("round %d after release: stats %+v half %+v", round, r.Stats, h1)
		}
		h1, h2 = h2, h1
	}
	if c.data != 0 || c.gap != 0 || r.Stats.Gaps != 0 {
		t.Fatalf("release reported something: %+v %+v", c, r.Stats)
	}
}

func TestGarbageAndRST(t *testing.T) {
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	k.send(1, fDat, "a")
	k.send(2+MaxAhead+1, fDat, "far")      // more than MaxAhead past next: ignored
	k.send(2+MaxAhead-10, fDat|fFIN, "ok") // within MaxAhead: held
	k.send(2, fRST|fACK, "reset text")     // a RST's payload is not stream data
	k.want("a")
	if s := k.r.Stats; s.Garbage != 1 || s.OutOfOrder != 1 || s.HeldBytes != 2 {
		t.Fatalf("stats %+v", s)
	}
	k.ack(2 + MaxAhead - 8 + 1) // acknowledges the FIN
	k.want("a[gap " + itoa(MaxAhead-10) + "]ok")
}

func TestHalfSize(t *testing.T) {
	if n := unsafe.Sizeof(Half{}); n > 24 {
		t.Fatalf("Half is %d bytes", n)
	}
	t.Logf("Half: %d bytes", unsafe.Sizeof(Half{}))
}

// What New preallocates for the default caps: Memcap bytes of chunks plus 16 bytes of header per
// chunk, a 128-byte index node per three chunks (nodesFor) and the pool's bitmaps: under 59
// bytes of bookkeeping per chunk, 11.5% of Memcap (24 bytes with the AVL tree it replaced).
func TestPreallocation(t *testing.T) {
	if n := unsafe.Sizeof(chunk{}); n != 16 {
		t.Fatalf("chunk is %d bytes", n)
	}
	if n := unsafe.Sizeof(node{}); n != 128 {
		t.Fatalf("node is %d bytes", n)
	}
	r := New(Config{Memcap: 64 << 20, FlowCap: 1 << 20})
	if len(r.buf) != 64<<20 || len(r.chunks) != 64<<20/ChunkSize+1 || r.flowChunks != 1<<20/ChunkSize {
		t.Fatalf("buf %d, chunks %d, flow chunks %d", len(r.buf), len(r.chunks), r.flowChunks)
	}
	book := len(r.chunks)*int(unsafe.Sizeof(chunk{})) + len(r.nodes)*int(unsafe.Sizeof(node{})) + 8*len(r.pool.inUse)
	for _, l := range r.pool.full {
		book += 8 * len(l)
	}
	if len(r.nodes) != (len(r.chunks)-1)/3+1 || book > (len(r.chunks)-1)*59 {
		t.Fatalf("%d nodes, %d bookkeeping bytes", len(r.nodes), book)
	}
	t.Logf("pool: %d chunks, %d data bytes + %d bookkeeping bytes (%d index nodes); %d chunks per Half",
		len(r.chunks)-1, len(r.buf), book, len(r.nodes)-1, r.flowChunks)
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		if n /= 10; n == 0 {
			return string(b[i:])
		}
	}
}

// TestRandomOrder holds many segments, first appended in order after a hole (not indexed), then
// in a random order among them (indexed as searches pass), with overlaps, and checks the tree
// after every segment (conn.check) and the stream once the hole is filled.
func TestRandomOrder(t *testing.T) {
	const n, size = 600, 40
	var want strings.Builder
	for i := range n * size {
		want.WriteByte('a' + byte(i*7%26))
	}
	data := want.String()
	k := newConn(t, Config{})
	k.send(0, fSYN, "")
	piece := func(i int) string { return data[i*size : (i+1)*size] }
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 2; i < n/3; i += 2 { // ascending after the hole at piece 0, every other piece
		k.send(1+uint32(i*size), fDat, piece(i))
	}
	for _, i := range rng.Perm(n) {
		if i == 0 {
			continue
		}
		s, e := i*size, min((i+1)*size+size/2, n*size) // overlapping the next piece by half
		k.send(1+uint32(s), fDat, data[s:e])
		if rng.IntN(8) == 0 { // a retransmission of a piece that may be held
			j := 1 + rng.IntN(n-1)
			k.send(1+uint32(j*size), fDat, piece(j))
		}
	}
	if k.c.tr[0].Len() != 0 || k.h[0].chunks == 0 {
		t.Fatalf("delivered %d bytes, held %d chunks before the hole was filled", k.c.tr[0].Len(), k.h[0].chunks)
	}
	k.send(1, fDat, piece(0))
	k.want(data)
	if s := k.r.Stats; s.HeldChunks != 0 || s.OverlapsDiff != 0 || s.Gaps != 0 {
		t.Fatalf("stats %+v", s)
	}
}
