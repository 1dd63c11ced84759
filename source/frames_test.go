package source

import (
	"encoding/binary"
	"net/netip"
)

// Hand-built frames for the fanout program and the live tests. Checksums are left zero: no
// kernel stack ever parses these frames (the test links have no addresses).

var (
	macA = []byte{0x02, 0, 0, 0, 0, 0xa}
	macB = []byte{0x02, 0, 0, 0, 0, 0xb}
)

func ether(typ uint16, payload []byte) []byte {
	f := append(append(append([]byte{}, macB...), macA...), byte(typ>>8), byte(typ))
	return append(f, payload...)
}

// tagged inserts a VLAN tag after the MAC addresses.
func tagged(frame []byte, tpid, tci uint16) []byte {
	f := append([]byte{}, frame[:12]...)
	f = binary.BigEndian.AppendUint16(f, tpid)
	f = binary.BigEndian.AppendUint16(f, tci)
	return append(f, frame[12:]...)
}

type ip4 struct {
	src, dst    netip.Addr
	proto       byte
	id          uint16
	fragOff     uint16 // in 8-byte units
	more        bool
	optionWords int // 32-bit words of NOP options, to move the transport header
}

func (h ip4) packet(payload []byte) []byte {
	ihl := 5 + h.optionWords
	p := make([]byte, ihl*4, ihl*4+len(payload))
	p[0] = 0x40 | byte(ihl)
	binary.BigEndian.PutUint16(p[2:], uint16(len(p)+len(payload)))
	binary.BigEndian.PutUint16(p[4:], h.id)
	frag := h.fragOff
	if h.more {
		frag |= 0x2000
	}
	binary.BigEndian.PutUint16(p[6:], frag)
	p[8] = 64
	p[9] = h.proto
	s, d := h.src.As4(), h.dst.As4()
	copy(p[12:], s[:])
	copy(p[16:], d[:])
	for i := 20; i < ihl*4; i++ {
		p[i] = 1 // NOP
	}
	return append(p, payload...)
}

func ip6(src, dst netip.Addr, next byte, payload []byte) []byte {
	p := make([]byte, 40, 40+len(payload))
	p[0] = 0x60
	binary.BigEndian.PutUint16(p[4:], uint16(len(payload)))
	p[6] = next
	p[7] = 64
	s, d := src.As16(), dst.As16()
	copy(p[8:], s[:])
	copy(p[24:], d[:])
	return append(p, payload...)
}

// l4 is a TCP (20 bytes) or UDP (8 bytes) header with the given ports and sequence number,
// followed by n bytes of payload.
func l4(proto byte, sport, dport uint16, seq uint32, n int) []byte {
	size := 8
	if proto == 6 {
		size = 20
	}
	p := make([]byte, size+n)
	binary.BigEndian.PutUint16(p[0:], sport)
	binary.BigEndian.PutUint16(p[2:], dport)
	if proto == 6 {
		binary.BigEndian.PutUint32(p[4:], seq)
		p[12] = 5 << 4
		p[13] = 0x10 // ACK
	} else {
		binary.BigEndian.PutUint16(p[4:], uint16(size+n))
	}
	for i := size; i < len(p); i++ {
		p[i] = byte(i)
	}
	return p
}

// icmpError is an ICMP (or ICMPv6) error header followed by the quoted packet.
func icmpError(typ, code byte, quoted []byte) []byte {
	return append([]byte{typ, code, 0, 0, 0, 0, 0, 0}, quoted...)
}

func v4(s string) netip.Addr { return netip.MustParseAddr(s) }
func v6(s string) netip.Addr { return netip.MustParseAddr(s) }
