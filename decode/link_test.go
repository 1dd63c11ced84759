package decode

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

const (
	ltEther = layers.LinkTypeEthernet
	ltRaw   = layers.LinkTypeRaw // 101
	ltIPv4  = layers.LinkTypeIPv4
	ltIPv6  = layers.LinkTypeIPv6
	ltSLL   = layers.LinkTypeLinuxSLL
	ltSLL2  = layers.LinkTypeLinuxSLL2
	ltNull  = layers.LinkTypeNull
	ltLoop  = layers.LinkTypeLoop
	ltNFLog = LinkTypeNFLog
)

const (
	ethTCP4 = LayerEthernet | LayerIPv4 | LayerTCP
	ethUDP6 = LayerEthernet | LayerIPv6 | LayerUDP
	tcp4    = LayerIPv4 | LayerTCP
	udp4    = LayerIPv4 | LayerUDP
	tcp6    = LayerIPv6 | LayerTCP
	udp6    = LayerIPv6 | LayerUDP
)

// syn4Check is what every frame carrying synV4 decodes to above the link layer; netOff is where
// the IPv4 header starts.
func syn4Check(netOff int) check {
	return all(
		wantIP(4, cliV4, srvV4, 6),
		wantOffsets(netOff, netOff+20),
		wantPorts(51514, 443),
		wantTCP(0x3f32bad1, 0, TCPSyn, 40),
		wantPayload([]byte{}),
		wantSegLen(0),
	)
}

func dns6Check(netOff int) check {
	return all(
		wantIP(6, cliV6, srvV6, 17),
		wantOffsets(netOff, netOff+40),
		wantPorts(53001, 53),
		wantPayload(dnsQuery),
	)
}

// arpRequest is an ARP who-has 192.0.2.1 tell 192.0.2.10.
var arpRequest = hx(
	"00 01 08 00 06 04 00 01",          // Ethernet, IPv4, hlen 6, plen 4, request
	"a4 5e 60 d1 22 7e", "c0 00 02 0a", // sender MAC, IP
	"00 00 00 00 00 00", "c0 00 02 01", // target MAC, IP
)

// stpBPDU is an 802.3 frame (length 38, not an EtherType) carrying LLC + an STP configuration BPDU.
var stpBPDU = cat(
	hx("01 80 c2 00 00 00", "00 1b 21 3a 4f 10", "00 26"), // STP multicast, source, 802.3 length 38
	hx("42 42 03"), // LLC: DSAP, SSAP STP, UI
	hx("00 00 00 00 80 00 00 1b 21 3a 4f 10 00 00 00 00 80 00 00 1b 21 3a 4f 10 80 01 00 00 14 00 02 00 0f 00"),
	zeros(8), // padding to 60
)

