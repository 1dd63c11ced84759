package stream

import (
	"encoding/binary"
	"fmt"
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
	if last != h.tail || n != h.chunks {
		tb.Fatalf("tail %d want %d, chunks %d want %d", h.tail, last, h.chunks, n)
	}
	checkTree(tb, r, h)
	if r.Stats.HeldChunks*ChunkSize > uint64(len(r.buf)) || r.Stats.HeldBytes > r.Stats.HeldChunks*ChunkSize {
		tb.Fatalf("held %d bytes in %d chunks, pool %d", r.Stats.HeldBytes, r.Stats.HeldChunks, len(r.buf))
	}
	if r.gap != 0 {
		tb.Fatalf("unreported gap %d", r.gap)
	}
}

// checkTree checks that the tree under h's head holds a prefix of the list's other chunks, in
// order, with AVL heights and balance, and that no other chunk claims a height.
func checkTree(tb testing.TB, r *Reassembler, h *Half) {
	tb.Helper()
	if h.head == 0 {
		return
	}
	want := r.chunks[h.head].next // the in-order walk must meet the list's chunks one by one
	var walk func(t uint32) uint8
	walk = func(t uint32) uint8 {
		if t == 0 {
			return 0
		}
		k := &r.chunks[t]
		hl := walk(k.left)
		if t != want {
			tb.Fatalf("tree visits chunk %d where the list has %d", t, want)
		}
		want = k.next
		hr := walk(k.right)
		if k.height != 1+max(hl, hr) || hl > hr+1 || hr > hl+1 {
			tb.Fatalf("chunk %d: height %d, subtrees %d and %d", t, k.height, hl, hr)
		}
		return k.height
	}
	if k := &r.chunks[h.head]; k.left != 0 || k.height != 0 {
		tb.Fatalf("head %d: left %d height %d", h.head, k.left, k.height)
	}
	walk(r.chunks[h.head].right)
	for i := want; i != 0; i = r.chunks[i].next {
		if k := &r.chunks[i]; k.height != 0 || k.left != 0 || k.right != 0 {
			tb.Fatalf("chunk %d after the tree's prefix: height %d, left %d, right %d", i, k.height, k.left, k.right)
		}
	}
}

// nopConsumer counts without allocating.
type nopConsumer struct{ data, gap uint64 }

func (c *nopConsumer) Data(_ int, b []byte) { c.data += uint64(len(b)) }
func (c *nopConsumer) Gap(_ int, n uint32)  { c.gap += uint64(n) }
