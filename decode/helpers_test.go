package decode

// Shared helpers for the decoder's table tests: frame builders that produce real-looking bytes,
// the test-case type and its runner, and small field checks.

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// testTS is the capture time every table case is decoded with.
const testTS = int64(1_700_000_000_123_456_789)

// hx parses hex written as space-separated groups, one argument per field so that each can carry
// its own comment:
//
//	hx("45 00 00 3c", // version 4, IHL 5, TOS 0, total length 60
//	   "1c 46 40 00") // ID 0x1c46, DF, offset 0
func hx(parts ...string) []byte {
	s := strings.Join(strings.Fields(strings.Join(parts, " ")), "")
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(fmt.Sprintf("hx: %v in %q", err, s))
	}
	return b
}

// cat concatenates byte slices into a new one.
func cat(parts ...[]byte) []byte {
	var n int
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// zeros returns n zero bytes (padding, empty address slots).
func zeros(n int) []byte { return make([]byte, n) }

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// ---------------------------------------------------------------------------------------------
// Link layers.

var (
	macRouter = hx("00 1b 21 3a 4f 10") // Intel
	macHost   = hx("a4 5e 60 d1 22 7e") // Apple
)

// eth builds an Ethernet II frame (host -> router) with the given EtherType.
func eth(et uint16, payload []byte) []byte {
	return cat(macRouter, macHost, be16(et), payload)
}

// vtag is one stacked VLAN tag: the TPID announcing it and its TCI (PCP, DEI, VLAN id).
type vtag struct {
	tpid uint16
	tci  uint16
}

// ethVLAN builds an Ethernet frame carrying tags outermost first, then inner EtherType et.
func ethVLAN(et uint16, payload []byte, tags ...vtag) []byte {
	b := cat(macRouter, macHost, be16(tags[0].tpid))
	for i, t := range tags {
		next := et
		if i+1 < len(tags) {
			next = tags[i+1].tpid
		}
		b = append(b, be16(t.tci)...)
		b = append(b, be16(next)...)
	}
	return append(b, payload...)
}

// padTo pads a frame with zeros to n bytes, as a NIC pads short Ethernet frames to 60.
func padTo(frame []byte, n int) []byte {
	if len(frame) >= n {
		return frame
	}
	return cat(frame, zeros(n-len(frame)))
}

// sll builds a Linux cooked v1 header (outgoing packet, ARPHRD_ETHER, 6-byte address).
func sll(proto uint16, payload []byte) []byte {
	return cat(hx(
		"00 04",                   // packet type: outgoing
		"00 01",                   // ARPHRD_ETHER
		"00 06",                   // link-layer address length
		"a4 5e 60 d1 22 7e 00 00", // address, padded to 8
	), be16(proto), payload)
}

// sll2 builds a Linux cooked v2 header (protocol first).
func sll2(proto uint16, payload []byte) []byte {
	return cat(be16(proto), hx(
		"00 00",                   // reserved
		"00 00 00 02",             // interface index 2
		"00 01",                   // ARPHRD_ETHER
		"00",                      // packet type: to us
		"06",                      // address length
		"00 1b 21 3a 4f 10 00 00", // address, padded to 8
	), payload)
}

// nflogTLV is one NFLOG attribute: little-endian length (header included, padding excluded),
// little-endian type, value, then zero padding to a 4-byte boundary.
func nflogTLV(typ uint16, val []byte) []byte {
	b := cat(le16(uint16(4+len(val))), le16(typ), val)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// NFLOG attribute types used by the builders.
const (
	nfulaPacketHdr = 1
	nfulaIfindexIn = 4
	nfulaPayloadT  = 9
	nfulaPrefix    = 10
	nfulaUID       = 11
	nfulaGID       = 14
)

// nflog builds an NFLOG record the way Linux writes it: header, then packet header, prefix,
// ingress interface, uid, gid, and the packet last.
func nflog(family byte, pkt []byte) []byte {
	hwproto := uint16(0x0800)
	if family == 10 {
		hwproto = 0x86dd
	}
	return cat(
		[]byte{family, 0}, be16(0), // family, version 0, resource id 0
		nflogTLV(nfulaPacketHdr, cat(be16(hwproto), []byte{3, 0})), // hw protocol, hook LOCAL_OUT
		nflogTLV(nfulaPrefix, []byte("ids-drop\x00")),              // 9 bytes: 3 padding bytes follow
		nflogTLV(nfulaIfindexIn, be32(2)),
		nflogTLV(nfulaUID, be32(1000)),
		nflogTLV(nfulaGID, be32(1000)),
		nflogTLV(nfulaPayloadT, pkt),
	)
}

// null builds a BSD loopback header with family fam in the given byte order.
func null(fam uint32, bigEndian bool, payload []byte) []byte {
	if bigEndian {
		return cat(be32(fam), payload)
	}
	return cat(le32(fam), payload)
}

// ---------------------------------------------------------------------------------------------
// IPv4.

// Special values for the length overrides of ip4, ip6 and udpH.
const (
	lenAuto = 0  // computed from the contents
	lenZero = -1 // written as 0
)

// ip4 describes an IPv4 header; bytes() renders it with a valid checksum.
type ip4 struct {
	tos      uint8
	id       uint16
	flags    uint8  // IPv4Evil, IPv4DontFragment, IPv4MoreFragments
	fragOff  uint16 // in bytes, a multiple of 8
	ttl      uint8
	proto    uint8
	src, dst string
	opts     []byte // raw options, padded with EOL to a multiple of 4 unless ihl is set
	ihl      int    // header length in 32-bit words; 0: 5 + options
	total    int    // total length; lenAuto or lenZero, or a value
	version  uint8  // 0: 4
	payload  []byte
}

func (h ip4) bytes() []byte {
	opts := h.opts
	if h.ihl == 0 {
		for len(opts)%4 != 0 {
			opts = append(slices.Clip(opts), 0)
		}
	}
	ihl := h.ihl
	if ihl == 0 {
		if len(opts) > 40 {
			panic(fmt.Sprintf("ip4: %d bytes of options", len(opts)))
		}
		ihl = 5 + len(opts)/4
	}
	total := h.total
	switch total {
	case lenAuto:
		total = 20 + len(opts) + len(h.payload)
	case lenZero:
		total = 0
	}
	ver := h.version
	if ver == 0 {
		ver = 4
	}
	ttl := h.ttl
	if ttl == 0 {
		ttl = 64
	}
	b := []byte{ver<<4 | uint8(ihl&0x0f), h.tos}
	b = binary.BigEndian.AppendUint16(b, uint16(total))
	b = binary.BigEndian.AppendUint16(b, h.id)
	b = binary.BigEndian.AppendUint16(b, uint16(h.flags)<<13|h.fragOff/8)
	b = append(b, ttl, h.proto, 0, 0)
	s, d := addr(h.src).As4(), addr(h.dst).As4()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	b = append(b, opts...)
	binary.BigEndian.PutUint16(b[10:12], inetChecksum(b))
	return append(b, h.payload...)
}

// inetChecksum is the Internet checksum (RFC 1071) of b.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// ---------------------------------------------------------------------------------------------
// IPv6.

// ip6 describes a fixed IPv6 header; the extension headers go at the start of payload.
type ip6 struct {
	tc       uint8
	flow     uint32
	nh       uint8
	hop      uint8
	src, dst string
	plen     int   // payload length; lenAuto or lenZero, or a value
	version  uint8 // 0: 6
	payload  []byte
}

func (h ip6) bytes() []byte {
	ver := h.version
	if ver == 0 {
		ver = 6
	}
	plen := h.plen
	switch plen {
	case lenAuto:
		plen = len(h.payload)
	case lenZero:
		plen = 0
	}
	hop := h.hop
	if hop == 0 {
		hop = 64
	}
	b := be32(uint32(ver)<<28 | uint32(h.tc)<<20 | h.flow&0xfffff)
	b = binary.BigEndian.AppendUint16(b, uint16(plen))
	b = append(b, h.nh, hop)
	s, d := addr(h.src).As16(), addr(h.dst).As16()
	b = append(b, s[:]...)
	b = append(b, d[:]...)
	return append(b, h.payload...)
}

// optsHdr6 is a hop-by-hop or destination options header of (units+1)*8 bytes whose options
// are one PadN filling it.
func optsHdr6(nh uint8, units int) []byte {
	n := (units + 1) * 8
	b := []byte{nh, uint8(units), 1, uint8(n - 4)} // PadN covering the rest
	return cat(b, zeros(n-4))
}

// routerAlertHBH6 is a hop-by-hop header carrying an MLD router alert (as MLD reports do).
func routerAlertHBH6(nh uint8) []byte {
	return []byte{nh, 0, 5, 2, 0, 0, 1, 0} // router alert (MLD), PadN 0
}

// rtHdr6 is a routing header of the given type with segments left = len(addrs).
func rtHdr6(nh, typ uint8, addrs ...string) []byte {
	b := []byte{nh, uint8(2 * len(addrs)), typ, uint8(len(addrs)), 0, 0, 0, 0}
	for _, a := range addrs {
		x := addr(a).As16()
		b = append(b, x[:]...)
	}
	return b
}

// fragHdr6 is an IPv6 fragment header; off is in bytes (a multiple of 8).
func fragHdr6(nh uint8, off uint16, more bool, id uint32) []byte {
	fo := off
	if more {
		fo |= 1
	}
	return cat([]byte{nh, 0}, be16(fo), be32(id))
}

// ahHdr6 is an authentication header with an icvLen-byte ICV: its length field is
// (12+icvLen)/4 - 2 (RFC 4302: 32-bit words minus 2).
func ahHdr6(nh uint8, icvLen int) []byte {
	words := (12 + icvLen) / 4
	return cat([]byte{nh, uint8(words - 2), 0, 0},
		be32(0x0000_1001), // SPI
		be32(7),           // sequence number
		zeros(icvLen))
}

// ---------------------------------------------------------------------------------------------
// Transport.

// tcpH describes a TCP header.
type tcpH struct {
	sport, dport uint16
	seq, ack     uint32
	flags        uint16 // TCPFin..TCPAE
	win          uint16
	opts         []byte // padded with EOL to a multiple of 4 unless doff is set
	doff         int    // data offset in 32-bit words; 0: 5 + options
	payload      []byte
}

func (h tcpH) bytes() []byte {
	opts := h.opts
	if h.doff == 0 {
		for len(opts)%4 != 0 {
			opts = append(slices.Clip(opts), 0)
		}
	}
	doff := h.doff
	if doff == 0 {
		doff = 5 + len(opts)/4
	}
	win := h.win
	if win == 0 {
		win = 64240
	}
	b := cat(be16(h.sport), be16(h.dport), be32(h.seq), be32(h.ack))
	b = append(b, uint8(doff<<4)|uint8(h.flags>>8&1), uint8(h.flags))
	b = binary.BigEndian.AppendUint16(b, win)
	b = append(b, 0x8f, 0x3a, 0, 0) // checksum (not verified by the decoder), urgent pointer 0
	b = append(b, opts...)
	return append(b, h.payload...)
}

// TCP options as real stacks send them.
func optMSS(v uint16) []byte       { return cat([]byte{2, 4}, be16(v)) }
func optWS(s uint8) []byte         { return []byte{3, 3, s} }
func optSACKPerm() []byte          { return []byte{4, 2} }
func optTS(val, ecr uint32) []byte { return cat([]byte{8, 10}, be32(val), be32(ecr)) }
func optNOP() []byte               { return []byte{1} }
func optSACK(edges ...uint32) []byte { // pairs of left, right edges
	b := []byte{5, uint8(2 + 4*len(edges))}
	for _, e := range edges {
		b = append(b, be32(e)...)
	}
	return b
}

// linuxSynOpts is what a Linux SYN carries: MSS, SACK permitted, timestamps, NOP, window scale.
func linuxSynOpts() []byte {
	return cat(optMSS(1460), optSACKPerm(), optTS(2576958, 0), optNOP(), optWS(7))
}

// udpH describes a UDP header.
type udpH struct {
	sport, dport uint16
	length       int // lenAuto, lenZero, or a value
	payload      []byte
}

func (h udpH) bytes() []byte {
	l := h.length
	switch l {
	case lenAuto:
		l = 8 + len(h.payload)
	case lenZero:
		l = 0
	}
	return cat(be16(h.sport), be16(h.dport), be16(uint16(l)), be16(0x5c1e), h.payload)
}

// icmp4 builds an ICMPv4 message with a valid checksum.
func icmp4(typ, code uint8, rest uint32, body []byte) []byte {
	b := cat([]byte{typ, code, 0, 0}, be32(rest), body)
	binary.BigEndian.PutUint16(b[2:4], inetChecksum(b))
	return b
}

// icmp6 builds an ICMPv6 message (the checksum covers a pseudo-header; not verified here).
func icmp6(typ, code uint8, rest uint32, body []byte) []byte {
	return cat([]byte{typ, code, 0x4e, 0x21}, be32(rest), body)
}

// dnsQuery is a DNS query for example.com, A record.
var dnsQuery = hx(
	"3a 7c 01 00 00 01 00 00 00 00 00 00",                   // id, flags RD, 1 question
	"07 65 78 61 6d 70 6c 65 03 63 6f 6d 00", "00 01 00 01", // example.com A IN
)

// ---------------------------------------------------------------------------------------------
// Canonical packets reused across files.

const (
	cliV4 = "192.0.2.10"
	srvV4 = "198.51.100.7"
	rtrV4 = "203.0.113.1"
	cliV6 = "2001:db8::10"
	srvV6 = "2001:db8:1::53"
	rtrV6 = "2001:db8:ffff::1"
)

// synV4 is a Linux TCP SYN 192.0.2.10:51514 -> 198.51.100.7:443 with the usual options.
func synV4() []byte {
	return ip4{id: 0xe8ef, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
		payload: tcpH{sport: 51514, dport: 443, seq: 0x3f32bad1, flags: TCPSyn, win: 64240, opts: linuxSynOpts()}.bytes()}.bytes()
}

// ackV4 is a bare ACK (40 bytes: a frame that Ethernet pads to 60).
func ackV4() []byte {
	return ip4{id: 0xe8f0, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
		payload: tcpH{sport: 51514, dport: 443, seq: 0x3f32bad2, ack: 0x9a0c4411, flags: TCPAck, win: 502}.bytes()}.bytes()
}

// dnsV4 is a UDP DNS query 192.0.2.10:53001 -> 198.51.100.7:53.
func dnsV4() []byte {
	return ip4{id: 0x4d2, proto: 17, src: cliV4, dst: srvV4,
		payload: udpH{sport: 53001, dport: 53, payload: dnsQuery}.bytes()}.bytes()
}

// dnsV6 is a UDP DNS query [2001:db8::10]:53001 -> [2001:db8:1::53]:53.
func dnsV6() []byte {
	return ip6{flow: 0x5a1c3, nh: 17, src: cliV6, dst: srvV6,
		payload: udpH{sport: 53001, dport: 53, payload: dnsQuery}.bytes()}.bytes()
}

// synV6 is a TCP SYN [2001:db8::10]:51514 -> [2001:db8:1::53]:443.
func synV6() []byte {
	return ip6{flow: 0x5a1c3, nh: 6, src: cliV6, dst: srvV6,
		payload: tcpH{sport: 51514, dport: 443, seq: 0x3f32bad1, flags: TCPSyn, opts: linuxSynOpts()}.bytes()}.bytes()
}

// ---------------------------------------------------------------------------------------------
// Test cases.

// decodeCase is one frame and what decoding it must give.
type decodeCase struct {
	name   string
	lt     layers.LinkType
	data   []byte
	snap   int       // when > 0, only the first snap bytes are captured (wire length stays len(data))
	wire   int       // when > 0 (and snap is 0), the wire length; else len(data)
	layers Layer     // the exact Layers set
	want   []Anomaly // the exact anomalies, in order (nil: none)
	check  func(t *testing.T, p *Packet)
}

// frame returns the captured bytes and the wire length.
func (c decodeCase) frame() ([]byte, int) {
	switch {
	case c.snap > 0:
		return c.data[:c.snap], len(c.data)
	case c.wire > 0:
		return c.data, c.wire
	}
	return c.data, len(c.data)
}

// decode decodes the case into a fresh Packet.
func (c decodeCase) decode() *Packet {
	data, wire := c.frame()
	p := new(Packet)
	p.Decode(c.lt, data, testTS, wire)
	return p
}

func runCases(t *testing.T, cases []decodeCase) {
	t.Helper()
	seen := map[string]bool{}
	for _, c := range cases {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			p := c.decode()
			data, wire := c.frame()
			if got := p.Anomalies(); !slices.Equal(got, c.want) {
				t.Errorf("anomalies = %v, want %v", got, c.want)
			}
			if p.Layers != c.layers {
				t.Errorf("layers = %s, want %s", layerNames(p.Layers), layerNames(c.layers))
			}
			if p.TS != testTS || p.WireLen != wire || len(p.Data) != len(data) || p.LinkType != c.lt {
				t.Errorf("capture fields: TS %d WireLen %d len(Data) %d LinkType %d", p.TS, p.WireLen, len(p.Data), p.LinkType)
			}
			if c.check != nil {
				c.check(t, p)
			}
		})
	}
}

