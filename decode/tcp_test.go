package decode

import (
	"testing"
)

// tcp4Opts is a TCP segment 192.0.2.10:40000 -> 198.51.100.7:80 carrying the given option bytes
// (padded with EOL unless doff is given).
func tcp4Opts(flags uint16, opts []byte) []byte {
	return ip4{id: 0x2222, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
		payload: tcpH{sport: 40000, dport: 80, seq: 100, ack: 200, flags: flags, opts: opts}.bytes()}.bytes()
}

// tcpOptsOnly checks the parsed options and that the raw bytes are the header's.
func tcpOptsOnly(want TCPOptions, raw []byte) check {
	return all(wantPorts(40000, 80), wantTCPOpts(want), func(t *testing.T, p *Packet) {
		t.Helper()
		eq(t, "TCP.Options", string(p.TCP.Options), string(raw))
	})
}

// udp4 is a UDP datagram 192.0.2.10:53001 -> 198.51.100.7:53 with the given UDP length field.
func udp4Len(length int, payload []byte) []byte {
	return ip4{id: 0x3333, proto: 17, src: cliV4, dst: srvV4,
		payload: udpH{sport: 53001, dport: 53, length: length, payload: payload}.bytes()}.bytes()
}

var windowsSynAckOpts = cat(optMSS(1380), optNOP(), optWS(8), optNOP(), optNOP(), optSACKPerm())
var sackAckOpts = cat(optNOP(), optNOP(), optTS(0x0a0b0c0d, 0x01020304), optNOP(), optNOP(), optSACK(1000, 2000, 3000, 4000))

