package main

import (
	"encoding/binary"
	"net/netip"
)

// Packet builders. Each returns fresh bytes with lengths and checksums computed, unless a field
// explicitly overrides them to build a malformed header on purpose.

// Protocol numbers.
const (
	protoICMP   = 1
	protoIGMP   = 2
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// TCP flags.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
)

// sum adds b to a ones'-complement running sum, as 16-bit big-endian words.
func sum(s uint32, b []byte) uint32 {
	for len(b) >= 2 {
		s += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint32(b[0]) << 8
	}
	return s
}

// fold finishes a ones'-complement sum into an Internet checksum.
func fold(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// pseudo is the TCP/UDP/ICMPv6 pseudo-header sum for either address family (RFC 793, RFC 8200
// section 8.1).
func pseudo(src, dst netip.Addr, proto uint8, length int) uint32 {
	s := sum(0, src.AsSlice())
	s = sum(s, dst.AsSlice())
	return s + uint32(proto) + uint32(length)&0xffff + uint32(length)>>16
}

// ip4 is an IPv4 header. opts are raw option bytes copied as given (padding included), so
// malformed options can be built; ihl and totalLen override the computed fields when non-zero.
type ip4 struct {
	src, dst netip.Addr
	proto    uint8
	tos      uint8
	ttl      uint8 // 64 when 0
	id       uint16
	df       bool
	opts     []byte
	ihl      int // IHL field (32-bit words); 0: 5 + len(opts)/4
	totalLen int // total length field; 0: the real length
}

func (h ip4) packet(payload []byte) []byte {
	hl := 20 + len(h.opts)
	ihl := h.ihl
	if ihl == 0 {
		if len(h.opts)%4 != 0 {
			panic("ip4: options not padded to a multiple of 4")
		}
		ihl = hl / 4
	}
	b := make([]byte, hl+len(payload))
	b[0] = 0x40 | byte(ihl&0x0f)
	b[1] = h.tos
	total := len(b)
	if h.totalLen != 0 {
		total = h.totalLen
	}
	binary.BigEndian.PutUint16(b[2:], uint16(total))
	binary.BigEndian.PutUint16(b[4:], h.id)
	if h.df {
		b[6] = 0x40
	}
	b[8] = h.ttl
	if b[8] == 0 {
		b[8] = 64
	}
	b[9] = h.proto
	copy(b[12:16], h.src.AsSlice())
	copy(b[16:20], h.dst.AsSlice())
	copy(b[20:], h.opts)
	// The checksum covers the header bytes actually present, even when IHL lies about them.
	binary.BigEndian.PutUint16(b[10:], fold(sum(0, b[:hl])))
	copy(b[hl:], payload)
	return b
}

// ip6 is an IPv6 header with no extension headers.
type ip6 struct {
	src, dst netip.Addr
	nh       uint8
	hlim     uint8 // 64 when 0
	flow     uint32
}

func (h ip6) packet(payload []byte) []byte {
	b := make([]byte, 40+len(payload))
	binary.BigEndian.PutUint32(b[0:], 6<<28|h.flow&0xfffff)
	binary.BigEndian.PutUint16(b[4:], uint16(len(payload)))
	b[6] = h.nh
	b[7] = h.hlim
	if b[7] == 0 {
		b[7] = 64
	}
	copy(b[8:24], h.src.AsSlice())
	copy(b[24:40], h.dst.AsSlice())
	copy(b[40:], payload)
	return b
}

// ipOver wraps a transport payload in an ordinary IPv4 (DF set, as Linux sends) or IPv6 header,
// picked by the address family.
func ipOver(src, dst netip.Addr, proto uint8, id uint16, payload []byte) []byte {
	return ipOverTTL(src, dst, proto, id, 0, payload)
}

// ipOverTTL is ipOver with a TTL (IPv6 hop limit); 0 means 64.
func ipOverTTL(src, dst netip.Addr, proto uint8, id uint16, ttl uint8, payload []byte) []byte {
	if src.Is4() {
		return ip4{src: src, dst: dst, proto: proto, ttl: ttl, id: id, df: true}.packet(payload)
	}
	// A flow label constant per address pair, as a stack keeps it for a connection.
	return ip6{src: src, dst: dst, nh: proto, hlim: ttl, flow: uint32(fold(sum(0, cat(src.AsSlice(), dst.AsSlice()))))<<4 | 5}.packet(payload)
}

// tcp is a TCP segment. opts are padded with EOL to a multiple of 4.
type tcp struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint8
	win          uint16
	opts         []byte
	data         []byte
}