var layerBitNames = []string{"Ethernet", "VLAN", "SLL", "IPv4", "IPv6", "TCP", "UDP", "ICMPv4", "ICMPv6",
	"Fragment", "IPv4Opts", "Quoted", "Truncated", "Reassembled"}

// layerNames renders a Layer set as "IPv4|TCP".
func layerNames(l Layer) string {
	var names []string
	for l != 0 {
		i := bits.TrailingZeros32(uint32(l))
		if i < len(layerBitNames) {
			names = append(names, layerBitNames[i])
		} else {
			names = append(names, fmt.Sprintf("bit%d", i))
		}
		l &^= 1 << i
	}
	if names == nil {
		return "0"
	}
	return strings.Join(names, "|")
}

// ---------------------------------------------------------------------------------------------
// Field checks, combined with all().

type check = func(t *testing.T, p *Packet)

func all(cs ...check) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		for _, c := range cs {
			c(t, p)
		}
	}
}

func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// wantIP checks the network layer: version, addresses, transport protocol.
func wantIP(ver uint8, src, dst string, proto uint8) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "IPVersion", p.IPVersion, ver)
		eq(t, "Src", p.Src, addr(src))
		eq(t, "Dst", p.Dst, addr(dst))
		eq(t, "Proto", p.Proto, proto)
	}
}

