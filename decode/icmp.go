package decode

import (
	"encoding/binary"
	"net/netip"
)

// ICMP is the decoded ICMPv4 or ICMPv6 header (which one: LayerICMPv4 or LayerICMPv6).
type ICMP struct {
	Type, Code uint8
	Checksum   uint16
	Rest       uint32 // header bytes 4-7: next-hop MTU, PTB MTU, pointer, or id/sequence
}

// ICMPv4 types and codes used by detectors.
const (
	ICMPv4EchoReply      = 0
	ICMPv4Unreachable    = 3
	ICMPv4SourceQuench   = 4
	ICMPv4Redirect       = 5
	ICMPv4TimeExceeded   = 11
	ICMPv4ParamProblem   = 12
	ICMPv4CodeProtoUnr   = 2 // protocol unreachable
	ICMPv4CodePortUnr    = 3 // port unreachable
	ICMPv4CodeFragNeeded = 4 // fragmentation needed and DF set
)

// ICMPv6 types and codes used by detectors.
const (
	ICMPv6Unreachable   = 1
	ICMPv6PacketTooBig  = 2
	ICMPv6TimeExceeded  = 3
	ICMPv6ParamProblem  = 4
	ICMPv6CodePortUnr   = 4
	ICMPv6MinMTU        = 1280 // RFC 8200 section 5
	icmpv6QuotedExtMax  = 8    // extension headers walked inside a quoted IPv6 header
	icmpQuotedPortBytes = 4    // source and destination port
	icmpQuotedSeqBytes  = 8    // ports plus TCP sequence number
)

// NextHopMTU is the next-hop MTU of an ICMPv4 fragmentation-needed message (RFC 1191).
func (i *ICMP) NextHopMTU() uint16 { return uint16(i.Rest) }

// Quoted is the IP header (and first transport bytes) an ICMP error quotes: the packet it
// complains about. It is not a packet on the wire: detectors must never treat it as one.
type Quoted struct {
	IPVersion        uint8
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16 // valid when HasPorts
	Seq              uint32 // TCP sequence number, valid when HasSeq
	HasPorts         bool
	HasSeq           bool
}

func isICMPv4Error(t uint8) bool {
	switch t {
	case ICMPv4Unreachable, ICMPv4SourceQuench, ICMPv4Redirect, ICMPv4TimeExceeded, ICMPv4ParamProblem:
		return true
	}
	return false
}

func (p *Packet) decodeICMPv4(b []byte) {
	if len(b) < 8 {
		p.short(b, 8, ICMPv4PktTooSmall)
		return
	}
	p.Layers |= LayerICMPv4
	p.ICMP = ICMP{Type: b[0], Code: b[1], Checksum: binary.BigEndian.Uint16(b[2:4]), Rest: binary.BigEndian.Uint32(b[4:8])}
	p.Payload = b[8:]
	if isICMPv4Error(b[0]) {
		p.decodeQuotedIPv4(b[8:])
	}
}

// decodeQuotedIPv4 decodes the IPv4 header and first 8 transport bytes an ICMPv4 error carries
// (RFC 792). gopacket stops at the ICMP layer, so this is done here.
func (p *Packet) decodeQuotedIPv4(b []byte) {
	if len(b) < 20 {
		p.short(b, 20, ICMPv4QuotedTooSmall)
		return
	}
	hlen := int(b[0]&0x0f) * 4
	if b[0]>>4 != 4 || hlen < 20 {
		p.anomaly(ICMPv4QuotedInvalid)
		return
	}
	if len(b) < hlen {
		p.short(b, hlen, ICMPv4QuotedTooSmall)
		return
	}
	q := &p.Quoted
	*q = Quoted{
		IPVersion: 4,
		Src:       netip.AddrFrom4([4]byte(b[12:16])),
		Dst:       netip.AddrFrom4([4]byte(b[16:20])),
		Proto:     b[9],
	}
	p.Layers |= LayerQuoted
	if binary.BigEndian.Uint16(b[6:8])&0x1fff == 0 { // only a first fragment starts with ports
		p.quotedTransport(b[hlen:])
	}
}

func (p *Packet) decodeICMPv6(b []byte) {
	if len(b) < 8 {
		p.short(b, 8, ICMPv6PktTooSmall)
		return
	}
	p.Layers |= LayerICMPv6
	p.ICMP = ICMP{Type: b[0], Code: b[1], Checksum: binary.BigEndian.Uint16(b[2:4]), Rest: binary.BigEndian.Uint32(b[4:8])}
	p.Payload = b[8:]
	if b[0] >= ICMPv6Unreachable && b[0] <= ICMPv6ParamProblem { // types 1-4 are the errors
		p.decodeQuotedIPv6(b[8:])
	}
}

// decodeQuotedIPv6 decodes the IPv6 header an ICMPv6 error quotes (RFC 4443), following a short
// extension-header chain to the transport ports.
func (p *Packet) decodeQuotedIPv6(b []byte) {
	if len(b) < 40 {
		p.short(b, 40, ICMPv6QuotedTooSmall)
		return
	}
	if b[0]>>4 != 6 {
		p.anomaly(ICMPv6QuotedInvalid)
		return
	}
	q := &p.Quoted
	*q = Quoted{
		IPVersion: 6,
		Src:       netip.AddrFrom16([16]byte(b[8:24])),
		Dst:       netip.AddrFrom16([16]byte(b[24:40])),
		Proto:     b[6],
	}
	p.Layers |= LayerQuoted
	off := 40
	for range icmpv6QuotedExtMax {
		switch q.Proto {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts:
			if len(b) < off+2 {
				return
			}
			q.Proto, off = b[off], off+(int(b[off+1])+1)*8
		case ipv6Fragment:
			if len(b) < off+8 {
				return
			}
			if binary.BigEndian.Uint16(b[off+2:off+4])&^7 != 0 {
				q.Proto = b[off] // a later fragment: its protocol, but no ports
				return
			}
			q.Proto, off = b[off], off+8
		default:
			if off <= len(b) {
				p.quotedTransport(b[off:])
			}
			return
		}
	}
}

// quotedTransport reads ports (and the TCP sequence number) from a quoted transport header.
func (p *Packet) quotedTransport(b []byte) {
	q := &p.Quoted
	switch q.Proto {
	case 6, 17, 132: // TCP, UDP, SCTP: ports first
	default:
		return
	}
	if len(b) >= icmpQuotedPortBytes {
		q.SrcPort = binary.BigEndian.Uint16(b[0:2])
		q.DstPort = binary.BigEndian.Uint16(b[2:4])
		q.HasPorts = true
	}
	if q.Proto == 6 && len(b) >= icmpQuotedSeqBytes {
		q.Seq = binary.BigEndian.Uint32(b[4:8])
		q.HasSeq = true
	}
}
