package stream

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/ids-sensor/ids/decode"
)

const (
	fACK = decode.TCPAck
	fPSH = decode.TCPPsh
	fSYN = decode.TCPSyn
	fFIN = decode.TCPFin
	fRST = decode.TCPRst
	fDat = fACK | fPSH
)

// tcpFrame builds an Ethernet/IPv4/TCP frame (10.0.0.1:1234 -> 10.0.0.2:445).
func tcpFrame(seq uint32, flags uint16, payload []byte) []byte {
	b := make([]byte, 14+20+20+len(payload))
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(40+len(payload)))
	ip[8], ip[9] = 64, 6
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := ip[20:]
	binary.BigEndian.PutUint16(tcp[0:], 1234)
	binary.BigEndian.PutUint16(tcp[2:], 445)
	binary.BigEndian.PutUint32(tcp[4:], seq)
	tcp[12] = 5 << 4
	tcp[13] = byte(flags)
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	copy(tcp[20:], payload)
	return b
}

// seg decodes a segment. With cut > 0 the capture keeps only the first len(payload)-cut payload
// bytes (the snap length cut the frame), while the IP header still says what was sent.
func seg(tb testing.TB, seq uint32, flags uint16, payload string, cut int) *decode.Packet {
	tb.Helper()
	f := tcpFrame(seq, flags, []byte(payload))
	p := new(decode.Packet)
	p.Decode(layers.LinkTypeEthernet, f[:len(f)-cut], 0, len(f))
	if !p.Has(decode.LayerTCP) || p.TCP.SegLen != len(payload) || len(p.Payload) != len(payload)-cut {
		tb.Fatalf("bad test frame: layers %b seglen %d payload %d", p.Layers, p.TCP.SegLen, len(p.Payload))
	}
	return p
}

// recorder writes one transcript per direction: data as is, gaps as "[gap n]".
type recorder struct{ tr [2]strings.Builder }

func (c *recorder) Data(dir int, b []byte) {
	if len(b) == 0 {
		panic("empty Data")
	}
	c.tr[dir].Write(b)
}

func (c *recorder) Gap(dir int, n uint32) {
	if n == 0 {
		panic("empty Gap")
	}
	fmt.Fprintf(&c.tr[dir], "[gap %d]", n)
}

// conn drives one connection through a Reassembler.
type conn struct {
	tb testing.TB
	r  *Reassembler
	h  [2]Half
	c  recorder
}

func newConn(tb testing.TB, cfg Config) *conn { return &conn{tb: tb, r: New(cfg)} }

// send offers a segment in direction 0 and returns its packet (for its anomalies).
func (k *conn) send(seq uint32, flags uint16, payload string) *decode.Packet {
	return k.sendCut(seq, flags, payload, 0)
}

func (k *conn) sendCut(seq uint32, flags uint16, payload string, cut int) *decode.Packet {
	k.tb.Helper()
	p := seg(k.tb, seq, flags, payload, cut)
	k.r.Segment(&k.h[0], 0, p, &k.c)
	k.check()
	return p
}

func (k *conn) ack(ack uint32) {
	k.r.Ack(&k.h[0], 0, ack, &k.c)
	k.check()
}

// check verifies the list invariants after every call.
func (k *conn) check() {
	k.tb.Helper()
	checkHalf(k.tb, k.r, &k.h[0])
	if k.c.tr[1].Len() != 0 {
		k.tb.Fatalf("direction 1 got %q", k.c.tr[1].String())
	}
}

func (k *conn) want(s string) {
	k.tb.Helper()
	if got := k.c.tr[0].String(); got != s {
		k.tb.Fatalf("transcript\n got %q\nwant %q", got, s)
	}
}

// checkHalf verifies that h's chunks are sorted, disjoint, non-empty, after h.next and not
// contiguous with it, and that the counts agree.
func checkHalf(tb testing.TB, r *Reassembler, h *Half) {
	tb.Helper()
	var n, last uint32
	pos := h.next
	for i := h.head; i != 0; i = r.chunks[i].next {
		k := &r.chunks[i]
		if d := int32(k.seq - pos); d < 0 || (d == 0 && n == 0) {
			tb.Fatalf("chunk %d at %d, previous end/next %d", i, k.seq, pos)
		}
		if k.n > ChunkSize || uint32(k.n)+k.cut == 0 {
			tb.Fatalf("chunk %d: n %d cut %d", i, k.n, k.cut)
		}
		pos = k.end()
		last = i
		n++
		if n > uint32(len(r.chunks)) {
			tb.Fatal("cycle in chunk list")
		}
	}
	if tail := r.tailOf(h); last != tail || n != h.chunks {
		tb.Fatalf("tail %d want %d, chunks %d want %d", tail, last, h.chunks, n)
	}
	checkTree(tb, r, h)
	checkPool(tb, r, h)
	if r.Stats.HeldChunks*ChunkSize > uint64(len(r.buf)) || r.Stats.HeldBytes > r.Stats.HeldChunks*ChunkSize {
		tb.Fatalf("held %d bytes in %d chunks, pool %d", r.Stats.HeldBytes, r.Stats.HeldChunks, len(r.buf))
	}
	if r.gap != 0 {
		tb.Fatalf("unreported gap %d", r.gap)
	}
}