// wantOffsets checks where the IP and transport headers start.
func wantOffsets(netOff, transOff int) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "NetOff", p.NetOff, netOff)
		eq(t, "TransOff", p.TransOff, transOff)
	}
}

func wantNetOff(netOff int) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "NetOff", p.NetOff, netOff)
	}
}

func wantPorts(sport, dport uint16) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "SrcPort", p.SrcPort, sport)
		eq(t, "DstPort", p.DstPort, dport)
	}
}

func wantTTL(ttl uint8) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "TTL", p.TTL, ttl)
	}
}

func wantVLANs(ids ...uint16) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		if got := p.VLAN[:p.NumVLAN]; !slices.Equal(got, ids) {
			t.Errorf("VLANs = %v, want %v", got, ids)
		}
	}
}

// wantPayload checks the transport payload bytes (nil means none at all).
func wantPayload(b []byte) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		if b == nil && p.Payload != nil {
			t.Errorf("Payload = %x, want nil", p.Payload)
		} else if !slices.Equal(p.Payload, b) {
			t.Errorf("Payload = %x (%d bytes), want %x (%d bytes)", p.Payload, len(p.Payload), b, len(b))
		}
	}
}

func wantPayloadLen(n int) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "len(Payload)", len(p.Payload), n)
	}
}