var tcpCases = []decodeCase{
	{name: "tcp_syn_linux_options", lt: ltEther, data: eth(0x0800, synV4()), layers: ethTCP4, check: all(
		syn4Check(14),
		wantTCPOpts(TCPOptions{Has: TCPOptMSS | TCPOptSACKPermitted | TCPOptTimestamps | TCPOptWScale, MSS: 1460, WScale: 7, TSVal: 2576958}),
		func(t *testing.T, p *Packet) {
			eq(t, "TCP.Options", string(p.TCP.Options), string(linuxSynOpts()))
			eq(t, "TCP.Window", p.TCP.Window, 64240)
			eq(t, "TCP.Checksum", p.TCP.Checksum, 0x8f3a)
			eq(t, "TCP.Urgent", p.TCP.Urgent, 0)
			eq(t, "SYN()", p.TCP.SYN(), true)
		})},
	{name: "tcp_synack_windows_options", lt: ltRaw, layers: tcp4,
		data: ip4{id: 1, proto: 6, src: srvV4, dst: cliV4,
			payload: tcpH{sport: 443, dport: 51514, seq: 0x9a0c4410, ack: 0x3f32bad2, flags: TCPSyn | TCPAck, win: 65535, opts: windowsSynAckOpts}.bytes()}.bytes(),
		check: all(wantPorts(443, 51514), wantTCP(0x9a0c4410, 0x3f32bad2, TCPSyn|TCPAck, 32),
			wantTCPOpts(TCPOptions{Has: TCPOptMSS | TCPOptWScale | TCPOptSACKPermitted, MSS: 1380, WScale: 8}),
			func(t *testing.T, p *Packet) {
				eq(t, "SYN()", p.TCP.SYN(), false)
				eq(t, "Window", p.TCP.Window, 65535)
			})},
	{name: "tcp_ack_timestamps_sack_two_blocks", lt: ltRaw, layers: tcp4, data: tcp4Opts(TCPAck, sackAckOpts),
		check: all(wantTCP(100, 200, TCPAck, 52),
			tcpOptsOnly(TCPOptions{Has: TCPOptTimestamps | TCPOptSACK, TSVal: 0x0a0b0c0d, TSEcr: 0x01020304}, sackAckOpts))},
	{name: "tcp_sack_four_blocks", lt: ltRaw, layers: tcp4, data: tcp4Opts(TCPAck, cat(optNOP(), optNOP(), optSACK(1, 2, 3, 4, 5, 6, 7, 8))),
		check: tcpOptsOnly(TCPOptions{Has: TCPOptSACK}, cat(optNOP(), optNOP(), optSACK(1, 2, 3, 4, 5, 6, 7, 8)))},
	{name: "tcp_psh_ack_http_payload", lt: ltRaw, layers: tcp4,
		data: ip4{id: 2, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
			payload: tcpH{sport: 51514, dport: 80, seq: 1, ack: 1, flags: TCPPsh | TCPAck, opts: cat(optNOP(), optNOP(), optTS(5, 6)),
				payload: []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")}.bytes()}.bytes(),
		check: all(wantOffsets(0, 20), wantTCP(1, 1, TCPPsh|TCPAck, 32), wantPayload([]byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")), wantSegLen(37))},
	{name: "tcp_all_flags_and_ae", lt: ltRaw, layers: tcp4,
		data:  tcp4Opts(TCPFin|TCPSyn|TCPRst|TCPPsh|TCPAck|TCPUrg|TCPEce|TCPCwr|TCPAE, nil),
		check: wantTCP(100, 200, 0x1ff, 20)},
	{name: "tcp_rst_ack_no_options", lt: ltRaw, layers: tcp4, data: tcp4Opts(TCPRst|TCPAck, nil),
		check: all(wantTCP(100, 200, TCPRst|TCPAck, 20), tcpOptsOnly(TCPOptions{}, nil))},
	{name: "tcp_eol_then_junk", lt: ltRaw, layers: tcp4, data: tcp4Opts(TCPSyn, cat(optMSS(536), hx("00 ff ff 05"))),
		check: tcpOptsOnly(TCPOptions{Has: TCPOptMSS, MSS: 536}, cat(optMSS(536), hx("00 ff ff 05")))},
	{name: "tcp_unknown_options_mptcp_tfo", lt: ltRaw, layers: tcp4,
		data:  tcp4Opts(TCPSyn, cat(hx("1e 0c 00 81 01 02 03 04 05 06 07 08"), hx("22 0a 11 22 33 44 55 66 77 88"), optNOP(), optNOP())),
		check: tcpOptsOnly(TCPOptions{}, cat(hx("1e 0c 00 81 01 02 03 04 05 06 07 08"), hx("22 0a 11 22 33 44 55 66 77 88"), optNOP(), optNOP()))},
	{name: "tcp_ipv6_psh_payload", lt: ltRaw, layers: tcp6,
		data:  ip6{nh: nhTCP, src: cliV6, dst: srvV6, payload: tcpH{sport: 22, dport: 50022, seq: 9, ack: 10, flags: TCPPsh | TCPAck, payload: []byte("SSH-2.0-OpenSSH_9.6\r\n")}.bytes()}.bytes(),
		check: all(wantOffsets(0, 40), wantPorts(22, 50022), wantPayload([]byte("SSH-2.0-OpenSSH_9.6\r\n")))},

	// Header length.
	{name: "tcp_pkt_too_small", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{TCPPktTooSmall},
		data: ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2}.bytes()[:12]}.bytes()},
	{name: "tcp_pkt_too_small_snaplen", lt: ltRaw, data: synV4(), snap: 20 + 12, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "tcp_pkt_too_small_ipv6", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{TCPPktTooSmall},
		data: ip6{nh: nhTCP, src: cliV6, dst: srvV6, payload: tcpH{sport: 1, dport: 2}.bytes()[:19]}.bytes()},
	{name: "tcp_pkt_too_small_ipv6_snaplen", lt: ltRaw, data: synV6(), snap: 40 + 19, layers: LayerIPv6 | LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "tcp_hlen_too_small", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPHlenTooSmall},
		data:  ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, seq: 3, flags: TCPSyn, doff: 4, payload: []byte("xx")}.bytes()}.bytes(),
		check: all(wantPorts(1, 2), wantTCP(3, 0, TCPSyn, 16), wantPayload(nil), tcpOptsOnlyNil)},
	{name: "tcp_hlen_zero", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPHlenTooSmall},
		data:  ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, doff: 16}.bytes()}.bytes(), // 16<<4 wraps to 0
		check: all(wantPorts(1, 2), wantTCP(0, 0, 0, 0))},
	{name: "tcp_hlen_too_large", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPHlenTooLarge},
		data:  ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, seq: 3, flags: TCPAck, doff: 15}.bytes()}.bytes(),
		check: all(wantPorts(1, 2), wantTCP(3, 0, TCPAck, 60), wantPayload(nil), tcpOptsOnlyNil)},
	{name: "tcp_hlen_too_large_snaplen", lt: ltRaw, data: synV4(), snap: 20 + 30, layers: tcp4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		check: all(wantPorts(51514, 443), wantTCP(0x3f32bad1, 0, TCPSyn, 40), tcpOptsOnlyNil)},
	// The segment is shorter than its own data offset; the IP datagram ends there (Ethernet padding follows).
	{name: "tcp_hlen_too_large_padded_frame", lt: ltEther, layers: ethTCP4, want: []Anomaly{TCPHlenTooLarge},
		data: padTo(eth(0x0800, ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, doff: 8}.bytes()}.bytes()), 60)},

	// Option structure.
	{name: "tcp_opt_len_zero", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptLenInvalid}, data: tcp4Opts(TCPSyn, hx("02 00 05 b4")),
		check: tcpOptsOnly(TCPOptions{}, hx("02 00 05 b4"))},
	{name: "tcp_opt_len_one", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptLenInvalid}, data: tcp4Opts(TCPSyn, cat(optMSS(1460), hx("08 01 00 00"))),
		check: tcpOptsOnly(TCPOptions{Has: TCPOptMSS, MSS: 1460}, cat(optMSS(1460), hx("08 01 00 00")))},
	{name: "tcp_opt_len_overrun", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptLenInvalid}, data: tcp4Opts(TCPSyn, hx("01 01 08 0a")),
		check: tcpOptsOnly(TCPOptions{}, hx("01 01 08 0a"))},
	{name: "tcp_opt_kind_in_last_byte", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptLenInvalid}, data: tcp4Opts(TCPSyn, hx("01 01 01 02"))},
	{name: "tcp_mss_len_3_then_ws", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen}, data: tcp4Opts(TCPSyn, hx("02 03 05", "03 03 07")),
		check: tcpOptsOnly(TCPOptions{Has: TCPOptWScale, WScale: 7}, hx("02 03 05 03 03 07 00 00"))},
	{name: "tcp_ws_len_4", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen}, data: tcp4Opts(TCPSyn, hx("03 04 07 00")),
		check: tcpOptsOnly(TCPOptions{}, hx("03 04 07 00"))},
	{name: "tcp_sack_permitted_len_3", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen}, data: tcp4Opts(TCPSyn, hx("04 03 00", "01"))},
	{name: "tcp_sack_len_2", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen}, data: tcp4Opts(TCPAck, hx("05 02 01 01"))},
	{name: "tcp_sack_len_not_2_plus_8n", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen},
		data: tcp4Opts(TCPAck, hx("05 0e", "00 00 00 01 00 00 00 02 00 00 00 03"))},
	{name: "tcp_timestamps_len_8_then_mss", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen},
		data:  tcp4Opts(TCPSyn, cat(hx("08 08 00 00 00 01 00 00"), optMSS(1200))),
		check: tcpOptsOnly(TCPOptions{Has: TCPOptMSS, MSS: 1200}, cat(hx("08 08 00 00 00 01 00 00"), optMSS(1200)))},
	{name: "tcp_two_invalid_then_overrun", lt: ltRaw, layers: tcp4, want: []Anomaly{TCPOptInvalidLen, TCPOptInvalidLen, TCPOptLenInvalid},
		data: tcp4Opts(TCPSyn, hx("03 02", "04 03 00", "08 20 00"))},
	{name: "tcp_more_anomalies_than_slots", lt: ltRaw, layers: tcp4,
		data: tcp4Opts(TCPSyn, cat(hx("04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00"),
			hx("04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00"))), // 13 bad SACK-permitted options
		want: []Anomaly{TCPOptInvalidLen, TCPOptInvalidLen, TCPOptInvalidLen, TCPOptInvalidLen,
			TCPOptInvalidLen, TCPOptInvalidLen, TCPOptInvalidLen, TCPOptInvalidLen},
		check: func(t *testing.T, p *Packet) { eq(t, "AnomaliesDropped", p.AnomaliesDropped, 5) }},
}

