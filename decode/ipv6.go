package decode

import (
	"encoding/binary"
	"net/netip"
)

// IPv6 is the decoded fixed IPv6 header plus a summary of the extension-header chain.
type IPv6 struct {
	TrafficClass uint8
	FlowLabel    uint32
	PayloadLen   uint16
	NextHeader   uint8  // next header of the fixed header
	ExtHeaders   uint16 // extension headers walked
	Routing0     bool   // a type 0 routing header (deprecated source routing, RFC 5095)
}

// IPv6 extension header numbers walked by the decoder.
const (
	ipv6HopByHop   = 0
	ipv6Routing    = 43
	ipv6Fragment   = 44
	ipv6ESP        = 50
	ipv6AH         = 51
	ipv6NoNext     = 59
	ipv6DestOpts   = 60
	ipv6Mobility   = 135
	ipv6HIP        = 139
	ipv6Shim6      = 140
	ipv6Experiment = 253
	ipv6Experim2   = 254
)

func (p *Packet) decodeIPv6(b []byte) {
	if len(b) < 40 {
		p.short(b, 40, IPv6PktTooSmall)
		return
	}
	if b[0]>>4 != 6 {
		p.anomaly(IPv6WrongVersion)
		return
	}
	h := &p.IPv6
	vtf := binary.BigEndian.Uint32(b[0:4])
	h.TrafficClass = uint8(vtf >> 20)
	h.FlowLabel = vtf & 0xfffff
	h.PayloadLen = binary.BigEndian.Uint16(b[4:6])
	h.NextHeader = b[6]
	h.ExtHeaders = 0
	h.Routing0 = false

	p.Layers |= LayerIPv6
	p.IPVersion = 6
	p.NetOff = p.offset(b)
	p.TTL = b[7]
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	p.Proto = h.NextHeader

	// A zero payload length is a jumbogram (RFC 2675) or offload on the capturing host: the
	// frame's own length is all there is to go by.
	if total := 40 + int(h.PayloadLen); h.PayloadLen != 0 {
		switch {
		case total < len(b):
			b = b[:total]
			p.cut = 0
		case total > len(b)+p.cut:
			p.anomaly(IPv6TruncPkt)
			p.ipTrunc = true
		default:
			p.cut = total - len(b) // of the bytes the capture cut, only these were the datagram's
		}
	}
	p.walkIPv6(b)
}

// walkIPv6 follows the extension-header chain to the transport header.
func (p *Packet) walkIPv6(b []byte) {
	h := &p.IPv6
	nh, off := h.NextHeader, 40
	var seen uint8 // hop-by-hop, routing, fragment, AH: each may appear once
	for {
		var hlen int
		var once uint8
		switch nh {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts, ipv6Mobility, ipv6HIP, ipv6Shim6, ipv6Experiment, ipv6Experim2:
			if len(b) < off+2 {
				p.short(b, off+2, IPv6ExtHdrTruncated)
				return
			}
			hlen = (int(b[off+1]) + 1) * 8
			switch nh {
			case ipv6HopByHop:
				once = 1
			case ipv6Routing:
				once = 2
				if len(b) >= off+3 && b[off+2] == 0 {
					h.Routing0 = true
				}
			}
		case ipv6Fragment:
			hlen, once = 8, 4
		case ipv6AH:
			if len(b) < off+2 {
				p.short(b, off+2, IPv6ExtHdrTruncated)
				return
			}
			hlen, once = (int(b[off+1])+2)*4, 8
		default:
			p.Proto = nh
			if nh != ipv6ESP && nh != ipv6NoNext {
				p.l4Len = len(b) + p.cut - off
				if h.PayloadLen != 0 && !p.ipTrunc {
					p.l4Len = 40 + int(h.PayloadLen) - off
				}
				p.decodeTransport(nh, b[off:])
			}
			return
		}
		if h.ExtHeaders == MaxIPv6ExtHeaders {
			p.anomaly(IPv6ExtHdrTooMany)
			return
		}
		if len(b) < off+hlen {
			p.short(b, off+hlen, IPv6ExtHdrTruncated)
			return
		}
		if seen&once != 0 {
			if seen&0x80 == 0 {
				p.anomaly(IPv6ExtHdrDuplicate)
				seen |= 0x80 // once per packet
			}
		}
		seen |= once
		h.ExtHeaders++
		if nh == ipv6Fragment {
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			p.Layers |= LayerFragment
			p.Frag = Frag{ID: binary.BigEndian.Uint32(b[off+4 : off+8]), Offset: fo &^ 7, More: fo&1 != 0}
			if p.Frag.Offset != 0 {
				p.Proto = b[off]
				return // no transport header in a later fragment
			}
		}
		nh = b[off]
		off += hlen
	}
}