func wantFrag(id uint32, off uint16, more bool) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "Frag", p.Frag, Frag{ID: id, Offset: off, More: more})
	}
}

func wantTCP(seq, ack uint32, flags uint16, hlen uint8) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "TCP.Seq", p.TCP.Seq, seq)
		eq(t, "TCP.Ack", p.TCP.Ack, ack)
		eq(t, "TCP.Flags", p.TCP.Flags, flags)
		eq(t, "TCP.HeaderLen", p.TCP.HeaderLen, hlen)
	}
}

// wantTCPOpts checks the parsed options: the set, and each value the set says is present.
func wantTCPOpts(want TCPOptions) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		o := p.TCP.Opt
		eq(t, "TCP.Opt.Has", o.Has, want.Has)
		if want.Has&TCPOptMSS != 0 {
			eq(t, "TCP.Opt.MSS", o.MSS, want.MSS)
		}
		if want.Has&TCPOptWScale != 0 {
			eq(t, "TCP.Opt.WScale", o.WScale, want.WScale)
		}
		if want.Has&TCPOptTimestamps != 0 {
			eq(t, "TCP.Opt.TSVal", o.TSVal, want.TSVal)
			eq(t, "TCP.Opt.TSEcr", o.TSEcr, want.TSEcr)
		}
	}
}

// wantSegLen checks the TCP payload length as sent (from the IP lengths).
func wantSegLen(n int) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "TCP.SegLen", p.TCP.SegLen, n)
	}
}

func wantICMP(typ, code uint8, rest uint32) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "ICMP.Type", p.ICMP.Type, typ)
		eq(t, "ICMP.Code", p.ICMP.Code, code)
		eq(t, "ICMP.Rest", p.ICMP.Rest, rest)
	}
}

func wantQuoted(q Quoted) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "Quoted", p.Quoted, q)
	}
}
