package defrag

// Frame builders shared by the tests: whole IPv4 and IPv6 datagrams, the fragments a sender
// would cut them into, and their Ethernet frames.

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/decode"
)

const t0 = int64(1_700_000_000_000_000_000)

var (
	src4 = netip.MustParseAddr("192.0.2.10")
	dst4 = netip.MustParseAddr("198.51.100.20")
	src6 = netip.MustParseAddr("2001:db8::10")
	dst6 = netip.MustParseAddr("2001:db8:1::20")
)

// pattern returns n bytes that differ from position to position, so a byte filed at the wrong
// offset shows.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+i>>8) ^ seed
	}
	return b
}

func udp(sport, dport uint16, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(data)))
	b = append(b, 0, 0) // checksum not computed (allowed for IPv4, unchecked by the decoder)
	return append(b, data...)
}

func tcp(sport, dport uint16, data []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint32(b, 1000) // seq
	b = binary.BigEndian.AppendUint32(b, 0)    // ack
	b = append(b, 5<<4, decode.TCPSyn, 0xff, 0xff, 0, 0, 0, 0)
	return append(b, data...)
}

// v4 describes an IPv4 datagram.
type v4 struct {
	id    uint16
	proto uint8
	flags uint8  // DF or the reserved bit, kept through reassembly
	opts  []byte // options of the first fragment (a multiple of 4 bytes)
	src   netip.Addr
	dst   netip.Addr
}

// header renders an IPv4 header for payload length n, with fragment offset off and MF.
func (h v4) header(opts []byte, n, off int, more bool) []byte {
	hl := 20 + len(opts)
	s, d := h.src, h.dst
	if !s.IsValid() {
		s, d = src4, dst4
	}
	b := []byte{4<<4 | byte(hl/4), 0}
	b = binary.BigEndian.AppendUint16(b, uint16(hl+n))
	b = binary.BigEndian.AppendUint16(b, h.id)
	ff := uint16(h.flags)<<13 | uint16(off/8)
	if more {
		ff |= decode.IPv4MoreFragments << 13
	}
	b = binary.BigEndian.AppendUint16(b, ff)
	b = append(b, 64, h.proto, 0, 0)
	b = append(b, s.AsSlice()...)
	b = append(b, d.AsSlice()...)
	b = append(b, opts...)
	binary.BigEndian.PutUint16(b[10:12], ipChecksum(b))
	return b
}

// datagram is the unfragmented datagram: what reassembly must return.
func (h v4) datagram(payload []byte) []byte {
	return append(h.header(h.opts, len(payload), 0, false), payload...)
}

// frag is the fragment carrying payload[off:off+n]. Options are not copied into later fragments
// (a router alert's copy bit is clear), so first and later fragments differ in header length.
func (h v4) frag(payload []byte, off, n int, more bool) []byte {
	return h.fragData(off, payload[off:off+n], more)
}

// fragData is a fragment at offset off carrying data.
func (h v4) fragData(off int, data []byte, more bool) []byte {
	var opts []byte
	if off == 0 {
		opts = h.opts
	}
	return append(h.header(opts, len(data), off, more), data...)
}

func ipChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// v6 describes an IPv6 datagram: ext are the unfragmentable extension headers (their Next
// Header bytes are filled in), proto the upper-layer protocol.
type v6 struct {
	id    uint32
	proto uint8
	ext   []ext6
	src   netip.Addr
	dst   netip.Addr
}

// ext6 is an extension header: its type and its bytes (the first, Next Header, is filled in).
type ext6 struct {
	typ uint8
	b   []byte
}

// hbh is a hop-by-hop options header of (units+1)*8 bytes holding one PadN.
func hbh(units int) ext6 {
	n := (units + 1) * 8
	b := make([]byte, n)
	b[1], b[2], b[3] = byte(units), 1, byte(n-4)
	return ext6{0, b}
}

// dstOpts is a destination options header of (units+1)*8 bytes holding one PadN.
func dstOpts(units int) ext6 {
	e := hbh(units)
	e.typ = 60
	return e
}

// header renders the fixed header and the extension headers, chained to last, for n bytes
// after them.
func (h v6) header(last uint8, n int) []byte {
	s, d := h.src, h.dst
	if !s.IsValid() {
		s, d = src6, dst6
	}
	first := last
	var ext []byte
	for i, e := range h.ext {
		if i == 0 {
			first = e.typ
		}
		nh := last
		if i+1 < len(h.ext) {
			nh = h.ext[i+1].typ
		}
		ext = append(ext, nh)
		ext = append(ext, e.b[1:]...)
	}
	b := []byte{6 << 4, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(len(ext)+n))
	b = append(b, first, 64)
	b = append(b, s.AsSlice()...)
	b = append(b, d.AsSlice()...)
	return append(b, ext...)
}

func (h v6) datagram(payload []byte) []byte {
	return append(h.header(h.proto, len(payload)), payload...)
}

func (h v6) frag(payload []byte, off, n int, more bool) []byte {
	return h.fragData(off, payload[off:off+n], more)
}

func (h v6) fragData(off int, data []byte, more bool) []byte {
	b := h.header(44, 8+len(data))
	fo := uint16(off)
	if more {
		fo |= 1
	}
	b = append(b, h.proto, 0)
	b = binary.BigEndian.AppendUint16(b, fo)
	b = binary.BigEndian.AppendUint32(b, h.id)
	return append(b, data...)
}

// eth wraps an IP packet in Ethernet, with VLAN tags outermost first.
func eth(ip []byte, vlans ...uint16) []byte {
	b := []byte{0, 0x1b, 0x21, 0x3a, 0x4f, 0x10, 0xa4, 0x5e, 0x60, 0xd1, 0x22, 0x7e}
	for _, v := range vlans {
		b = append(b, 0x81, 0x00, byte(v>>8), byte(v))
	}
	if ip[0]>>4 == 6 {
		b = append(b, 0x86, 0xdd)
	} else {
		b = append(b, 0x08, 0x00)
	}
	return append(b, ip...)
}

// feeder decodes frames and offers them to a Defragmenter the way the engine does.
type feeder struct {
	t  testing.TB
	d  *Defragmenter
	p  decode.Packet
	ts int64
}

func newFeeder(t testing.TB, cfg Config) *feeder {
	return &feeder{t: t, d: New(cfg), ts: t0}
}

// add decodes an Ethernet frame carrying ip and adds it; it returns a copy of the datagram
// returned, or nil.
func (f *feeder) add(ip []byte, vlans ...uint16) []byte {
	f.t.Helper()
	return f.addFrame(eth(ip, vlans...), 0)
}

// addFrame adds a frame captured with wire length wire (0: its length).
func (f *feeder) addFrame(frame []byte, wire int) []byte {
	f.t.Helper()
	if wire == 0 {
		wire = len(frame)
	}
	f.p.Decode(layers.LinkTypeEthernet, frame, f.ts, wire)
	if !f.p.Has(decode.LayerFragment) {
		f.t.Fatalf("frame does not decode as a fragment: layers %b, anomalies %v", f.p.Layers, f.p.Anomalies())
	}
	out := f.d.Add(&f.p)
	if out == nil {
		return nil
	}
	return slices.Clone(out)
}

// anoms returns the anomalies recorded on the last packet.
func (f *feeder) anoms() []decode.Anomaly { return slices.Clone(f.p.Anomalies()) }