// checkTree checks h's index: absent below indexDrop chunks; else a B+tree whose leaves, in
// order, name a prefix of the list one by one (each held chunk indexed at most once, and the
// indexed ones flagged, the others not), with keys inside their chunks, ascending, separated by
// the inner keys; all leaves at level 0; every node but the leftmost of its level at least half
// full, the root with two children unless a leaf; and at most a third as many nodes as chunks.
func checkTree(tb testing.TB, r *Reassembler, h *Half) {
	tb.Helper()
	want := h.head // the leaves' walk must meet the list's chunks one by one
	if h.flags&halfIndexed == 0 {
		for i := h.head; i != 0; i = r.chunks[i].next {
			if r.chunks[i].indexed {
				tb.Fatalf("chunk %d indexed, Half without an index", i)
			}
		}
		return
	}
	if h.chunks < indexDrop || h.head == 0 {
		tb.Fatalf("index kept with %d chunks", h.chunks)
	}
	nodes := 0
	var walk func(t uint32, level uint8, leftmost bool) (lo, hi uint32)
	walk = func(t uint32, level uint8, leftmost bool) (lo, hi uint32) { // the subtree's lowest and highest key, relative
		nodes++
		if t == 0 || int(t) >= len(r.nodes) || nodes > len(r.nodes) {
			tb.Fatalf("bad node %d", t)
		}
		nd := &r.nodes[t]
		if nd.level != level || int(nd.n) > fanout || nd.n == 0 || (!leftmost && nd.n < minFill) {
			tb.Fatalf("node %d: level %d want %d, %d entries (leftmost %v)", t, nd.level, level, nd.n, leftmost)
		}
		for j := range int(nd.n) {
			var l, u uint32
			if level == 0 {
				i := nd.val[j]
				k := &r.chunks[i]
				if i != want || !k.indexed {
					tb.Fatalf("leaf %d entry %d names chunk %d (indexed %v) where the list has %d", t, j, i, k.indexed, want)
				}
				l = nd.key[j] - h.next
				if l < k.seq-h.next || l >= k.end()-h.next {
					tb.Fatalf("chunk %d [%d, %d) has key %d", i, k.seq, k.end(), nd.key[j])
				}
				u = l
				want = k.next
			} else {
				l, u = walk(nd.val[j], level-1, leftmost && j == 0)
				if j > 0 && nd.key[j]-h.next > l {
					tb.Fatalf("node %d: separator %d above its child's lowest key (relative %d)", t, nd.key[j]-h.next, l)
				}
			}
			if j > 0 && l <= hi {
				tb.Fatalf("node %d entry %d: keys not ascending (%d after %d)", t, j, l, hi)
			}
			if j > 0 && level > 0 && nd.key[j]-h.next <= hi {
				tb.Fatalf("node %d: separator %d not above the previous child's keys (%d)", t, nd.key[j]-h.next, hi)
			}
			if j == 0 {
				lo = l
			}
			hi = u
		}
		return lo, hi
	}
	root := &r.nodes[h.tail]
	if root.level > 0 && root.n < 2 {
		tb.Fatalf("root %d has %d children", h.tail, root.n)
	}
	walk(h.tail, root.level, true)
	if want == h.head {
		tb.Fatal("empty index")
	}
	for i := want; i != 0; i = r.chunks[i].next {
		if r.chunks[i].indexed {
			tb.Fatalf("chunk %d after the index's prefix is marked indexed", i)
		}
	}
	if 3*nodes > int(h.chunks) {
		tb.Fatalf("%d index nodes for %d chunks", nodes, h.chunks)
	}
	if r.nodesUsed > int(r.Stats.HeldChunks)/3 || r.nodesUsed > len(r.nodes)-1 {
		tb.Fatalf("%d nodes used for %d chunks, pool %d", r.nodesUsed, r.Stats.HeldChunks, len(r.nodes)-1)
	}
}

// checkPool checks the pool's bitmaps: as many chunks in use as held, h's among them, and a full
// bit for exactly the full words at every level; and that no word before low has room.
func checkPool(tb testing.TB, r *Reassembler, h *Half) {
	tb.Helper()
	p := &r.pool
	for i := h.head; i != 0; i = r.chunks[i].next {
		if p.inUse[i/64]&(1<<(i%64)) == 0 {
			tb.Fatalf("held chunk %d is free", i)
		}
	}
	used := 0
	for j, w := range p.inUse {
		used += bits.OnesCount64(w)
		if j < p.low && w != ^uint64(0) {
			tb.Fatalf("word %d has room, before low %d", j, p.low)
		}
	}
	if pad := 64*len(p.inUse) - len(r.chunks); used != pad+1+int(r.Stats.HeldChunks) { // the bits past the last chunk, chunk 0
		tb.Fatalf("%d bits used, %d held chunks", used, r.Stats.HeldChunks)
	}
	below := p.inUse
	for l, level := range p.full {
		for j := range 64 * len(level) {
			full := j >= len(below) || below[j] == ^uint64(0)
			if set := level[j/64]&(1<<(j%64)) != 0; set != full {
				tb.Fatalf("level %d bit %d: %v, word below full %v", l, j, set, full)
			}
		}
		below = level
	}
	if len(below) != 1 {
		tb.Fatalf("top level of %d words", len(below))
	}
}

// nopConsumer counts without allocating.
type nopConsumer struct{ data, gap uint64 }

func (c *nopConsumer) Data(_ int, b []byte) { c.data += uint64(len(b)) }
func (c *nopConsumer) Gap(_ int, n uint32)  { c.gap += uint64(n) }
