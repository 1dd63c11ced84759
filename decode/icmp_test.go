package decode

import (
	"testing"
)

// icmpErr4 is an ICMPv4 message from the router 203.0.113.1 to the client 192.0.2.10.
func icmpErr4(typ, code uint8, rest uint32, body []byte) []byte {
	return ip4{id: 0xbeef, ttl: 254, proto: 1, src: rtrV4, dst: cliV4, payload: icmp4(typ, code, rest, body)}.bytes()
}

// icmpErr6 is an ICMPv6 message from the router 2001:db8:ffff::1 to the client 2001:db8::10.
func icmpErr6(typ, code uint8, rest uint32, body []byte) []byte {
	return ip6{nh: nhICMP, hop: 254, src: rtrV6, dst: cliV6, payload: icmp6(typ, code, rest, body)}.bytes()
}

// windowsPing is the 32-byte payload of a Windows echo request.
var windowsPing = []byte("abcdefghijklmnopqrstuvwabcdefghi")

// pingV4 is an ICMP echo request 192.0.2.10 -> 198.51.100.7, id 1, sequence 7.
func pingV4() []byte {
	return ip4{id: 0x1000, ttl: 128, proto: 1, src: cliV4, dst: srvV4, payload: icmp4(8, 0, 0x0001_0007, windowsPing)}.bytes()
}

// quotedSYN is what an ICMPv4 error about synV4 carries: its IP header and 8 bytes of TCP.
var quotedSYN = Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 6, SrcPort: 51514, DstPort: 443, Seq: 0x3f32bad1, HasPorts: true, HasSeq: true}

// quotedSYN6 is the same for synV6.
var quotedSYN6 = Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 6, SrcPort: 51514, DstPort: 443, Seq: 0x3f32bad1, HasPorts: true, HasSeq: true}

const (
	icmp4Err = LayerIPv4 | LayerICMPv4 | LayerQuoted
	icmp6Err = LayerIPv6 | LayerICMPv6 | LayerQuoted
)

// wantOuter4 checks the outer header of icmpErr4 and the ICMP fields.
func wantOuter4(typ, code uint8, rest uint32) check {
	return all(wantIP(4, rtrV4, cliV4, 1), wantOffsets(0, 20), wantPorts(0, 0), wantICMP(typ, code, rest))
}

func wantOuter6(typ, code uint8, rest uint32) check {
	return all(wantIP(6, rtrV6, cliV6, 58), wantOffsets(0, 40), wantPorts(0, 0), wantICMP(typ, code, rest))
}

