package main

import (
	"encoding/binary"
	"net/netip"
)

// A link frames an IP packet for one link type. Addresses for the link header are taken from the
// IP header itself, so callers only ever build IP packets.
type link interface {
	frame(ip []byte) []byte
}

type mac [6]byte

var broadcast = mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// macOf gives every IP address a stable MAC: multicast addresses their standard group MAC
// (RFC 1112, RFC 2464), loopback the all-zero MAC Linux uses on lo, anything else a locally
// administered MAC ending in the address's last four bytes.
func macOf(a netip.Addr) mac {
	s := a.As16()
	switch {
	case a.IsLoopback():
		return mac{}
	case a.Is4() && a.IsMulticast():
		return mac{0x01, 0x00, 0x5e, s[13] & 0x7f, s[14], s[15]}
	case a.IsMulticast():
		return mac{0x33, 0x33, s[12], s[13], s[14], s[15]}
	}
	return mac{0x02, 0x00, s[12], s[13], s[14], s[15]}
}

// ipAddrs reads source and destination from an IPv4 or IPv6 header.
func ipAddrs(ip []byte) (src, dst netip.Addr) {
	if ip[0]>>4 == 4 {
		return netip.AddrFrom4([4]byte(ip[12:16])), netip.AddrFrom4([4]byte(ip[16:20]))
	}
	return netip.AddrFrom16([16]byte(ip[8:24])), netip.AddrFrom16([16]byte(ip[24:40]))
}

func etherTypeOf(ip []byte) uint16 {
	if ip[0]>>4 == 4 {
		return 0x0800
	}
	return 0x86dd
}

// tag is an 802.1Q (tpid 0x8100) or 802.1ad (tpid 0x88a8) tag.
type tag struct {
	tpid uint16
	vid  uint16
	pcp  uint8
}

// ether builds an Ethernet II frame, tags outermost first, padded to the 60-byte minimum as a
// receiving NIC delivers it (the FCS is not captured).
func ether(dst, src mac, tags []tag, etype uint16, payload []byte) []byte {
	b := make([]byte, 0, 60+len(payload))
	b = append(b, dst[:]...)
	b = append(b, src[:]...)
	for _, t := range tags {
		b = binary.BigEndian.AppendUint16(b, t.tpid)
		b = binary.BigEndian.AppendUint16(b, uint16(t.pcp)<<13|t.vid&0x0fff)
	}
	b = binary.BigEndian.AppendUint16(b, etype)
	b = append(b, payload...)
	for len(b) < 60 {
		b = append(b, 0)
	}
	return b
}

// eth is an Ethernet link, optionally VLAN tagged.
type eth struct{ tags []tag }

func (e eth) frame(ip []byte) []byte {
	src, dst := ipAddrs(ip)
	return ether(macOf(dst), macOf(src), e.tags, etherTypeOf(ip), ip)
}

// sll is Linux cooked capture v1 (LINKTYPE_LINUX_SLL, "tcpdump -i any" before libpcap 1.10):
// packet type, ARPHRD type, address length, 8 address bytes, protocol.
type sll struct{}

func (sll) frame(ip []byte) []byte {
	src, _ := ipAddrs(ip)
	m := macOf(src)
	b := make([]byte, 16, 16+len(ip))
	binary.BigEndian.PutUint16(b[0:], 0) // PACKET_HOST: addressed to this host
	binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(b[4:], 6)
	copy(b[6:12], m[:])
	binary.BigEndian.PutUint16(b[14:], etherTypeOf(ip))
	return append(b, ip...)
}

// sll2 is Linux cooked capture v2 (LINKTYPE_LINUX_SLL2): protocol, reserved, interface index,
// ARPHRD type, packet type, address length, 8 address bytes.
type sll2 struct{ ifindex uint32 }

func (l sll2) frame(ip []byte) []byte {
	src, _ := ipAddrs(ip)
	m := macOf(src)
	b := make([]byte, 20, 20+len(ip))
	binary.BigEndian.PutUint16(b[0:], etherTypeOf(ip))
	binary.BigEndian.PutUint32(b[4:], l.ifindex)
	binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
	b[10] = 0                            // PACKET_HOST
	b[11] = 6
	copy(b[12:18], m[:])
	return append(b, ip...)
}

// rawIP is LINKTYPE_RAW: the IP header starts the frame; its version nibble is the only type.
type rawIP struct{}

func (rawIP) frame(ip []byte) []byte { return append([]byte(nil), ip...) }

// arp builds an Ethernet ARP request (broadcast) or reply for IPv4 addresses.
func arp(reply bool, sha mac, spa netip.Addr, tha mac, tpa netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // IPv4
	b[4], b[5] = 6, 4
	op, dst := uint16(1), broadcast
	if reply {
		op, dst = 2, tha
	}
	binary.BigEndian.PutUint16(b[6:], op)
	copy(b[8:14], sha[:])
	copy(b[14:18], spa.AsSlice())
	copy(b[18:24], tha[:])
	copy(b[24:28], tpa.AsSlice())
	return ether(dst, sha, nil, 0x0806, b)
}
