package decode

// Regression tests for decoder bugs that have been fixed. Each states what went wrong and why the
// result asserted is the correct one; none of them skips, so a bug that comes back fails here.
// The fuzz target (fuzz_test.go) and the differential test (gopacket_test.go) check the same
// properties on generated and real inputs.

import (
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// staleY sets nearly every field: QinQ, an IPv4 first fragment with options, TCP options.
func staleY() []byte {
	return ethVLAN(0x0800, ip4{id: 0x5555, flags: IPv4MoreFragments, proto: 6, src: "10.1.2.3", dst: "10.3.2.1", opts: hx("94 04 00 00"),
		payload: tcpH{sport: 7, dport: 8, seq: 9, ack: 10, flags: TCPAck, opts: sackAckOpts, payload: []byte("stale")}.bytes()}.bytes(),
		vtag{0x88a8, 11}, vtag{0x8100, 12}, vtag{0x8100, 13})
}

// staleY2 is an ICMP error with a quote.
func staleY2() []byte {
	return eth(0x0800, icmpErr4(ICMPv4Unreachable, ICMPv4CodeFragNeeded, 1492, synV4()[:28]))
}

// TestResetClearsStaleFields: reset() once cleared only some fields, so Src/Dst, NetOff/TransOff,
// IPv4/IPv6/Frag/TCP/UDP/ICMP/Quoted and VLAN[NumVLAN:] kept the previous packet's values (an
// ARP frame's Src, TCP.Opt.MSS without its Has bit, evidence mixing two packets). Decode must give
// the same exported result whatever the Packet held before ("A worker owns one Packet and Decode
// overwrites it in place"), so a reused Packet must equal a fresh one field for field.
func TestResetClearsStaleFields(t *testing.T) {
	xs := []struct {
		name string
		lt   layers.LinkType
		data []byte
	}{
		{"arp", ltEther, padTo(eth(0x0806, arpRequest), 60)},
		{"ipv6_udp", ltEther, eth(0x86dd, dnsV6())},
		{"icmp_echo", ltRaw, pingV4()},
		{"tcp_no_options", ltRaw, ackV4()},
		{"eth_too_small", ltEther, hx("00 1b 21")},
		{"link_unsupported", layers.LinkTypePPP, synV4()},
	}
	for _, x := range xs {
		for i, y := range [][]byte{staleY(), staleY2()} {
			fresh, reused := new(Packet), new(Packet)
			fresh.Decode(x.lt, x.data, 1, len(x.data))
			reused.Decode(ltEther, y, 2, len(y))
			reused.Decode(x.lt, x.data, 1, len(x.data))
			if !reflect.DeepEqual(validView(fresh), validView(reused)) {
				t.Errorf("%s after y%d: fields valid under the layer bits differ:\nfresh  %+v\nreused %+v", x.name, i, validView(fresh), validView(reused))
				continue
			}
			if !reflect.DeepEqual(exported(fresh), exported(reused)) {
				t.Errorf("%s after y%d: exported fields differ from a fresh decode:\nfresh  %+v\nreused %+v", x.name, i, exported(fresh).P, exported(reused).P)
			}
		}
	}
}

// TestOffsetsAfterTrailerTrim: NetOff and TransOff were computed as len(Data)-len(b), which points
// past the header by the trimmed amount once b has been cut at its end to the IP length (link
// padding, trailers) or to the NFLOG payload TLV. They must be where the headers start in Data,
// whatever follows the datagram; cap(Data)-cap(b) gives that, as re-slicing never changes it.
func TestOffsetsAfterTrailerTrim(t *testing.T) {
	cases := []struct {
		name             string
		lt               layers.LinkType
		data             []byte
		netOff, transOff int
	}{
		{"ethernet_padded_ipv4_ack", ltEther, padTo(eth(0x0800, ackV4()), 60), 14, 34},
		{"ethernet_padded_ipv4_udp", ltEther,
			padTo(eth(0x0800, ip4{proto: 17, src: cliV4, dst: srvV4, payload: udpH{sport: 7, dport: 7, payload: []byte("ping")}.bytes()}.bytes()), 60),
			14, 34},
		{"ipv6_trailer", ltRaw, cat(dnsV6(), hx("de ad be ef")), 0, 40},
		{"nflog_payload_then_tlv", ltNFLog,
			cat(hx("02 00 00 00"), nflogTLV(nfulaPayloadT, synV4()), nflogTLV(nfulaUID, be32(0))), 8, 28},
		{"nflog_payload_padding", ltNFLog, nflog(2, dnsV4()), nflogPayloadOff, nflogPayloadOff + 20},
	}
	for _, c := range cases {
		var p Packet
		p.Decode(c.lt, c.data, 0, len(c.data))
		if len(p.Anomalies()) != 0 || p.IPVersion == 0 {
			t.Fatalf("%s: setup: anomalies %v, layers %s", c.name, p.Anomalies(), layerNames(p.Layers))
		}
		if p.NetOff != c.netOff || p.TransOff != c.transOff {
			t.Errorf("%s: NetOff %d TransOff %d, want %d %d", c.name, p.NetOff, p.TransOff, c.netOff, c.transOff)
		}
	}
}

// TestIntrinsicShortfallAfterDatagramEnd: p.cut once stayed the whole frame cut even when the
// capture cut only the link padding or trailer after the datagram, so a header too small on the
// wire was reported as capture.truncated. At most total-len(b) of the cut bytes belonged to the
// datagram; a header that does not fit in the datagram its IP header declares is the packet's own
// fault, whatever the capture did after the datagram.
func TestIntrinsicShortfallAfterDatagramEnd(t *testing.T) {
	udp4Tiny := padTo(eth(0x0800, ip4{proto: 17, src: cliV4, dst: srvV4, payload: hx("cf 09 00 35")}.bytes()), 60) // 4-byte "UDP header"
	icmpNoQuote := cat(eth(0x0800, icmpErr4(ICMPv4Unreachable, 1, 0, nil)), zeros(24))                             // a 24-byte trailer follows the datagram
	udp6Tiny := cat(eth(0x86dd, ip6{nh: nhUDP, src: cliV6, dst: srvV6, payload: hx("cf 09 00 35")}.bytes()), hx("01 02 03 04 05 06 07 08"))
	cases := []struct {
		name string
		data []byte
		snap int
		want []Anomaly
	}{
		{"udp4_datagram_end_captured", udp4Tiny, 14 + 24, []Anomaly{UDPPktTooSmall}},
		{"udp4_datagram_cut_inside", udp4Tiny, 14 + 22, []Anomaly{UDPPktTooSmall}},
		{"icmp4_no_quote_datagram_end_captured", icmpNoQuote, 14 + 28, []Anomaly{ICMPv4QuotedTooSmall}},
		{"udp6_datagram_end_captured", udp6Tiny, 14 + 44, []Anomaly{UDPPktTooSmall}},
	}
	for _, c := range cases {
		var p Packet
		p.Decode(ltEther, c.data[:c.snap], 0, len(c.data))
		if got := p.Anomalies(); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: anomalies %v, want %v", c.name, got, c.want)
		}
	}
}