// tcpOptsOnlyNil checks that no option bytes are exposed.
func tcpOptsOnlyNil(t *testing.T, p *Packet) {
	t.Helper()
	if p.TCP.Options != nil {
		t.Errorf("TCP.Options = %x, want nil", p.TCP.Options)
	}
}

var udpCases = []decodeCase{
	{name: "udp_dns_fields", lt: ltRaw, data: dnsV4(), layers: udp4, check: all(
		wantOffsets(0, 20), wantPorts(53001, 53), wantPayload(dnsQuery),
		func(t *testing.T, p *Packet) { eq(t, "UDP", p.UDP, UDP{Length: 8 + 29, Checksum: 0x5c1e}) })},
	{name: "udp_length_shorter_than_ip_payload", lt: ltRaw, layers: udp4,
		data:  ip4{proto: 17, src: cliV4, dst: srvV4, payload: cat(udpH{sport: 1, dport: 2, length: 12, payload: []byte("abcd")}.bytes(), []byte("junk"))}.bytes(),
		check: wantPayload([]byte("abcd"))},
	{name: "udp_empty_payload", lt: ltRaw, layers: udp4, data: udp4Len(lenAuto, nil), check: wantPayload([]byte{})},
	{name: "udp_ipv6", lt: ltRaw, data: dnsV6(), layers: udp6, check: dns6Check(0)},
	{name: "udp_pkt_too_small", lt: ltRaw, layers: LayerIPv4, want: []Anomaly{UDPPktTooSmall},
		data: ip4{proto: 17, src: cliV4, dst: srvV4, payload: hx("cf 09 00 35")}.bytes()},
	{name: "udp_pkt_too_small_snaplen", lt: ltRaw, data: dnsV4(), snap: 24, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "udp_pkt_too_small_ipv6", lt: ltRaw, layers: LayerIPv6, want: []Anomaly{UDPPktTooSmall},
		data: ip6{nh: nhUDP, src: cliV6, dst: srvV6, payload: hx("cf 09 00 35 00")}.bytes()},
	{name: "udp_len_below_8", lt: ltRaw, layers: udp4, want: []Anomaly{UDPLenInvalid}, data: udp4Len(4, []byte("abc")),
		check: all(wantPorts(53001, 53), wantPayload([]byte("abc")))},
	{name: "udp_len_zero", lt: ltRaw, layers: udp4, want: []Anomaly{UDPLenInvalid}, data: udp4Len(lenZero, []byte("abc"))},
	{name: "udp_len_beyond_ip_payload", lt: ltRaw, layers: udp4, want: []Anomaly{UDPLenInvalid}, data: udp4Len(100, dnsQuery),
		check: wantPayload(dnsQuery)},
	{name: "udp_len_beyond_ip_payload_ipv6", lt: ltRaw, layers: udp6, want: []Anomaly{UDPLenInvalid},
		data: ip6{nh: nhUDP, src: cliV6, dst: srvV6, payload: udpH{sport: 1, dport: 2, length: 9, payload: nil}.bytes()}.bytes()},
	{name: "udp_len_beyond_snaplen", lt: ltRaw, data: dnsV4(), snap: 20 + 8 + 10, layers: udp4 | LayerTruncated,
		check: all(wantPorts(53001, 53), wantPayload(dnsQuery[:10]))},
	// The IP header claims more than was sent and the UDP length agrees with it: one anomaly, at IP.
	{name: "udp_ip_shortfall_reported_once", lt: ltRaw, layers: udp4, want: []Anomaly{IPv4TruncPkt},
		data:  ip4{total: 200, proto: 17, src: cliV4, dst: srvV4, payload: udpH{sport: 1, dport: 2, length: 180, payload: []byte("abc")}.bytes()}.bytes(),
		check: wantPayload([]byte("abc"))},
	{name: "udp_ip_shortfall_reported_once_ipv6", lt: ltRaw, layers: udp6, want: []Anomaly{IPv6TruncPkt},
		data: ip6{nh: nhUDP, plen: 180, src: cliV6, dst: srvV6, payload: udpH{sport: 1, dport: 2, length: 180, payload: []byte("abc")}.bytes()}.bytes()},
	// A first fragment's UDP length covers the whole datagram; it is not checked against the fragment.
	{name: "udp_first_fragment_length_not_checked", lt: ltRaw, layers: udp4 | LayerFragment,
		data:  ip4{id: 1, flags: IPv4MoreFragments, proto: 17, src: cliV4, dst: srvV4, payload: udpH{sport: 1, dport: 2, length: 4000, payload: zeros(64)}.bytes()}.bytes(),
		check: wantPayloadLen(64)},
}

func TestTCP(t *testing.T) { runCases(t, tcpCases) }
func TestUDP(t *testing.T) { runCases(t, udpCases) }
