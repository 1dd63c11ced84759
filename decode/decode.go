// Package decode turns a captured frame into a Packet: link layer, IPv4/IPv6, TCP/UDP/ICMP, and the
// headers quoted inside ICMP errors.
//
// Invariants, relied on by every caller:
//   - No heap allocation. A worker owns one Packet and Decode overwrites it in place.
//   - The caller owns the frame. Every slice in a Packet is a read-only view into it, valid until
//     the caller reuses that buffer.
//   - Hostile input is normal input. Decode never panics and never reads past the frame; anything
//     malformed is recorded as an Anomaly (a stable name) and decoding stops at the layer that is
//     unusable, keeping everything decoded before it.
//   - Intrinsic malformation and capture truncation are kept apart: a header cut short by the
//     capture's snap length (caplen < wire length) is CaptureTruncated, never a protocol anomaly,
//     so detectors can tell a malformed packet from a short capture.
package decode

import (
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket/layers"
)

// Limits on untrusted structure; each bounds work per packet.
const (
	MaxVLANs          = 4   // stacked 802.1Q/802.1ad tags decoded; deeper stacks are an anomaly
	MaxAnomalies      = 8   // anomaly slots per packet; more are counted in AnomaliesDropped
	MaxIPv6ExtHeaders = 128 // extension headers walked before giving up (a real 100-header chain exists)
)

// Layer is a bit set of what was decoded; Packet.Layers holds it.
type Layer uint32

const (
	LayerEthernet Layer = 1 << iota
	LayerVLAN
	LayerSLL
	LayerIPv4
	LayerIPv6
	LayerTCP
	LayerUDP
	LayerICMPv4
	LayerICMPv6
	LayerFragment    // the IP packet is a fragment (MF set or offset > 0)
	LayerIPv4Opts    // IPv4 header longer than 20 bytes, or a header-length anomaly
	LayerQuoted      // an ICMP error's quoted IP header was decoded into Packet.Quoted
	LayerTruncated   // the capture cut this frame (caplen < wire length)
	LayerReassembled // the IP datagram was reassembled from fragments (DecodeDatagram)
)

// Packet is one decoded frame. See the package doc for ownership rules.
type Packet struct {
	Data     []byte // the captured frame
	TS       int64  // capture time, Unix nanoseconds
	WireLen  int    // length on the wire as recorded by the capture
	LinkType layers.LinkType

	Layers  Layer
	VLAN    [MaxVLANs]uint16 // VLAN ids, outermost first
	NumVLAN uint8

	// Network layer. Src and Dst are valid when IPVersion is 4 or 6.
	IPVersion uint8
	Src, Dst  netip.Addr
	NetOff    int   // offset of the IP header in Data
	IPv4      IPv4  // valid when LayerIPv4 is set
	IPv6      IPv6  // valid when LayerIPv6 is set
	Proto     uint8 // transport protocol: IPv4 protocol or the IPv6 header after the extension chain
	Frag      Frag  // valid when LayerFragment is set
	TTL       uint8 // IPv4 TTL or IPv6 hop limit

	// Transport layer. Ports are valid for TCP and UDP.
	TransOff         int // offset of the transport header in Data
	SrcPort, DstPort uint16
	TCP              TCP    // valid when LayerTCP is set
	UDP              UDP    // valid when LayerUDP is set
	ICMP             ICMP   // valid when LayerICMPv4 or LayerICMPv6 is set
	Quoted           Quoted // valid when LayerQuoted is set
	Payload          []byte // transport payload as captured (may be shorter than sent)

	anomalies        [MaxAnomalies]Anomaly
	numAnomalies     uint8
	AnomaliesDropped uint8 // anomalies beyond MaxAnomalies, counted but not kept

	l4Len   int  // transport bytes the IP header claims (what was sent, not what was captured)
	cut     int  // bytes the capture removed from the end of the frame (WireLen - len(Data), >= 0)
	ipTrunc bool // the IP header claims more bytes than were sent (IPv4TruncPkt, IPv6TruncPkt)
}

// Decode decodes frame data of the given link type. ts is the capture time in Unix nanoseconds and
// wireLen the original length; a wireLen below len(data) (a writer bug) is treated as len(data).
func (p *Packet) Decode(lt layers.LinkType, data []byte, ts int64, wireLen int) {
	p.reset()
	p.Data, p.TS, p.LinkType, p.WireLen = data, ts, lt, wireLen
	if wireLen > len(data) {
		p.cut = wireLen - len(data)
		p.Layers |= LayerTruncated
	}
	p.decodeLink(lt, data)
}

// reset clears everything, so no field can leak from the previous packet into this one.
func (p *Packet) reset() { *p = Packet{} }

// offset returns where b, a sub-slice of p.Data, starts in it. Decoders only ever slice with two
// indexes, so capacities shrink exactly as offsets grow, even after a trailer was trimmed.
func (p *Packet) offset(b []byte) int { return cap(p.Data) - cap(b) }

// Anomalies returns the anomalies recorded for this packet, in the order met.
func (p *Packet) Anomalies() []Anomaly { return p.anomalies[:p.numAnomalies] }

// HasAnomaly reports whether a was recorded.
func (p *Packet) HasAnomaly(a Anomaly) bool { return slices.Contains(p.Anomalies(), a) }

// Record adds an anomaly found by a later stage (defragmentation, stream reassembly).
func (p *Packet) Record(a Anomaly) { p.anomaly(a) }

// DecodeDatagram decodes a reassembled IP datagram (starting at its IP header) in place of the
// fragment just decoded: the capture time and VLAN ids stay those of the fragment that completed
// it; everything from the network layer down, and the anomaly list, is the datagram's own.
func (p *Packet) DecodeDatagram(data []byte) {
	vlan, nvlan, ts, lt := p.VLAN, p.NumVLAN, p.TS, p.LinkType
	link := p.Layers & (LayerEthernet | LayerVLAN | LayerSLL)
	p.reset()
	p.Data, p.TS, p.LinkType, p.WireLen = data, ts, lt, len(data)
	p.VLAN, p.NumVLAN = vlan, nvlan
	p.Layers = link | LayerReassembled
	p.decodeRawIP(data)
}

func (p *Packet) anomaly(a Anomaly) {
	if int(p.numAnomalies) < MaxAnomalies {
		p.anomalies[p.numAnomalies] = a
		p.numAnomalies++
	} else if p.AnomaliesDropped < 255 {
		p.AnomaliesDropped++
	}
}

// short records why b holds fewer than need bytes: the capture cut the frame, or the packet itself
// is too small (tooSmall). Decoders call it and stop.
func (p *Packet) short(b []byte, need int, tooSmall Anomaly) {
	if p.Layers&LayerFragment != 0 && p.Frag.More {
		return // the header continues in the next fragment: reassembly, not this decoder, judges it
	}
	if len(b)+p.cut >= need {
		p.anomaly(CaptureTruncated)
	} else {
		p.anomaly(tooSmall)
	}
}

// Has reports whether every layer bit in l was decoded.
func (p *Packet) Has(l Layer) bool { return p.Layers&l == l }
