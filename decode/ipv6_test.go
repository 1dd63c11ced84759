package decode

import (
	"testing"
)

// IPv6 next-header values used in the chains below.
const (
	nhHBH  = 0
	nhTCP  = 6
	nhUDP  = 17
	nhRt   = 43
	nhFrag = 44
	nhESP  = 50
	nhAH   = 51
	nhICMP = 58
	nhNone = 59
	nhDest = 60
	nhMH   = 135
)

func wantIPv6(want IPv6) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "IPv6", p.IPv6, want)
	}
}

// udp6Chain is a UDP DNS query behind the given extension headers (nh: the first one).
func udp6Chain(nh uint8, ext ...[]byte) []byte {
	return ip6{flow: 0x1f00d, nh: nh, src: cliV6, dst: srvV6,
		payload: cat(cat(ext...), udpH{sport: 53001, dport: 53, payload: dnsQuery}.bytes())}.bytes()
}

// destChain is n destination-options headers, the last pointing at last.
func destChain(n int, last uint8) []byte {
	var b []byte
	for i := range n {
		nh := uint8(nhDest)
		if i == n-1 {
			nh = last
		}
		b = append(b, optsHdr6(nh, 0)...)
	}
	return b
}

var ipv6Cases = []decodeCase{
	{name: "ipv6_tcp_syn_fields", lt: ltRaw, data: synV6(), layers: tcp6, check: all(
		wantIP(6, cliV6, srvV6, 6), wantOffsets(0, 40), wantPorts(51514, 443), wantTTL(64),
		wantTCP(0x3f32bad1, 0, TCPSyn, 40), wantTCPOpts(TCPOptions{Has: TCPOptMSS | TCPOptSACKPermitted | TCPOptTimestamps | TCPOptWScale,
			MSS: 1460, WScale: 7, TSVal: 2576958}),
		wantIPv6(IPv6{FlowLabel: 0x5a1c3, PayloadLen: 40, NextHeader: 6}))},
	{name: "ipv6_traffic_class_hop_limit", lt: ltEther, layers: ethUDP6,
		data:  eth(0x86dd, ip6{tc: 0xb8, flow: 0xfffff, hop: 255, nh: nhUDP, src: "fe80::1", dst: "ff02::fb", payload: udpH{sport: 5353, dport: 5353, payload: dnsQuery}.bytes()}.bytes()),
		check: all(wantIP(6, "fe80::1", "ff02::fb", 17), wantTTL(255), wantIPv6(IPv6{TrafficClass: 0xb8, FlowLabel: 0xfffff, PayloadLen: 8 + 29, NextHeader: 17}))},

	// Extension-header chains.
	{name: "ipv6_hbh_rt0_dest_frag_udp", lt: ltRaw, layers: udp6 | LayerFragment,
		data: udp6Chain(nhHBH, optsHdr6(nhRt, 0), rtHdr6(nhDest, 0, "2001:db8:2::1"), optsHdr6(nhFrag, 0), fragHdr6(nhUDP, 0, false, 0xdeadbeef)),
		check: all(wantIP(6, cliV6, srvV6, 17), wantOffsets(0, 40+8+24+8+8), wantPorts(53001, 53), wantPayload(dnsQuery),
			wantFrag(0xdeadbeef, 0, false),
			wantIPv6(IPv6{FlowLabel: 0x1f00d, PayloadLen: 8 + 24 + 8 + 8 + 8 + 29, NextHeader: nhHBH, ExtHeaders: 4, Routing0: true}))},
	{name: "ipv6_hbh_rt0_dest_first_fragment_udp", lt: ltRaw, layers: udp6 | LayerFragment,
		data: ip6{nh: nhHBH, src: cliV6, dst: srvV6, payload: cat(optsHdr6(nhRt, 0), rtHdr6(nhDest, 0, "2001:db8:2::1"), optsHdr6(nhFrag, 0),
			fragHdr6(nhUDP, 0, true, 7), udpH{sport: 4500, dport: 4500, length: 3000, payload: zeros(1000)}.bytes())}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 17), wantPorts(4500, 4500), wantFrag(7, 0, true), wantPayloadLen(1000),
			func(t *testing.T, p *Packet) { eq(t, "Routing0", p.IPv6.Routing0, true) })},
	{name: "ipv6_routing_type2_mobile", lt: ltRaw, layers: udp6, data: udp6Chain(nhRt, rtHdr6(nhUDP, 2, "2001:db8:3::1")),
		check: all(wantPorts(53001, 53), wantIPv6(IPv6{FlowLabel: 0x1f00d, PayloadLen: 24 + 37, NextHeader: nhRt, ExtHeaders: 1}))},
	{name: "ipv6_routing_type4_srh", lt: ltRaw, layers: udp6, data: udp6Chain(nhRt, rtHdr6(nhUDP, 4, "2001:db8:3::1", "2001:db8:4::1")),
		check: all(wantPorts(53001, 53), func(t *testing.T, p *Packet) { eq(t, "Routing0", p.IPv6.Routing0, false) })},
	{name: "ipv6_later_fragment_no_transport", lt: ltRaw, layers: LayerIPv6 | LayerFragment,
		data:  ip6{nh: nhFrag, src: cliV6, dst: srvV6, payload: cat(fragHdr6(nhUDP, 1448, true, 0x11223344), zeros(1448))}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 17), wantFrag(0x11223344, 1448, true), wantPorts(0, 0), wantPayload(nil))},
	{name: "ipv6_last_fragment_after_hbh", lt: ltRaw, layers: LayerIPv6 | LayerFragment,
		data: ip6{nh: nhHBH, src: cliV6, dst: srvV6, payload: cat(optsHdr6(nhFrag, 0), fragHdr6(nhTCP, 2896, false, 5), zeros(100))}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 6), wantFrag(5, 2896, false),
			func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 2) })},
	// AH: (payload length field + 2) 32-bit words.
	{name: "ipv6_ah_hmac_sha1_96_tcp", lt: ltRaw, layers: tcp6,
		data: ip6{nh: nhAH, src: cliV6, dst: srvV6, payload: cat(ahHdr6(nhTCP, 12), tcpH{sport: 179, dport: 40001, seq: 1, ack: 2, flags: TCPAck}.bytes())}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 6), wantOffsets(0, 40+24), wantPorts(179, 40001),
			func(t *testing.T, p *Packet) {
				eq(t, "AH length field", p.Data[41], 4)
				eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 1)
			})},
	{name: "ipv6_ah_sha256_128_padded_udp", lt: ltRaw, layers: udp6,
		data:  udp6Chain(nhAH, ahHdr6(nhUDP, 20)),
		check: all(wantOffsets(0, 40+32), wantPorts(53001, 53), wantPayload(dnsQuery))},
	{name: "ipv6_esp_stops", lt: ltRaw, layers: LayerIPv6,
		data:  ip6{nh: nhESP, src: cliV6, dst: srvV6, payload: cat(be32(0x1001), be32(1), zeros(48))}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 50), wantPorts(0, 0), func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 0) })},
	{name: "ipv6_hbh_then_esp", lt: ltRaw, layers: LayerIPv6,
		data:  ip6{nh: nhHBH, src: cliV6, dst: srvV6, payload: cat(optsHdr6(nhESP, 0), be32(0x1001), be32(1), zeros(48))}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 50), func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 1) })},
	{name: "ipv6_no_next_header", lt: ltRaw, layers: LayerIPv6,
		data: ip6{nh: nhNone, src: cliV6, dst: srvV6}.bytes(), check: wantIP(6, cliV6, srvV6, 59)},
	{name: "ipv6_dest_opts_then_mobility_binding_refresh", lt: ltRaw, layers: LayerIPv6,
		data:  ip6{nh: nhDest, src: cliV6, dst: srvV6, payload: cat(optsHdr6(nhMH, 0), hx("3b 00 00 00", "7a 2e 00 00"))}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 59), func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 2) })},
	{name: "ipv6_hbh_router_alert_mld_report", lt: ltRaw, layers: LayerIPv6 | LayerICMPv6,
		data: ip6{nh: nhHBH, hop: 1, src: "fe80::a65e:60ff:fed1:227e", dst: "ff02::16",
			payload: cat(routerAlertHBH6(nhICMP), icmp6(143, 0, 1, cat(hx("04 00 00 00"), addr("ff02::1:ff00:10").AsSlice())))}.bytes(),
		check: all(wantIP(6, "fe80::a65e:60ff:fed1:227e", "ff02::16", 58), wantICMP(143, 0, 1))},
	// Dest options may appear twice: before a routing header and before the upper layer.
	{name: "ipv6_dest_opts_twice_allowed", lt: ltRaw, layers: tcp6,
		data: ip6{nh: nhDest, src: cliV6, dst: srvV6, payload: cat(optsHdr6(nhRt, 0), rtHdr6(nhDest, 2, "2001:db8:3::1"), optsHdr6(nhTCP, 1),
			tcpH{sport: 1, dport: 2}.bytes())}.bytes(),
		check: all(wantOffsets(0, 40+8+24+16), wantPorts(1, 2))},
	{name: "ipv6_128_ext_headers_max", lt: ltRaw, layers: udp6, data: udp6Chain(nhDest, destChain(MaxIPv6ExtHeaders, nhUDP)),
		check: all(wantPorts(53001, 53), func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", int(p.IPv6.ExtHeaders), MaxIPv6ExtHeaders) })},
	{name: "ipv6_exthdr_too_many", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTooMany},
		data:  udp6Chain(nhDest, destChain(MaxIPv6ExtHeaders+1, nhUDP)),
		check: func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", int(p.IPv6.ExtHeaders), MaxIPv6ExtHeaders) }},
	{name: "ipv6_exthdr_duplicate_fragment", lt: ltRaw, layers: udp6 | LayerFragment, want: []Anomaly{IPv6ExtHdrDuplicate},
		data:  udp6Chain(nhFrag, fragHdr6(nhFrag, 0, false, 1), fragHdr6(nhUDP, 0, false, 2)),
		check: all(wantPorts(53001, 53), wantFrag(2, 0, false), func(t *testing.T, p *Packet) { eq(t, "ExtHeaders", p.IPv6.ExtHeaders, 2) })},
	{name: "ipv6_exthdr_duplicate_hbh_three_times_once", lt: ltRaw, layers: udp6, want: []Anomaly{IPv6ExtHdrDuplicate},
		data: udp6Chain(nhHBH, optsHdr6(nhHBH, 0), optsHdr6(nhHBH, 0), optsHdr6(nhUDP, 0)), check: wantPorts(53001, 53)},
	{name: "ipv6_exthdr_duplicate_two_kinds_once", lt: ltRaw, layers: udp6, want: []Anomaly{IPv6ExtHdrDuplicate},
		data: udp6Chain(nhHBH, optsHdr6(nhHBH, 0), optsHdr6(nhRt, 0), rtHdr6(nhRt, 2, "2001:db8::1"), rtHdr6(nhAH, 2, "2001:db8::2"),
			ahHdr6(nhAH, 12), ahHdr6(nhUDP, 12)),
		check: wantPorts(53001, 53)},

	// Lengths.
	{name: "ipv6_payload_len_trims_trailer", lt: ltRaw, layers: udp6, data: cat(dnsV6(), hx("de ad be ef")),
		check: all(wantPorts(53001, 53), wantPayload(dnsQuery))},
	{name: "ipv6_payload_len_zero_uses_frame", lt: ltRaw, layers: tcp6,
		data:  ip6{nh: nhTCP, plen: lenZero, src: cliV6, dst: srvV6, payload: tcpH{sport: 1, dport: 2, payload: []byte("data")}.bytes()}.bytes(),
		check: all(wantPorts(1, 2), wantPayload([]byte("data")), wantSegLen(4))},
	{name: "ipv6_pkt_too_small", lt: ltRaw, data: dnsV6()[:39], want: []Anomaly{IPv6PktTooSmall}},
	{name: "ipv6_pkt_too_small_snaplen", lt: ltRaw, data: dnsV6(), snap: 39, layers: LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "ipv6_pkt_too_small_ethernet", lt: ltEther, data: eth(0x86dd, dnsV6()[:30]), layers: LayerEthernet, want: []Anomaly{IPv6PktTooSmall}},
	{name: "ipv6_wrong_version_ethertype", lt: ltEther, data: eth(0x86dd, padTo(synV4(), 40)), layers: LayerEthernet, want: []Anomaly{IPv6WrongVersion}},
	{name: "ipv6_wrong_version_linktype229", lt: ltIPv6, data: synV4(), want: []Anomaly{IPv6WrongVersion}},
	{name: "ipv6_trunc_pkt", lt: ltRaw, layers: tcp6, want: []Anomaly{IPv6TruncPkt},
		data:  ip6{nh: nhTCP, plen: 1000, src: cliV6, dst: srvV6, payload: tcpH{sport: 1, dport: 2, payload: []byte("abc")}.bytes()}.bytes(),
		check: all(wantPorts(1, 2), wantPayload([]byte("abc")), func(t *testing.T, p *Packet) { eq(t, "PayloadLen", p.IPv6.PayloadLen, 1000) })},
	{name: "ipv6_payload_beyond_snaplen", lt: ltRaw, layers: tcp6 | LayerTruncated,
		data: ip6{nh: nhTCP, src: cliV6, dst: srvV6, payload: tcpH{sport: 1, dport: 2, payload: zeros(1000)}.bytes()}.bytes(), snap: 96,
		check: all(wantPorts(1, 2), wantPayloadLen(36), wantSegLen(1000))},
	{name: "ipv6_exthdr_truncated", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data: ip6{nh: nhHBH, src: cliV6, dst: srvV6, payload: optsHdr6(nhUDP, 1)[:8]}.bytes()}, // claims 16 bytes, 8 sent
	{name: "ipv6_exthdr_truncated_snaplen", lt: ltRaw, layers: LayerIPv6 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: udp6Chain(nhHBH, optsHdr6(nhUDP, 1)), snap: 48},
	{name: "ipv6_exthdr_truncated_no_length_byte", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data: ip6{nh: nhDest, src: cliV6, dst: srvV6, payload: []byte{nhUDP}}.bytes()},
	{name: "ipv6_exthdr_truncated_no_length_byte_snaplen", lt: ltRaw, layers: LayerIPv6 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: udp6Chain(nhDest, optsHdr6(nhUDP, 0)), snap: 41},
	{name: "ipv6_fragment_header_truncated", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data: ip6{nh: nhFrag, src: cliV6, dst: srvV6, payload: fragHdr6(nhUDP, 0, false, 1)[:4]}.bytes()},
	{name: "ipv6_ah_truncated", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data: ip6{nh: nhAH, src: cliV6, dst: srvV6, payload: ahHdr6(nhTCP, 12)[:12]}.bytes()},
	{name: "ipv6_ah_truncated_no_length_byte", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data: ip6{nh: nhAH, src: cliV6, dst: srvV6, payload: []byte{nhTCP}}.bytes()},
	{name: "ipv6_routing_truncated_still_flags_type0", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{IPv6ExtHdrTruncated},
		data:  ip6{nh: nhRt, src: cliV6, dst: srvV6, payload: rtHdr6(nhUDP, 0, "2001:db8::1")[:8]}.bytes(),
		check: func(t *testing.T, p *Packet) { eq(t, "Routing0", p.IPv6.Routing0, true) }},

	// Fragments and short headers: only a fragment with more to come is excused.
	{name: "ipv6_first_fragment_tcp_header_cut", lt: ltRaw, layers: LayerIPv6 | LayerFragment,
		data:  ip6{nh: nhFrag, src: cliV6, dst: srvV6, payload: cat(fragHdr6(nhTCP, 0, true, 9), tcpH{sport: 1, dport: 2}.bytes()[:8])}.bytes(),
		check: all(wantIP(6, cliV6, srvV6, 6), wantFrag(9, 0, true))},
	{name: "ipv6_first_fragment_ext_header_cut", lt: ltRaw, layers: LayerIPv6 | LayerFragment,
		data: ip6{nh: nhFrag, src: cliV6, dst: srvV6, payload: cat(fragHdr6(nhDest, 0, true, 9), optsHdr6(nhTCP, 3)[:16])}.bytes()},
	{name: "ipv6_atomic_fragment_tcp_header_cut", lt: ltRaw, layers: LayerIPv6 | LayerFragment, want: []Anomaly{TCPPktTooSmall},
		data: ip6{nh: nhFrag, src: cliV6, dst: srvV6, payload: cat(fragHdr6(nhTCP, 0, false, 9), tcpH{sport: 1, dport: 2}.bytes()[:8])}.bytes()},
}

func TestIPv6(t *testing.T) { runCases(t, ipv6Cases) }
