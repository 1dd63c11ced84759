package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Link types gopacket has no names for: DLT_RAW as written by OpenBSD (12) and BSD/OS (14), and
// Linux NFLOG (239).
const (
	linkTypeRawOpenBSD layers.LinkType = 12
	linkTypeRawBSDOS   layers.LinkType = 14
	LinkTypeNFLog      layers.LinkType = 239
)

// EtherTypes dispatched here.
const (
	etherTypeIPv4   = 0x0800
	etherTypeIPv6   = 0x86dd
	etherTypeVLAN   = 0x8100 // 802.1Q
	etherTypeQinQ   = 0x88a8 // 802.1ad service tag
	etherTypeQinQv1 = 0x9100 // pre-standard double tagging, still emitted by some switches
)

func (p *Packet) decodeLink(lt layers.LinkType, b []byte) {
	switch lt {
	case layers.LinkTypeEthernet:
		p.decodeEthernet(b)
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, linkTypeRawBSDOS:
		p.decodeRawIP(b)
	case layers.LinkTypeIPv4:
		p.decodeIPv4(b)
	case layers.LinkTypeIPv6:
		p.decodeIPv6(b)
	case layers.LinkTypeLinuxSLL:
		p.decodeSLL(b)
	case layers.LinkTypeLinuxSLL2:
		p.decodeSLL2(b)
	case layers.LinkTypeNull:
		p.decodeNull(b, false)
	case layers.LinkTypeLoop:
		p.decodeNull(b, true)
	case LinkTypeNFLog:
		p.decodeNFLog(b)
	default:
		p.anomaly(LinkUnsupported)
	}
}

// decodeEthernet decodes an Ethernet II header. An EtherType below 0x600 is an 802.3 length
// (LLC frames: STP, NetBIOS over LLC): not IP, not an anomaly.
func (p *Packet) decodeEthernet(b []byte) {
	if len(b) < 14 {
		p.short(b, 14, EthPktTooSmall)
		return
	}
	p.Layers |= LayerEthernet
	p.decodeEtherType(binary.BigEndian.Uint16(b[12:14]), b[14:])
}

// decodeEtherType dispatches on an EtherType, peeling stacked VLAN tags first. Ethernet and the
// Linux cooked headers share it.
func (p *Packet) decodeEtherType(et uint16, b []byte) {
	for et == etherTypeVLAN || et == etherTypeQinQ || et == etherTypeQinQv1 {
		if len(b) < 4 {
			p.short(b, 4, VLANHdrTooSmall)
			return
		}
		if int(p.NumVLAN) == MaxVLANs {
			p.anomaly(VLANTooManyTags)
			return
		}
		p.Layers |= LayerVLAN
		p.VLAN[p.NumVLAN] = binary.BigEndian.Uint16(b[0:2]) & 0x0fff
		p.NumVLAN++
		et = binary.BigEndian.Uint16(b[2:4])
		b = b[4:]
	}
	switch et {
	case etherTypeIPv4:
		p.decodeIPv4(b)
	case etherTypeIPv6:
		p.decodeIPv6(b)
	}
}

// decodeRawIP decodes a raw-IP link, where the version nibble is the only type information.
func (p *Packet) decodeRawIP(b []byte) {
	if len(b) < 1 {
		p.short(b, 1, IPRawInvalidVersion)
		return
	}
	switch b[0] >> 4 {
	case 4:
		p.decodeIPv4(b)
	case 6:
		p.decodeIPv6(b)
	default:
		p.anomaly(IPRawInvalidVersion)
	}
}

// decodeSLL decodes a Linux cooked-mode v1 header (16 bytes; protocol last).
func (p *Packet) decodeSLL(b []byte) {
	if len(b) < 16 {
		p.short(b, 16, SLLPktTooSmall)
		return
	}
	p.Layers |= LayerSLL
	p.decodeEtherType(binary.BigEndian.Uint16(b[14:16]), b[16:])
}

// decodeSLL2 decodes a Linux cooked-mode v2 header (20 bytes; protocol first).
func (p *Packet) decodeSLL2(b []byte) {
	if len(b) < 20 {
		p.short(b, 20, SLL2PktTooSmall)
		return
	}
	p.Layers |= LayerSLL
	p.decodeEtherType(binary.BigEndian.Uint16(b[0:2]), b[20:])
}

// decodeNull decodes the 4-byte BSD loopback header: an address family in the byte order of the
// machine that wrote it (DLT_NULL) or in network order (DLT_LOOP). IPv6's value differs by OS.
func (p *Packet) decodeNull(b []byte, networkOrder bool) {
	if len(b) < 4 {
		p.short(b, 4, NullPktTooSmall)
		return
	}
	fam := binary.LittleEndian.Uint32(b[0:4])
	if networkOrder || fam > 0xffff {
		fam = binary.BigEndian.Uint32(b[0:4])
	}
	switch fam {
	case 2: // AF_INET everywhere
		p.decodeIPv4(b[4:])
	case 10, 24, 28, 30: // AF_INET6: Linux, NetBSD/OpenBSD, FreeBSD, macOS
		p.decodeIPv6(b[4:])
	default:
		p.anomaly(NullUnknownFamily)
	}
}

// decodeNFLog decodes Linux NFLOG: a 4-byte header, then TLVs (length and type in the writer's
// byte order, little endian in practice, 4-byte aligned); the packet is in NFULA_PAYLOAD.
func (p *Packet) decodeNFLog(b []byte) {
	const nfulaPayload = 9
	if len(b) < 4 {
		p.short(b, 4, NFLogPktTooSmall)
		return
	}
	family := b[0]
	for off := 4; off+4 <= len(b); {
		tlen := int(binary.LittleEndian.Uint16(b[off : off+2]))
		typ := binary.LittleEndian.Uint16(b[off+2:off+4]) & 0x7fff // top bits are netlink flags
		if tlen < 4 || off+tlen > len(b) {
			if tlen >= 4 && off+tlen <= len(b)+p.cut {
				if typ == nfulaPayload {
					p.cut = off + tlen - len(b) // of the bytes the capture cut, only these were the payload's
					p.decodeNFLogPayload(family, b[off+4:])
				} else {
					p.anomaly(CaptureTruncated) // the capture cut an attribute before the payload
				}
				return
			}
			p.anomaly(NFLogTLVInvalid)
			return
		}
		if typ == nfulaPayload {
			p.cut = 0 // the payload was captured whole: the capture cut only what follows it
			p.decodeNFLogPayload(family, b[off+4:off+tlen])
			return
		}
		off += (tlen + 3) &^ 3
	}
}

func (p *Packet) decodeNFLogPayload(family byte, b []byte) {
	switch family {
	case 2:
		p.decodeIPv4(b)
	case 10:
		p.decodeIPv6(b)
	default:
		p.decodeRawIP(b)
	}
}