func (t tcp) bytes(src, dst netip.Addr) []byte {
	opts := pad4(t.opts)
	hl := 20 + len(opts)
	b := make([]byte, hl+len(t.data))
	binary.BigEndian.PutUint16(b[0:], t.sport)
	binary.BigEndian.PutUint16(b[2:], t.dport)
	binary.BigEndian.PutUint32(b[4:], t.seq)
	binary.BigEndian.PutUint32(b[8:], t.ack)
	b[12] = byte(hl/4) << 4
	b[13] = t.flags
	binary.BigEndian.PutUint16(b[14:], t.win)
	copy(b[20:], opts)
	copy(b[hl:], t.data)
	binary.BigEndian.PutUint16(b[16:], fold(sum(pseudo(src, dst, protoTCP, len(b)), b)))
	return b
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b[:len(b):len(b)], 0)
	}
	return b
}

// TCP option encoders.
func optMSS(v uint16) []byte { return []byte{2, 4, byte(v >> 8), byte(v)} }
func optWS(v uint8) []byte   { return []byte{3, 3, v} }
func optSACKPerm() []byte    { return []byte{4, 2} }
func optNOP() []byte         { return []byte{1} }
func optTS(val, ecr uint32) []byte {
	b := []byte{8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[2:], val)
	binary.BigEndian.PutUint32(b[6:], ecr)
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// udp builds a UDP datagram with its pseudo-header checksum.
func udp(src, dst netip.Addr, sport, dport uint16, data []byte) []byte {
	b := make([]byte, 8+len(data))
	binary.BigEndian.PutUint16(b[0:], sport)
	binary.BigEndian.PutUint16(b[2:], dport)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	copy(b[8:], data)
	c := fold(sum(pseudo(src, dst, protoUDP, len(b)), b))
	if c == 0 {
		c = 0xffff // 0 means "no checksum" in UDP
	}
	binary.BigEndian.PutUint16(b[6:], c)
	return b
}

// icmp4 builds an ICMPv4 message: type, code, the 4 rest-of-header bytes, then body.
func icmp4(typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	copy(b[8:], body)
	binary.BigEndian.PutUint16(b[2:], fold(sum(0, b)))
	return b
}

// icmp6 builds an ICMPv6 message with its pseudo-header checksum.
func icmp6(src, dst netip.Addr, typ, code uint8, rest uint32, body []byte) []byte {
	b := make([]byte, 8+len(body))
	b[0], b[1] = typ, code
	binary.BigEndian.PutUint32(b[4:], rest)
	copy(b[8:], body)
	binary.BigEndian.PutUint16(b[2:], fold(sum(pseudo(src, dst, protoICMPv6, len(b)), b)))
	return b
}

// quote is what an ICMPv4 error carries per RFC 792: the offending packet's IP header and the
// first 8 bytes of its payload.
func quote(ip []byte) []byte {
	n := int(ip[0]&0x0f)*4 + 8
	return ip[:min(n, len(ip))]
}

// quote6 is what an ICMPv6 error carries per RFC 4443: as much of the offending packet as fits
// in the minimum MTU.
func quote6(ip []byte) []byte { return ip[:min(len(ip), 1280-48)] }

// echoBody is an ICMP echo payload: a byte ramp, as ping fills it.
func echoBody(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i)
	}
	return b
}

// echoRest is the id/sequence rest-of-header of an echo message.
func echoRest(id, seq uint16) uint32 { return uint32(id)<<16 | uint32(seq) }

func addr(s string) netip.Addr         { return netip.MustParseAddr(s) }
func addrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
