package decode

import (
	"encoding/binary"
	"reflect"
	"testing"
)

// wantIPv4 checks the decoded IPv4 header; the checksum is read from the frame at netOff.
func wantIPv4(netOff int, want IPv4) check {
	return func(t *testing.T, p *Packet) {
		t.Helper()
		want.Checksum = binary.BigEndian.Uint16(p.Data[netOff+10:])
		got := p.IPv4
		if got.Options == nil != (want.Options == nil) || string(got.Options) != string(want.Options) {
			t.Errorf("IPv4.Options = %x, want %x", got.Options, want.Options)
		}
		got.Options, want.Options = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("IPv4 = %+v, want %+v", got, want)
		}
	}
}

// bigUDP4 is a 2008-byte UDP datagram 192.0.2.10:5353 -> 198.51.100.7:5353, to be fragmented.
var bigUDP4 = udpH{sport: 5353, dport: 5353, payload: func() []byte {
	b := make([]byte, 2000)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()}.bytes()

func frag4(off int, more bool, part []byte) []byte {
	var flags uint8
	if more {
		flags = IPv4MoreFragments
	}
	return ip4{id: 0x4d2, flags: flags, fragOff: uint16(off), proto: 17, src: cliV4, dst: srvV4, payload: part}.bytes()
}

// tso4 is a TCP segment as a host doing segmentation offload hands it to the capture: total
// length 0, 1448 bytes of data.
func tso4() []byte {
	return ip4{id: 0x77, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4, total: lenZero,
		payload: tcpH{sport: 443, dport: 51514, seq: 1000, ack: 2000, flags: TCPAck, payload: zeros(1448)}.bytes()}.bytes()
}

var ipv4Cases = []decodeCase{
	{name: "ipv4_tcp_syn_fields", lt: ltRaw, data: synV4(), layers: tcp4, check: all(
		syn4Check(0), wantTTL(64),
		wantIPv4(0, IPv4{HeaderLen: 20, TotalLen: 60, ID: 0xe8ef, Flags: IPv4DontFragment, Protocol: 6}))},
	{name: "ipv4_tos_ttl_evil_bit", lt: ltRaw, layers: tcp4,
		data: ip4{tos: 0xb8, id: 9, flags: IPv4Evil | IPv4DontFragment, ttl: 1, proto: 6, src: srvV4, dst: cliV4,
			payload: tcpH{sport: 443, dport: 51514, seq: 5, ack: 6, flags: TCPAck | TCPFin}.bytes()}.bytes(),
		check: all(wantTTL(1), wantIPv4(0, IPv4{HeaderLen: 20, TOS: 0xb8, TotalLen: 40, ID: 9, Flags: IPv4Evil | IPv4DontFragment, Protocol: 6}))},
	{name: "ipv4_udp_dns", lt: ltRaw, data: dnsV4(), layers: udp4,
		check: all(wantIP(4, cliV4, srvV4, 17), wantOffsets(0, 20), wantPorts(53001, 53), wantPayload(dnsQuery))},
	{name: "ipv4_with_router_alert_option", lt: ltEther, layers: ethTCP4 | LayerIPv4Opts,
		data: eth(0x0800, ip4{id: 3, proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00"),
			payload: tcpH{sport: 1, dport: 2, seq: 3, flags: TCPSyn}.bytes()}.bytes()),
		check: all(wantIP(4, cliV4, srvV4, 6), wantOffsets(14, 38), wantPorts(1, 2),
			wantIPv4(14, IPv4{HeaderLen: 24, TotalLen: 44, ID: 3, Protocol: 6, Options: hx("94 04 00 00"),
				Opts: IPv4Options{Present: OptRouterAlert}}))},
	{name: "ipv4_proto_gre_not_decoded", lt: ltRaw, layers: LayerIPv4,
		data:  ip4{proto: 47, src: cliV4, dst: srvV4, payload: hx("00 00 08 00", "45 00")}.bytes(),
		check: all(wantIP(4, cliV4, srvV4, 47), wantPayload(nil))},

	// Ethernet pads frames to 60 bytes: the datagram ends at its total length, silently, and the
	// offsets do not move (TestOffsetsAfterTrailerTrim).
	{name: "ipv4_ethernet_padding_tcp_ack", lt: ltEther, data: padTo(eth(0x0800, ackV4()), 60), layers: ethTCP4,
		check: all(wantIP(4, cliV4, srvV4, 6), wantOffsets(14, 34), wantPorts(51514, 443), wantTCP(0x3f32bad2, 0x9a0c4411, TCPAck, 20), wantPayload([]byte{}))},
	{name: "ipv4_ethernet_padding_udp", lt: ltEther, layers: LayerEthernet | udp4,
		data:  padTo(eth(0x0800, ip4{proto: 17, src: cliV4, dst: srvV4, payload: udpH{sport: 7, dport: 7, payload: []byte("ping")}.bytes()}.bytes()), 60),
		check: all(wantOffsets(14, 34), wantPorts(7, 7), wantPayload([]byte("ping")))},
	{name: "ipv4_ethernet_padding_cut_by_snaplen", lt: ltEther, layers: LayerEthernet | udp4 | LayerTruncated,
		data:  padTo(eth(0x0800, ip4{proto: 17, src: cliV4, dst: srvV4, payload: udpH{sport: 7, dport: 7, payload: []byte("ping")}.bytes()}.bytes()), 60),
		snap:  50, // 46 bytes of frame, 4 of padding captured
		check: all(wantOffsets(14, 34), wantPorts(7, 7), wantPayload([]byte("ping")))},

	// Total length 0: offload on the capturing host. Recorded, then decoded as long as the frame.
	{name: "ipv4_iplen_zero_tso", lt: ltEther, data: eth(0x0800, tso4()), layers: ethTCP4, want: []Anomaly{IPv4IplenZero},
		check: all(wantIP(4, cliV4, srvV4, 6), wantPorts(443, 51514), wantPayloadLen(1448), wantSegLen(1448))},
	{name: "ipv4_iplen_zero_tso_snaplen", lt: ltEther, data: eth(0x0800, tso4()), snap: 14 + 40 + 100,
		layers: ethTCP4 | LayerTruncated, want: []Anomaly{IPv4IplenZero},
		check: all(wantPorts(443, 51514), wantPayloadLen(100), wantSegLen(1448))},
	{name: "ipv4_iplen_zero_no_transport_bytes", lt: ltRaw, data: tso4()[:20], layers: LayerIPv4,
		want: []Anomaly{IPv4IplenZero, TCPPktTooSmall}},
	// Total length 0 and a frame too short for the header the IHL claims.
	{name: "ipv4_iplen_zero_options_cut", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{IPv4IplenZero, IPv4TruncPkt},
		data: ip4{total: lenZero, proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00")}.bytes()[:22]},
	{name: "ipv4_iplen_zero_options_cut_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{IPv4IplenZero, CaptureTruncated},
		data: ip4{total: lenZero, proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00"), payload: tcpH{sport: 1, dport: 2}.bytes()}.bytes(), snap: 22},

	{name: "ipv4_pkt_too_small", lt: ltRaw, data: synV4()[:19], want: []Anomaly{IPv4PktTooSmall}},
	{name: "ipv4_pkt_too_small_snaplen", lt: ltRaw, data: synV4(), snap: 19, layers: LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "ipv4_pkt_too_small_ethernet", lt: ltEther, data: eth(0x0800, synV4()[:19]), layers: LayerEthernet, want: []Anomaly{IPv4PktTooSmall}},
	{name: "ipv4_wrong_version_ethertype", lt: ltEther, data: eth(0x0800, dnsV6()), layers: LayerEthernet, want: []Anomaly{IPv4WrongVersion}},
	{name: "ipv4_wrong_version_linktype228", lt: ltIPv4, data: dnsV6(), want: []Anomaly{IPv4WrongVersion}},
	{name: "ipv4_wrong_version_5", lt: ltIPv4, data: ip4{version: 5, proto: 6, src: cliV4, dst: srvV4, payload: zeros(20)}.bytes(),
		want: []Anomaly{IPv4WrongVersion}},
	{name: "ipv4_hlen_too_small", lt: ltRaw, layers: LayerIPv4 | LayerIPv4Opts, want: []Anomaly{IPv4HlenTooSmall},
		data:  ip4{ihl: 4, id: 1, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, flags: TCPSyn}.bytes()}.bytes(),
		check: all(wantIP(4, cliV4, srvV4, 6), wantIPv4(0, IPv4{HeaderLen: 16, TotalLen: 40, ID: 1, Protocol: 6}), wantPayload(nil))},
	{name: "ipv4_hlen_zero", lt: ltRaw, layers: LayerIPv4 | LayerIPv4Opts, want: []Anomaly{IPv4HlenTooSmall},
		data: ip4{ihl: -16, proto: 6, src: cliV4, dst: srvV4, payload: zeros(20)}.bytes()}, // -16&0x0f == 0
	{name: "ipv4_iplen_smaller_than_hlen", lt: ltRaw, layers: LayerIPv4 | LayerIPv4Opts, want: []Anomaly{IPv4IplenSmallerThan},
		data:  ip4{total: 16, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2}.bytes()}.bytes(),
		check: wantIP(4, cliV4, srvV4, 6)},
	{name: "ipv4_iplen_smaller_than_hlen_options", lt: ltRaw, layers: LayerIPv4 | LayerIPv4Opts, want: []Anomaly{IPv4IplenSmallerThan},
		data: ip4{total: 22, proto: 6, src: cliV4, dst: srvV4, opts: hx("94 04 00 00"), payload: tcpH{sport: 1, dport: 2}.bytes()}.bytes()},
	// IHL 15 and total length 60, but only 40 bytes were sent.
	{name: "ipv4_trunc_pkt_header", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{IPv4TruncPkt},
		data:  ip4{ihl: 15, total: 60, proto: 6, src: cliV4, dst: srvV4, opts: hx("07 27 04"), payload: zeros(37)}.bytes()[:40],
		check: all(wantIP(4, cliV4, srvV4, 6), func(t *testing.T, p *Packet) { eq(t, "Options", p.IPv4.Options == nil, true) })},
	{name: "ipv4_trunc_pkt_header_snaplen", lt: ltRaw, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: ip4{ihl: 15, total: 60, proto: 6, src: cliV4, dst: srvV4, opts: hx("07 27 04"), payload: zeros(37)}.bytes(), snap: 40},
	// Total length 1500, 60 bytes sent: the TCP header is whole, so TCP is decoded.
	{name: "ipv4_trunc_pkt_total", lt: ltEther, layers: ethTCP4, want: []Anomaly{IPv4TruncPkt},
		data:  eth(0x0800, ip4{total: 1500, id: 5, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 80, dport: 50000, seq: 1, ack: 1, flags: TCPAck, payload: []byte("HTTP/1.1 200 OK\r\n")}.bytes()}.bytes()),
		check: all(wantPorts(80, 50000), wantPayload([]byte("HTTP/1.1 200 OK\r\n")))},
	// Doubtful: the missing TCP header is reported a second time (UDP reports an IP-level shortfall once).
	{name: "ipv4_trunc_pkt_tcp_header_missing", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{IPv4TruncPkt},
		data: ip4{total: 60, proto: 6, src: cliV4, dst: srvV4, payload: zeros(8)}.bytes()},
	{name: "ipv4_total_beyond_snaplen", lt: ltEther, layers: ethTCP4 | LayerTruncated,
		data: eth(0x0800, ip4{id: 5, proto: 6, src: cliV4, dst: srvV4,
			payload: tcpH{sport: 80, dport: 50000, seq: 1, ack: 1, flags: TCPAck, payload: zeros(1460)}.bytes()}.bytes()),
		snap: 68, check: all(wantPorts(80, 50000), wantPayloadLen(14), wantSegLen(1460))},

	// Fragments.
	{name: "ipv4_fragment_first_udp", lt: ltRaw, data: frag4(0, true, bigUDP4[:1480]), layers: udp4 | LayerFragment,
		check: all(wantIP(4, cliV4, srvV4, 17), wantFrag(0x4d2, 0, true), wantPorts(5353, 5353), wantPayload(bigUDP4[8:1480]),
			wantIPv4(0, IPv4{HeaderLen: 20, TotalLen: 1500, ID: 0x4d2, Flags: IPv4MoreFragments, Protocol: 17}))},
	{name: "ipv4_fragment_last_no_transport", lt: ltRaw, data: frag4(1480, false, bigUDP4[1480:]), layers: LayerIPv4 | LayerFragment,
		check: all(wantIP(4, cliV4, srvV4, 17), wantFrag(0x4d2, 1480, false), wantPorts(0, 0), wantPayload(nil),
			wantIPv4(0, IPv4{HeaderLen: 20, TotalLen: 20 + 528, ID: 0x4d2, FragOff: 1480, Protocol: 17}))},
	{name: "ipv4_fragment_middle_no_transport", lt: ltRaw, data: frag4(800, true, bigUDP4[800:1200]), layers: LayerIPv4 | LayerFragment,
		check: all(wantFrag(0x4d2, 800, true), wantPorts(0, 0))},
	// A later fragment whose bytes look like a TCP header is still not decoded as one.
	{name: "ipv4_fragment_later_tcp_like_bytes", lt: ltRaw, layers: LayerIPv4 | LayerFragment,
		data:  ip4{id: 9, fragOff: 8, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2}.bytes()}.bytes(),
		check: wantPorts(0, 0)},
	// The first fragment holds only 8 bytes of the TCP header: the rest is in the next fragment.
	{name: "ipv4_fragment_first_tcp_header_cut", lt: ltRaw, layers: LayerIPv4 | LayerFragment,
		data:  ip4{id: 0x99, flags: IPv4MoreFragments, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1234, dport: 80, seq: 7, flags: TCPSyn}.bytes()[:8]}.bytes(),
		check: wantFrag(0x99, 0, true)},
	{name: "ipv4_fragment_first_udp_header_cut", lt: ltRaw, layers: LayerIPv4 | LayerFragment,
		data: frag4(0, true, bigUDP4[:0])},
	// Without MF the same shortfall is the packet's own.
	{name: "ipv4_tcp_header_cut_no_mf", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{TCPPktTooSmall},
		data: ip4{id: 0x99, proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1234, dport: 80, seq: 7, flags: TCPSyn}.bytes()[:8]}.bytes()},
}

func TestIPv4(t *testing.T) { runCases(t, ipv4Cases) }