var icmpCases = []decodeCase{
	// ICMPv4 informational messages: no quoted packet.
	{name: "icmpv4_echo_request", lt: ltEther, data: eth(0x0800, pingV4()), layers: LayerEthernet | LayerIPv4 | LayerICMPv4,
		check: all(wantIP(4, cliV4, srvV4, 1), wantOffsets(14, 34), wantICMP(8, 0, 0x0001_0007), wantPayload(windowsPing))},
	{name: "icmpv4_echo_reply", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4,
		data:  ip4{proto: 1, src: srvV4, dst: cliV4, payload: icmp4(ICMPv4EchoReply, 0, 0x0001_0007, windowsPing)}.bytes(),
		check: all(wantICMP(0, 0, 0x0001_0007), wantPayload(windowsPing))},
	// An echo whose data looks like an IP header is still not an error: nothing is quoted.
	{name: "icmpv4_echo_carrying_ip_header_bytes", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4,
		data: ip4{proto: 1, src: cliV4, dst: srvV4, payload: icmp4(8, 0, 1, synV4())}.bytes()},
	{name: "icmpv4_timestamp_request", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4,
		data:  ip4{proto: 1, src: cliV4, dst: srvV4, payload: icmp4(13, 0, 0x0002_0001, zeros(12))}.bytes(),
		check: wantICMP(13, 0, 0x0002_0001)},

	// ICMPv4 errors and their quotes.
	{name: "icmpv4_frag_needed_mtu1492_quoting_tcp", lt: ltRaw, layers: icmp4Err,
		data: icmpErr4(ICMPv4Unreachable, ICMPv4CodeFragNeeded, 1492, synV4()[:28]),
		check: all(wantOuter4(3, 4, 1492), wantQuoted(quotedSYN), wantPayload(synV4()[:28]),
			func(t *testing.T, p *Packet) { eq(t, "NextHopMTU", p.ICMP.NextHopMTU(), 1492) })},
	{name: "icmpv4_frag_needed_tiny_mtu_68", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4Unreachable, ICMPv4CodeFragNeeded, 68, synV4()),
		check: all(wantQuoted(quotedSYN), func(t *testing.T, p *Packet) { eq(t, "NextHopMTU", p.ICMP.NextHopMTU(), 68) })},
	{name: "icmpv4_port_unreach_quoting_udp", lt: ltRaw, layers: icmp4Err,
		data: ip4{ttl: 64, proto: 1, src: srvV4, dst: cliV4, payload: icmp4(ICMPv4Unreachable, ICMPv4CodePortUnr, 0, dnsV4()[:28])}.bytes(),
		check: all(wantIP(4, srvV4, cliV4, 1), wantICMP(3, 3, 0),
			wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 17, SrcPort: 53001, DstPort: 53, HasPorts: true}))},
	{name: "icmpv4_port_unreach_quoting_whole_udp", lt: ltRaw, layers: icmp4Err,
		data:  ip4{ttl: 64, proto: 1, src: srvV4, dst: cliV4, payload: icmp4(ICMPv4Unreachable, ICMPv4CodePortUnr, 0, dnsV4())}.bytes(),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 17, SrcPort: 53001, DstPort: 53, HasPorts: true})},
	{name: "icmpv4_time_exceeded_quoting_icmp_echo", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4TimeExceeded, 0, 0, pingV4()[:28]),
		check: all(wantOuter4(11, 0, 0), wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 1}))},
	{name: "icmpv4_time_exceeded_quoting_ip_options_tcp", lt: ltRaw, layers: icmp4Err,
		data: icmpErr4(ICMPv4TimeExceeded, 0, 0, ip4{proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00"),
			payload: tcpH{sport: 1111, dport: 2222, seq: 0xcafe}.bytes()}.bytes()[:24+8]),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 6, SrcPort: 1111, DstPort: 2222, Seq: 0xcafe, HasPorts: true, HasSeq: true})},
	{name: "icmpv4_quoting_ip_header_only", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4Unreachable, 1, 0, synV4()[:20]),
		check: all(wantOuter4(3, 1, 0), wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 6}))},
	{name: "icmpv4_quoting_ports_only", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4Unreachable, 13, 0, synV4()[:24]),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 6, SrcPort: 51514, DstPort: 443, HasPorts: true})},
	{name: "icmpv4_quoting_later_fragment", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4TimeExceeded, 1, 0, frag4(1480, false, bigUDP4[1480:])[:28]),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 17})},
	{name: "icmpv4_quoting_first_fragment", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4TimeExceeded, 1, 0, frag4(0, true, bigUDP4[:1480])[:28]),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 17, SrcPort: 5353, DstPort: 5353, HasPorts: true})},
	{name: "icmpv4_proto_unreach_quoting_sctp", lt: ltRaw, layers: icmp4Err,
		data: icmpErr4(ICMPv4Unreachable, ICMPv4CodeProtoUnr, 0, ip4{proto: 132, src: cliV4, dst: srvV4,
			payload: hx("0b 59 0b 59", "00 00 00 00", "b0 3f 7e 55")}.bytes()),
		check: wantQuoted(Quoted{IPVersion: 4, Src: addr(cliV4), Dst: addr(srvV4), Proto: 132, SrcPort: 2905, DstPort: 2905, HasPorts: true})},
	{name: "icmpv4_redirect_host", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4Redirect, 1, 0xc00002fe, synV4()[:28]), // gateway 192.0.2.254
		check: all(wantOuter4(5, 1, 0xc00002fe), wantQuoted(quotedSYN))},
	{name: "icmpv4_source_quench", lt: ltRaw, layers: icmp4Err,
		data: icmpErr4(ICMPv4SourceQuench, 0, 0, synV4()[:28]), check: wantQuoted(quotedSYN)},
	{name: "icmpv4_param_problem_pointer", lt: ltRaw, layers: icmp4Err,
		data:  icmpErr4(ICMPv4ParamProblem, 0, 20<<24, synV4()[:28]),
		check: all(wantOuter4(12, 0, 20<<24), wantQuoted(quotedSYN))},
	{name: "icmpv4_quoted_too_small_nothing", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4, want: []Anomaly{ICMPv4QuotedTooSmall},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, nil), check: all(wantOuter4(3, 1, 0), wantPayload([]byte{}))},
	{name: "icmpv4_quoted_too_small_nothing_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, synV4()[:28]), snap: 28},
	{name: "icmpv4_quoted_too_small_12_bytes", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4, want: []Anomaly{ICMPv4QuotedTooSmall},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, synV4()[:12])},
	{name: "icmpv4_quoted_too_small_12_bytes_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, synV4()[:28]), snap: 28 + 12},
	{name: "icmpv4_quoted_too_small_options_cut", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4, want: []Anomaly{ICMPv4QuotedTooSmall},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, ip4{proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00")}.bytes()[:22])},
	{name: "icmpv4_quoted_too_small_options_cut_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: icmpErr4(ICMPv4Unreachable, 1, 0, ip4{proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00")}.bytes()), snap: 28 + 22},
	{name: "icmpv4_quoted_invalid_version6", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4, want: []Anomaly{ICMPv4QuotedInvalid},
		data: icmpErr4(ICMPv4Unreachable, 3, 0, dnsV6()[:48])},
	{name: "icmpv4_quoted_invalid_ihl", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4, want: []Anomaly{ICMPv4QuotedInvalid},
		data: icmpErr4(ICMPv4Unreachable, 3, 0, ip4{ihl: 4, proto: 6, src: cliV4, dst: srvV4, payload: zeros(12)}.bytes())},
	{name: "icmpv4_pkt_too_small", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{ICMPv4PktTooSmall},
		data: ip4{proto: 1, src: cliV4, dst: srvV4, payload: hx("08 00 f7 ff")}.bytes()},
	{name: "icmpv4_pkt_too_small_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: pingV4(), snap: 24},
	{name: "icmpv4_later_fragment_not_decoded", lt: ltRaw, layers: LayerIPv4 | LayerFragment,
		data: ip4{id: 5, fragOff: 1480, proto: 1, src: cliV4, dst: srvV4, payload: icmp4(3, 3, 0, synV4()[:28])}.bytes()},
	// A first fragment carrying an ICMP error whose quote continues in the next fragment.
	{name: "icmpv4_error_first_fragment_quote_cut", lt: ltRaw, layers: LayerIPv4 | LayerICMPv4 | LayerFragment,
		data:  ip4{id: 5, flags: IPv4MoreFragments, proto: 1, src: rtrV4, dst: cliV4, payload: icmp4(3, 3, 0, synV4()[:8])}.bytes(),
		check: wantICMP(3, 3, 0)},
	{name: "icmpv4_over_ipv6", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{ICMPv4OverIPv6},
		data: ip6{nh: 1, src: cliV6, dst: srvV6, payload: icmp4(8, 0, 1, windowsPing)}.bytes(), check: wantIP(6, cliV6, srvV6, 1)},
	{name: "icmpv6_over_ipv4", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{ICMPv4OverIPv6},
		data: ip4{proto: 58, src: cliV4, dst: srvV4, payload: icmp6(128, 0, 1, windowsPing)}.bytes(), check: wantIP(4, cliV4, srvV4, 58)},

	// ICMPv6 informational messages.
	{name: "icmpv6_echo_request", lt: ltEther, layers: LayerEthernet | LayerIPv6 | LayerICMPv6,
		data:  eth(0x86dd, ip6{nh: nhICMP, src: cliV6, dst: srvV6, payload: icmp6(128, 0, 0x0001_0007, windowsPing)}.bytes()),
		check: all(wantIP(6, cliV6, srvV6, 58), wantOffsets(14, 54), wantICMP(128, 0, 0x0001_0007), wantPayload(windowsPing))},
	{name: "icmpv6_neighbor_solicitation", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6,
		data: ip6{nh: nhICMP, hop: 255, src: cliV6, dst: "ff02::1:ff00:53",
			payload: icmp6(135, 0, 0, cat(addr(srvV6).AsSlice(), hx("01 01 a4 5e 60 d1 22 7e")))}.bytes(),
		check: wantICMP(135, 0, 0)},

	// ICMPv6 errors.
	{name: "icmpv6_ptb_quoting_tcp", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6PacketTooBig, 0, 1280, synV6()),
		check: all(wantOuter6(2, 0, 1280), wantQuoted(quotedSYN6), wantPayload(synV6()))},
	{name: "icmpv6_port_unreach_quoting_fragment_udp", lt: ltRaw, layers: icmp6Err,
		data: icmpErr6(ICMPv6Unreachable, ICMPv6CodePortUnr, 0, ip6{nh: nhFrag, src: cliV6, dst: srvV6,
			payload: cat(fragHdr6(nhUDP, 0, true, 0xabcd), udpH{sport: 4500, dport: 4500, length: 3000, payload: zeros(16)}.bytes())}.bytes()),
		check: all(wantOuter6(1, 4, 0),
			wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 17, SrcPort: 4500, DstPort: 4500, HasPorts: true}))},
	{name: "icmpv6_time_exceeded_quoting_hbh_dest_rt_udp", lt: ltRaw, layers: icmp6Err,
		data: icmpErr6(ICMPv6TimeExceeded, 0, 0, udp6Chain(nhHBH, optsHdr6(nhDest, 0), optsHdr6(nhRt, 1),
			rtHdr6(nhUDP, 2, "2001:db8:3::1"))),
		check: wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 17, SrcPort: 53001, DstPort: 53, HasPorts: true})},
	{name: "icmpv6_quoting_ipv6_header_only", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6Unreachable, 0, 0, synV6()[:40]),
		check: wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 6})},
	{name: "icmpv6_quoting_ports_only", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6Unreachable, 0, 0, synV6()[:44]),
		check: wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 6, SrcPort: 51514, DstPort: 443, HasPorts: true})},
	{name: "icmpv6_quoting_later_fragment_no_ports", lt: ltRaw, layers: icmp6Err,
		data: icmpErr6(ICMPv6TimeExceeded, 1, 0, ip6{nh: nhFrag, src: cliV6, dst: srvV6,
			payload: cat(fragHdr6(nhUDP, 1232, false, 0xabcd), zeros(64))}.bytes()),
		check: func(t *testing.T, p *Packet) {
			q := p.Quoted
			eq(t, "Quoted.HasPorts", q.HasPorts, false)
			eq(t, "Quoted.Src", q.Src, addr(cliV6))
		}},
	{name: "icmpv6_quoting_ext_chain_cut", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6Unreachable, 0, 0, udp6Chain(nhHBH, optsHdr6(nhUDP, 0))[:41]),
		check: func(t *testing.T, p *Packet) { eq(t, "Quoted.HasPorts", p.Quoted.HasPorts, false) }},
	{name: "icmpv6_quoting_ah_no_ports", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6Unreachable, 0, 0, ip6{nh: nhAH, src: cliV6, dst: srvV6, payload: ahHdr6(nhTCP, 12)}.bytes()),
		check: wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 51})},
	{name: "icmpv6_quoting_long_ext_chain_no_ports", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6Unreachable, 0, 0, udp6Chain(nhDest, destChain(icmpv6QuotedExtMax, nhUDP))),
		check: func(t *testing.T, p *Packet) { eq(t, "Quoted.HasPorts", p.Quoted.HasPorts, false) }},
	{name: "icmpv6_param_problem_pointer", lt: ltRaw, layers: icmp6Err,
		data:  icmpErr6(ICMPv6ParamProblem, 1, 40, udp6Chain(nhHBH, optsHdr6(nhUDP, 0))),
		check: all(wantOuter6(4, 1, 40), wantQuoted(Quoted{IPVersion: 6, Src: addr(cliV6), Dst: addr(srvV6), Proto: 17, SrcPort: 53001, DstPort: 53, HasPorts: true}))},
	{name: "icmpv6_pkt_too_small", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{ICMPv6PktTooSmall},
		data: ip6{nh: nhICMP, src: cliV6, dst: srvV6, payload: hx("80 00 7f ff")}.bytes()},
	{name: "icmpv6_pkt_too_small_snaplen", lt: ltRaw, layers: LayerIPv6 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: icmpErr6(ICMPv6PacketTooBig, 0, 1280, synV6()), snap: 44},
	{name: "icmpv6_quoted_too_small_nothing", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6, want: []Anomaly{ICMPv6QuotedTooSmall},
		data: icmpErr6(ICMPv6Unreachable, 0, 0, nil)},
	{name: "icmpv6_quoted_too_small_20_bytes", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6, want: []Anomaly{ICMPv6QuotedTooSmall},
		data: icmpErr6(ICMPv6PacketTooBig, 0, 1280, synV6()[:20])},
	{name: "icmpv6_quoted_too_small_20_bytes_snaplen", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: icmpErr6(ICMPv6PacketTooBig, 0, 1280, synV6()), snap: 48 + 20},
	{name: "icmpv6_quoted_invalid_version4", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6, want: []Anomaly{ICMPv6QuotedInvalid},
		data: icmpErr6(ICMPv6Unreachable, 4, 0, synV4())},
}

func TestICMP(t *testing.T) { runCases(t, icmpCases) }

// TestQuotedReset checks that an error whose quote cannot be decoded leaves no quote layer,
// and that a quote's optional fields do not survive into the next quote.
func TestQuotedReset(t *testing.T) {
	var p Packet
	full := icmpErr4(ICMPv4Unreachable, ICMPv4CodeFragNeeded, 1492, synV4()[:28])
	headerOnly := icmpErr4(ICMPv4Unreachable, 1, 0, pingV4()[:20])
	bad := icmpErr4(ICMPv4Unreachable, 1, 0, dnsV6()[:48])
	p.Decode(ltRaw, full, 0, len(full))
	p.Decode(ltRaw, headerOnly, 0, len(headerOnly))
	if p.Quoted.HasPorts || p.Quoted.HasSeq || p.Quoted.Proto != 1 {
		t.Errorf("quote after a quote with ports: %+v", p.Quoted)
	}
	p.Decode(ltRaw, bad, 0, len(bad))
	if p.Has(LayerQuoted) {
		t.Errorf("LayerQuoted set for an invalid quote")
	}
}
