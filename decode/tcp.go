package decode

import "encoding/binary"

// TCP is the decoded TCP header.
type TCP struct {
	Seq, Ack  uint32
	HeaderLen uint8  // data offset in bytes, as claimed
	Flags     uint16 // TCPFin..TCPCwr, TCPAE
	Window    uint16
	Checksum  uint16
	Urgent    uint16
	Options   []byte     // raw option bytes, nil when none or not captured
	Opt       TCPOptions // what the options hold
	SegLen    int        // payload bytes as sent (from the IP lengths; Payload may hold fewer)
}

// TCP flag bits.
const (
	TCPFin = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
	TCPAE // accurate ECN (formerly NS)
)

// TCPOptions holds the options a connection's state needs.
type TCPOptions struct {
	Has    TCPOptSet
	MSS    uint16
	WScale uint8
	TSVal  uint32
	TSEcr  uint32
}

// TCPOptSet is a bit set of TCP options present.
type TCPOptSet uint8

const (
	TCPOptMSS TCPOptSet = 1 << iota
	TCPOptWScale
	TCPOptSACKPermitted
	TCPOptSACK
	TCPOptTimestamps
)

func (p *Packet) decodeTransport(proto uint8, b []byte) {
	p.TransOff = p.offset(b)
	switch proto {
	case 6:
		p.decodeTCP(b)
	case 17:
		p.decodeUDP(b)
	case 1:
		if p.IPVersion != 4 {
			p.anomaly(ICMPv4OverIPv6)
			return
		}
		p.decodeICMPv4(b)
	case 58:
		if p.IPVersion != 6 {
			p.anomaly(ICMPv4OverIPv6)
			return
		}
		p.decodeICMPv6(b)
	}
}

// SYN reports a SYN without ACK: the first packet of a handshake.
func (t *TCP) SYN() bool { return t.Flags&(TCPSyn|TCPAck) == TCPSyn }

func (p *Packet) decodeTCP(b []byte) {
	if len(b) < 20 {
		if !p.ipTrunc { // an IP-level shortfall is reported once, there
			p.short(b, 20, TCPPktTooSmall)
		}
		return
	}
	t := &p.TCP
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	t.Seq = binary.BigEndian.Uint32(b[4:8])
	t.Ack = binary.BigEndian.Uint32(b[8:12])
	t.HeaderLen = (b[12] >> 4) * 4
	t.Flags = uint16(b[13]) | uint16(b[12]&1)<<8
	t.Window = binary.BigEndian.Uint16(b[14:16])
	t.Checksum = binary.BigEndian.Uint16(b[16:18])
	t.Urgent = binary.BigEndian.Uint16(b[18:20])
	t.Options = nil
	t.Opt.Has = 0
	t.SegLen = 0
	p.Layers |= LayerTCP // ports, flags and sequence numbers are usable from here on

	hlen := int(t.HeaderLen)
	if hlen < 20 {
		p.anomaly(TCPHlenTooSmall)
		return
	}
	if len(b) < hlen {
		if !p.ipTrunc {
			p.short(b, hlen, TCPHlenTooLarge)
		}
		return
	}
	if hlen > 20 {
		t.Options = b[20:hlen]
		p.parseTCPOptions(t.Options)
	}
	p.Payload = b[hlen:]
	t.SegLen = max(p.l4Len-hlen, len(p.Payload))
}

func (p *Packet) parseTCPOptions(opts []byte) {
	o := &p.TCP.Opt
	for i := 0; i < len(opts); {
		k := opts[i]
		if k == 0 { // end of list
			return
		}
		if k == 1 { // no-op
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			p.anomaly(TCPOptLenInvalid)
			return
		}
		l := int(opts[i+1])
		v := opts[i+2 : i+l]
		ok := true
		switch k {
		case 2:
			if ok = l == 4; ok {
				o.Has |= TCPOptMSS
				o.MSS = binary.BigEndian.Uint16(v)
			}
		case 3:
			if ok = l == 3; ok {
				o.Has |= TCPOptWScale
				o.WScale = v[0]
			}
		case 4:
			if ok = l == 2; ok {
				o.Has |= TCPOptSACKPermitted
			}
		case 5:
			if ok = l >= 10 && (l-2)%8 == 0; ok {
				o.Has |= TCPOptSACK
			}
		case 8:
			if ok = l == 10; ok {
				o.Has |= TCPOptTimestamps
				o.TSVal = binary.BigEndian.Uint32(v[0:4])
				o.TSEcr = binary.BigEndian.Uint32(v[4:8])
			}
		}
		if !ok {
			p.anomaly(TCPOptInvalidLen)
		}
		i += l
	}
}

// UDP is the decoded UDP header.
type UDP struct {
	Length   uint16
	Checksum uint16
}

func (p *Packet) decodeUDP(b []byte) {
	if len(b) < 8 {
		p.short(b, 8, UDPPktTooSmall)
		return
	}
	p.SrcPort = binary.BigEndian.Uint16(b[0:2])
	p.DstPort = binary.BigEndian.Uint16(b[2:4])
	p.UDP = UDP{Length: binary.BigEndian.Uint16(b[4:6]), Checksum: binary.BigEndian.Uint16(b[6:8])}
	p.Layers |= LayerUDP
	l := int(p.UDP.Length)
	switch {
	case p.Frag.More && p.Layers&LayerFragment != 0:
		p.Payload = b[8:] // the datagram continues in later fragments
	case l < 8 || (l > len(b)+p.cut && !p.ipTrunc): // an IP-level shortfall is reported once, there
		p.anomaly(UDPLenInvalid)
		p.Payload = b[8:]
	case l <= len(b):
		p.Payload = b[8:l]
	default:
		p.Payload = b[8:] // the rest was cut by the capture
	}
}
