package decode

import (
	"encoding/binary"
	"net/netip"
)

// IPv4 is the decoded IPv4 header, fields as sent (never repaired).
type IPv4 struct {
	HeaderLen uint8 // IHL*4 as claimed by the header, in bytes
	TOS       uint8
	TotalLen  uint16
	ID        uint16
	Flags     uint8  // the three flag bits: 4 reserved ("evil"), 2 DF, 1 MF
	FragOff   uint16 // fragment offset in bytes
	Protocol  uint8
	Checksum  uint16
	Options   []byte      // raw option bytes (header bytes 20..HeaderLen), nil when none
	Opts      IPv4Options // what the options hold, and the first malformed one
}

// IPv4 flag bits.
const (
	IPv4MoreFragments = 1
	IPv4DontFragment  = 2
	IPv4Evil          = 4
)

func (p *Packet) decodeIPv4(b []byte) {
	if len(b) < 20 {
		p.short(b, 20, IPv4PktTooSmall)
		return
	}
	if b[0]>>4 != 4 {
		p.anomaly(IPv4WrongVersion)
		return
	}
	h := &p.IPv4
	h.HeaderLen = (b[0] & 0x0f) * 4
	h.TOS = b[1]
	h.TotalLen = binary.BigEndian.Uint16(b[2:4])
	h.ID = binary.BigEndian.Uint16(b[4:6])
	ff := binary.BigEndian.Uint16(b[6:8])
	h.Flags = uint8(ff >> 13)
	h.FragOff = (ff & 0x1fff) * 8
	h.Protocol = b[9]
	h.Checksum = binary.BigEndian.Uint16(b[10:12])
	h.Options = nil
	h.Opts = IPv4Options{}

	p.Layers |= LayerIPv4
	p.IPVersion = 4
	p.NetOff = p.offset(b)
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = h.Protocol
	p.TTL = b[8]

	hlen := int(h.HeaderLen)
	if hlen < 20 {
		p.Layers |= LayerIPv4Opts
		p.anomaly(IPv4HlenTooSmall)
		return
	}
	total := int(h.TotalLen)
	if total == 0 {
		// Segmentation offload on the capturing host leaves the length for the NIC to fill in
		// (Zeek's ip_hdr_len_zero): recorded, then decoded as long as the frame.
		p.anomaly(IPv4IplenZero)
		total = max(len(b)+p.cut, hlen) // a frame too short for the header is caught below
	}
	if total < hlen {
		p.Layers |= LayerIPv4Opts
		p.anomaly(IPv4IplenSmallerThan)
		return
	}
	if len(b) < hlen {
		p.short(b, hlen, IPv4TruncPkt)
		return
	}
	if hlen > 20 {
		p.Layers |= LayerIPv4Opts
		h.Options = b[20:hlen]
		p.parseIPv4Options(h.Options)
	}

	switch {
	case total < len(b):
		b = b[:total] // link-layer padding follows the datagram
		p.cut = 0
	case total > len(b)+p.cut:
		p.anomaly(IPv4TruncPkt) // shorter on the wire than it claims; decode what is there
		p.ipTrunc = true
	default:
		p.cut = total - len(b) // of the bytes the capture cut, only these were the datagram's
	}

	if h.Flags&IPv4MoreFragments != 0 || h.FragOff != 0 {
		p.Layers |= LayerFragment
		p.Frag = Frag{ID: uint32(h.ID), Offset: h.FragOff, More: h.Flags&IPv4MoreFragments != 0}
		if h.FragOff != 0 {
			return // no transport header in a later fragment
		}
	}
	p.l4Len = total - hlen
	if p.ipTrunc {
		p.l4Len = len(b) + p.cut - hlen // shorter on the wire than claimed: count what was sent
	}
	p.decodeTransport(h.Protocol, b[hlen:])
}

// Frag describes an IP fragment of either family.
type Frag struct {
	ID     uint32 // IPv4 identification or IPv6 fragment identification
	Offset uint16 // in bytes
	More   bool   // more fragments follow
}