var linkCases = []decodeCase{
	// Ethernet.
	{name: "eth_ipv4_tcp_syn", lt: ltEther, data: eth(0x0800, synV4()), layers: ethTCP4, check: syn4Check(14)},
	{name: "eth_ipv6_udp_dns", lt: ltEther, data: eth(0x86dd, dnsV6()), layers: ethUDP6, check: dns6Check(14)},
	{name: "eth_arp_not_ip", lt: ltEther, data: padTo(eth(0x0806, arpRequest), 60), layers: LayerEthernet,
		check: func(t *testing.T, p *Packet) { eq(t, "IPVersion", p.IPVersion, 0) }},
	{name: "eth_8023_llc_stp", lt: ltEther, data: stpBPDU, layers: LayerEthernet},
	{name: "eth_unknown_ethertype_lldp", lt: ltEther, data: padTo(eth(0x88cc, hx("02 07 04 00 1b 21 3a 4f 10")), 60), layers: LayerEthernet},
	{name: "eth_pkt_too_small", lt: ltEther, data: hx("00 1b 21 3a 4f 10 a4 5e 60 d1"), want: []Anomaly{EthPktTooSmall}},
	{name: "eth_pkt_too_small_snaplen", lt: ltEther, data: eth(0x0800, synV4()), snap: 10, layers: LayerTruncated,
		want: []Anomaly{CaptureTruncated}},
	{name: "eth_empty", lt: ltEther, data: []byte{}, want: []Anomaly{EthPktTooSmall}},
	{name: "eth_header_only_ipv4", lt: ltEther, data: eth(0x0800, nil), layers: LayerEthernet, want: []Anomaly{IPv4PktTooSmall}},

	// 802.1Q / 802.1ad.
	{name: "vlan_8021q_ipv4", lt: ltEther, layers: ethTCP4 | LayerVLAN,
		data:  ethVLAN(0x0800, synV4(), vtag{0x8100, 0xa064}), // PCP 5, VLAN 100
		check: all(wantVLANs(100), syn4Check(18))},
	{name: "vlan_8021q_dei_vid_4095", lt: ltEther, layers: ethTCP4 | LayerVLAN,
		data:  ethVLAN(0x0800, synV4(), vtag{0x8100, 0x1fff}), // DEI set, VLAN 4095
		check: all(wantVLANs(4095), syn4Check(18))},
	{name: "vlan_qinq_8021ad_ipv6", lt: ltEther, layers: ethUDP6 | LayerVLAN,
		data:  ethVLAN(0x86dd, dnsV6(), vtag{0x88a8, 200}, vtag{0x8100, 100}),
		check: all(wantVLANs(200, 100), dns6Check(22))},
	{name: "vlan_qinq_9100_prestandard", lt: ltEther, layers: ethTCP4 | LayerVLAN,
		data:  ethVLAN(0x0800, synV4(), vtag{0x9100, 300}, vtag{0x8100, 30}),
		check: all(wantVLANs(300, 30), syn4Check(22))},
	{name: "vlan_four_tags_max", lt: ltEther, layers: ethTCP4 | LayerVLAN,
		data:  ethVLAN(0x0800, synV4(), vtag{0x88a8, 1}, vtag{0x8100, 2}, vtag{0x8100, 3}, vtag{0x8100, 4}),
		check: all(wantVLANs(1, 2, 3, 4), syn4Check(30))},
	{name: "vlan_too_many_tags", lt: ltEther, layers: LayerEthernet | LayerVLAN, want: []Anomaly{VLANTooManyTags},
		data:  ethVLAN(0x0800, synV4(), vtag{0x88a8, 1}, vtag{0x8100, 2}, vtag{0x8100, 3}, vtag{0x8100, 4}, vtag{0x8100, 5}),
		check: all(wantVLANs(1, 2, 3, 4), func(t *testing.T, p *Packet) { eq(t, "IPVersion", p.IPVersion, 0) })},
	{name: "vlan_arp", lt: ltEther, layers: LayerEthernet | LayerVLAN,
		data: padTo(ethVLAN(0x0806, arpRequest, vtag{0x8100, 10}), 60), check: wantVLANs(10)},
	{name: "vlan_hdr_too_small", lt: ltEther, layers: LayerEthernet, want: []Anomaly{VLANHdrTooSmall},
		data: cat(macRouter, macHost, hx("81 00", "00 64"))}, // TPID, then only the TCI
	{name: "vlan_hdr_too_small_snaplen", lt: ltEther, layers: LayerEthernet | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: ethVLAN(0x0800, synV4(), vtag{0x8100, 100}), snap: 16},
	{name: "vlan_second_tag_too_small", lt: ltEther, layers: LayerEthernet | LayerVLAN, want: []Anomaly{VLANHdrTooSmall},
		data: cat(macRouter, macHost, hx("88 a8", "00 c8 81 00", "00")), check: wantVLANs(200)},

	// Linux cooked capture v1 and v2.
	{name: "sll_ipv4_tcp", lt: ltSLL, data: sll(0x0800, synV4()), layers: LayerSLL | tcp4, check: syn4Check(16)},
	{name: "sll_ipv6_udp", lt: ltSLL, data: sll(0x86dd, dnsV6()), layers: LayerSLL | udp6, check: dns6Check(16)},
	{name: "sll_vlan_ipv4", lt: ltSLL, data: sll(0x8100, cat(hx("00 64 08 00"), synV4())), layers: LayerSLL | LayerVLAN | tcp4,
		check: all(wantVLANs(100), syn4Check(20))},
	{name: "sll_arp", lt: ltSLL, data: sll(0x0806, arpRequest), layers: LayerSLL},
	{name: "sll_pkt_too_small", lt: ltSLL, data: sll(0x0800, nil)[:15], want: []Anomaly{SLLPktTooSmall}},
	{name: "sll_pkt_too_small_snaplen", lt: ltSLL, data: sll(0x0800, synV4()), snap: 15, layers: LayerTruncated,
		want: []Anomaly{CaptureTruncated}},
	{name: "sll2_ipv4_tcp", lt: ltSLL2, data: sll2(0x0800, synV4()), layers: LayerSLL | tcp4, check: syn4Check(20)},
	{name: "sll2_ipv6_udp", lt: ltSLL2, data: sll2(0x86dd, dnsV6()), layers: LayerSLL | udp6, check: dns6Check(20)},
	{name: "sll2_pkt_too_small", lt: ltSLL2, data: sll2(0x0800, nil)[:19], want: []Anomaly{SLL2PktTooSmall}},
	{name: "sll2_pkt_too_small_snaplen", lt: ltSLL2, data: sll2(0x0800, synV4()), snap: 19, layers: LayerTruncated,
		want: []Anomaly{CaptureTruncated}},

	// BSD loopback: DLT_NULL in the writer's byte order, DLT_LOOP in network order.
	{name: "null_ipv4_little_endian", lt: ltNull, data: null(2, false, synV4()), layers: tcp4, check: syn4Check(4)},
	{name: "null_ipv4_big_endian", lt: ltNull, data: null(2, true, synV4()), layers: tcp4, check: syn4Check(4)},
	{name: "null_ipv6_24_netbsd", lt: ltNull, data: null(24, false, dnsV6()), layers: udp6, check: dns6Check(4)},
	{name: "null_ipv6_28_freebsd", lt: ltNull, data: null(28, false, dnsV6()), layers: udp6, check: dns6Check(4)},
	{name: "null_ipv6_30_macos", lt: ltNull, data: null(30, false, dnsV6()), layers: udp6, check: dns6Check(4)},
	{name: "null_ipv6_30_big_endian", lt: ltNull, data: null(30, true, dnsV6()), layers: udp6, check: dns6Check(4)},
	{name: "null_ipv6_10_linux", lt: ltNull, data: null(10, false, dnsV6()), layers: udp6, check: dns6Check(4)},
	{name: "null_unknown_family", lt: ltNull, data: null(7, false, synV4()), want: []Anomaly{NullUnknownFamily}},
	{name: "null_unknown_family_big_endian", lt: ltNull, data: null(17, true, synV4()), want: []Anomaly{NullUnknownFamily}},
	{name: "null_pkt_too_small", lt: ltNull, data: hx("02 00 00"), want: []Anomaly{NullPktTooSmall}},
	{name: "null_pkt_too_small_snaplen", lt: ltNull, data: null(2, false, synV4()), snap: 3, layers: LayerTruncated,
		want: []Anomaly{CaptureTruncated}},
	{name: "loop_ipv4", lt: ltLoop, data: null(2, true, synV4()), layers: tcp4, check: syn4Check(4)},
	{name: "loop_ipv6_24", lt: ltLoop, data: null(24, true, dnsV6()), layers: udp6, check: dns6Check(4)},
	// DLT_LOOP is always network order: a little-endian 2 reads as 0x02000000.
	{name: "loop_little_endian_is_unknown_family", lt: ltLoop, data: null(2, false, synV4()), want: []Anomaly{NullUnknownFamily}},
	{name: "loop_pkt_too_small", lt: ltLoop, data: hx("00 00"), want: []Anomaly{NullPktTooSmall}},

	// Raw IP: the version nibble decides.
	{name: "raw101_ipv4", lt: ltRaw, data: synV4(), layers: tcp4, check: syn4Check(0)},
	{name: "raw101_ipv6", lt: ltRaw, data: dnsV6(), layers: udp6, check: dns6Check(0)},
	{name: "raw12_openbsd_ipv4", lt: 12, data: synV4(), layers: tcp4, check: syn4Check(0)},
	{name: "raw14_bsdos_ipv6", lt: 14, data: dnsV6(), layers: udp6, check: dns6Check(0)},
	{name: "raw228_ipv4", lt: ltIPv4, data: synV4(), layers: tcp4, check: syn4Check(0)},
	{name: "raw229_ipv6", lt: ltIPv6, data: dnsV6(), layers: udp6, check: dns6Check(0)},
	{name: "raw_invalid_version", lt: ltRaw, data: cat([]byte{0x55}, synV4()[1:]), want: []Anomaly{IPRawInvalidVersion}},
	{name: "raw_empty", lt: ltRaw, data: []byte{}, want: []Anomaly{IPRawInvalidVersion}},
	{name: "raw_empty_snaplen", lt: ltRaw, data: []byte{}, wire: 60, layers: LayerTruncated, want: []Anomaly{CaptureTruncated}},
	{name: "raw_ipv4_too_small", lt: ltRaw, data: synV4()[:12], want: []Anomaly{IPv4PktTooSmall}},

	// Link types not decoded.
	{name: "link_unsupported_ppp", lt: layers.LinkTypePPP, data: cat(hx("ff 03 00 21"), synV4()), want: []Anomaly{LinkUnsupported}},
	{name: "link_unsupported_80211", lt: layers.LinkTypeIEEE802_11, data: zeros(24), want: []Anomaly{LinkUnsupported}},

	// NFLOG: TLVs (with padding) before the payload TLV.
	{name: "nflog_ipv4_tcp", lt: ltNFLog, data: nflog(2, synV4()), layers: tcp4, check: syn4Check(nflogPayloadOff)},
	{name: "nflog_ipv6_tcp", lt: ltNFLog, data: nflog(10, synV6()), layers: tcp6,
		check: all(wantIP(6, cliV6, srvV6, 6), wantNetOff(nflogPayloadOff), wantPorts(51514, 443))},
	{name: "nflog_family_unspec_uses_version", lt: ltNFLog, data: nflog(0, synV4()), layers: tcp4, check: syn4Check(nflogPayloadOff)},
	// A TLV after the payload does not move the offsets (TestOffsetsAfterTrailerTrim).
	{name: "nflog_payload_first", lt: ltNFLog, layers: tcp4, check: all(wantIP(4, cliV4, srvV4, 6), wantOffsets(8, 28), wantPorts(51514, 443)),
		data: cat(hx("02 00 00 00"), nflogTLV(nfulaPayloadT, synV4()), nflogTLV(nfulaUID, be32(0)))},
	{name: "nflog_netlink_flag_bits_in_type", lt: ltNFLog, layers: tcp4, check: syn4Check(8),
		data: cat(hx("02 00 00 00"), le16(64), le16(0x8000|nfulaPayloadT), synV4())}, // NLA_F_NESTED set
	{name: "nflog_no_payload_tlv", lt: ltNFLog, data: cat(hx("02 00 00 00"), nflogTLV(nfulaPrefix, []byte("x\x00")))},
	{name: "nflog_header_only", lt: ltNFLog, data: hx("02 00 00 00")},
	{name: "nflog_trailing_short_bytes_ignored", lt: ltNFLog, data: cat(hx("02 00 00 00"), nflogTLV(nfulaUID, be32(0)), hx("08 00"))},
	{name: "nflog_tlv_len_below_4", lt: ltNFLog, want: []Anomaly{NFLogTLVInvalid},
		data: cat(hx("02 00 00 00"), nflogTLV(nfulaUID, be32(0)), hx("02 00 09 00"), synV4())},
	{name: "nflog_tlv_len_zero", lt: ltNFLog, want: []Anomaly{NFLogTLVInvalid},
		data: cat(hx("02 00 00 00"), hx("00 00 01 00"), synV4())},
	{name: "nflog_tlv_overrun", lt: ltNFLog, want: []Anomaly{NFLogTLVInvalid},
		data: cat(hx("02 00 00 00"), hx("40 00 0a 00"), []byte("ids\x00"))}, // prefix TLV claims 64 bytes, 8 sent
	{name: "nflog_payload_tlv_overrun", lt: ltNFLog, want: []Anomaly{NFLogTLVInvalid},
		data: cat(hx("02 00 00 00"), le16(200), le16(nfulaPayloadT), synV4())},
	// The capture cut the payload TLV: the packet is decoded as far as it was captured.
	{name: "nflog_payload_cut_by_snaplen", lt: ltNFLog, layers: tcp4 | LayerTruncated,
		data: nflog(2, ip4{id: 7, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
			payload: tcpH{sport: 51514, dport: 443, seq: 1, ack: 2, flags: TCPAck | TCPPsh, payload: zeros(1000)}.bytes()}.bytes()),
		snap:  nflogPayloadOff + 40 + 100,
		check: all(wantIP(4, cliV4, srvV4, 6), wantPorts(51514, 443), wantPayloadLen(100))},
	{name: "nflog_payload_tcp_header_cut_by_snaplen", lt: ltNFLog, layers: LayerIPv4 | LayerTruncated, want: []Anomaly{CaptureTruncated},
		data: nflog(2, synV4()), snap: nflogPayloadOff + 30},
	{name: "nflog_pkt_too_small", lt: ltNFLog, data: hx("02 00 00"), want: []Anomaly{NFLogPktTooSmall}},
	{name: "nflog_pkt_too_small_snaplen", lt: ltNFLog, data: nflog(2, synV4()), snap: 3, layers: LayerTruncated,
		want: []Anomaly{CaptureTruncated}},
}

// nflogPayloadOff is where nflog() puts the packet: 4-byte header, packet header TLV (8), prefix
// TLV (4+9, padded to 16), ifindex, uid and gid TLVs (8 each), payload TLV header (4).
const nflogPayloadOff = 4 + 8 + 16 + 8 + 8 + 8 + 4

func TestLink(t *testing.T) { runCases(t, linkCases) }