// TestNFLogTLVCutBySnaplen: only the payload TLV was excused for running past the captured bytes,
// so any other NFLOG attribute cut by the snap length (prefix, uid/gid, hwaddr and timestamp come
// first) gave nflog.tlv_invalid. An attribute that fits in what was on the wire but not in what was
// captured is a capture truncation, not a malformed TLV.
func TestNFLogTLVCutBySnaplen(t *testing.T) {
	full := nflog(2, synV4())
	var p Packet
	p.Decode(ltNFLog, full[:20], 0, len(full)) // cut inside the prefix TLV
	if got := p.Anomalies(); !reflect.DeepEqual(got, []Anomaly{CaptureTruncated}) {
		t.Errorf("anomalies %v, want [capture.truncated]", got)
	}
}

// TestSegLenBeyondSent: when the IP header claimed more than was sent (ipv4.trunc_pkt /
// ipv6.trunc_pkt), SegLen was taken from the claim and counted bytes never on the wire (1460 for
// a segment that carried 17), so a reassembler advancing by it would wait for a phantom gap.
// TCP.SegLen is "payload bytes as sent": what was captured plus what the capture cut.
func TestSegLenBeyondSent(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		snap int // 0: the whole packet was captured
		want int
	}{
		{"ipv4", ip4{total: 1500, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 80, dport: 50000, flags: TCPAck, payload: []byte("HTTP/1.1 200 OK\r\n")}.bytes()}.bytes(), 0, 17},
		{"ipv6", ip6{nh: nhTCP, plen: 1000, src: cliV6, dst: srvV6, payload: tcpH{sport: 1, dport: 2, payload: []byte("abc")}.bytes()}.bytes(), 0, 3},
		// Cut by the snap length as well: what was sent is what was captured plus the cut.
		{"ipv4_snaplen", ip4{total: 1500, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 80, dport: 50000, flags: TCPAck, payload: zeros(100)}.bytes()}.bytes(), 60, 100},
	}
	for _, c := range cases {
		var p Packet
		data := c.data
		if c.snap > 0 {
			data = c.data[:c.snap]
		}
		p.Decode(ltRaw, data, 0, len(c.data))
		switch {
		case !p.Has(LayerTCP):
			t.Errorf("%s: setup: layers %s", c.name, layerNames(p.Layers))
		case p.TCP.SegLen != c.want:
			t.Errorf("%s: SegLen %d, want %d", c.name, p.TCP.SegLen, c.want)
		}
	}
}

// TestQuotedIPv6LaterFragmentProto: a quoted IPv6 packet whose fragment header has a non-zero
// offset once left Quoted.Proto at 44 (the fragment header itself). The fragment header's next
// header is the protocol the fragment belongs to, as for a quoted IPv4 later fragment, but a
// later fragment does not start with the transport header, so there are no ports or sequence
// number to read (the bytes after the fragment header are mid-payload).
func TestQuotedIPv6LaterFragmentProto(t *testing.T) {
	mid := hx("c9 3a 01 bb 3f 32 ba d1") // would read as ports 51514>443 and a seq if taken for a header
	cases := []struct {
		name  string
		chain []byte
		nh    uint8
		proto uint8
	}{
		{"fragment_tcp", cat(fragHdr6(nhTCP, 1232, true, 0xabcd), mid, zeros(32)), nhFrag, 6},
		{"fragment_udp_last", cat(fragHdr6(nhUDP, 8, false, 7), mid), nhFrag, 17},
		{"hbh_then_fragment", cat(optsHdr6(nhFrag, 0), fragHdr6(nhTCP, 2960, true, 1), mid), nhHBH, 6},
	}
	for _, c := range cases {
		data := icmpErr6(ICMPv6TimeExceeded, 1, 0, ip6{nh: c.nh, src: cliV6, dst: srvV6, payload: c.chain}.bytes())
		var p Packet
		p.Decode(ltRaw, data, 0, len(data))
		if len(p.Anomalies()) != 0 || !p.Has(LayerQuoted) {
			t.Fatalf("%s: setup: anomalies %v, layers %s", c.name, p.Anomalies(), layerNames(p.Layers))
		}
		want := Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: c.proto}
		if p.Quoted != want {
			t.Errorf("%s: Quoted %+v, want %+v", c.name, p.Quoted, want)
		}
	}
}

// TestNFLogCutLimitedToPayload (found by FuzzDecode, testdata/fuzz/FuzzDecode/f22086ad62da2961):
// decodeNFLog hands the NFLOG payload to the IP decoder with p.cut still the whole frame's cut,
// although the capture may have cut only the padding and attributes after the payload attribute
// (or more than the attribute's own missing bytes). The IP decoder then counts those bytes as the
// datagram's, misses ipv4.trunc_pkt and inflates SegLen. Of the bytes the capture cut, only
// those inside the payload attribute (off+tlen-len(b), none when it was captured whole) can be the
// packet's: the packet sent is the attribute, so the result must be the uncut one.
func TestNFLogCutLimitedToPayload(t *testing.T) {
	pkt := ip4{total: 54, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 80, dport: 50000, flags: TCPAck, payload: []byte("0123456789")}.bytes()}.bytes() // 50 bytes sent, 54 claimed
	frame := cat(hx("02 00 00 00"), nflogTLV(nfulaPayloadT, pkt), nflogTLV(nfulaUID, be32(0)))                                                                    // 4 + 56 + 8
	cases := []struct {
		name   string
		snap   int
		segLen int
	}{
		{"uncut", len(frame), 10},
		{"cut_after_payload_attribute", 4 + 4 + len(pkt), 10}, // the 2 padding bytes and the UID attribute are cut
		{"cut_inside_payload_attribute", 4 + 4 + 40 + 5, 10},  // 5 payload bytes, the padding and the UID attribute are cut
	}
	for _, c := range cases {
		var p Packet
		p.Decode(ltNFLog, frame[:c.snap], 0, len(frame))
		if !p.Has(LayerTCP) {
			t.Errorf("%s: layers %s", c.name, layerNames(p.Layers))
			continue
		}
		if got := p.Anomalies(); !reflect.DeepEqual(got, []Anomaly{IPv4TruncPkt}) {
			t.Errorf("%s: anomalies %v, want [ipv4.trunc_pkt]", c.name, got)
		}
		if p.TCP.SegLen != c.segLen {
			t.Errorf("%s: SegLen %d, want %d", c.name, p.TCP.SegLen, c.segLen)
		}
	}
}
