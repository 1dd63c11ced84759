package main

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// fragNeeded is a router's ICMPv4 "fragmentation needed and DF set" (type 3 code 4) about ip,
// sent back to ip's source; the next-hop MTU is the low 16 bits of the rest of header (RFC 1191).
func fragNeeded(router netip.Addr, ip []byte, mtu uint16) []byte {
	src, _ := ipAddrs(ip)
	return ip4{src: router, dst: src, proto: protoICMP, tos: 0xc0, ttl: 254, id: mtu ^ 0x5a5a}.packet(
		icmp4(3, 4, uint32(mtu), quote(ip)))
}

// unreachable4 is any other ICMPv4 error about ip, rest of header 0.
func unreachable4(router netip.Addr, typ, code uint8, ip []byte) []byte {
	src, _ := ipAddrs(ip)
	return ip4{src: router, dst: src, proto: protoICMP, tos: 0xc0, ttl: 254, id: uint16(typ)<<8 | uint16(code)}.packet(
		icmp4(typ, code, 0, quote(ip)))
}

// icmp6Error is an ICMPv6 error (Packet Too Big when typ is 2, with the MTU as rest of header)
// about ip, sent back to ip's source.
func icmp6Error(router netip.Addr, typ, code uint8, rest uint32, ip []byte) []byte {
	src, _ := ipAddrs(ip)
	return ip6{src: router, dst: src, nh: protoICMPv6, hlim: 254}.packet(
		icmp6(router, src, typ, code, rest, quote6(ip)))
}

// bigSegment is a full-sized TCP data segment with DF set, the kind that draws a PMTU error.
func bigSegment(src, dst string, n int) []byte {
	s, d := addrPort(src), addrPort(dst)
	t := tcp{sport: s.Port(), dport: d.Port(), seq: 0x3a1f0000, ack: 0x7c000001, flags: flagACK, win: 501,
		data: filler(n, 'P')}
	return ipOver(s.Addr(), d.Addr(), protoTCP, 0x4d2, t.bytes(s.Addr(), d.Addr()))
}

func filler(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%26)
	}
	return b
}

func pmtuAlert(router, victim string) expect {
	sid := sidPMTUv4
	if addr(router).Is6() {
		sid = sidPMTUv6
	}
	return alert(detPMTU, sid, router, victim)
}

const pmtuWhy4 = "ICMPv4 type 3 code 4 with a next-hop MTU below 576 (CVE-2004-1060): one icmp-pmtu alert, endpoints those of the ICMP packet"

func pmtuCases() []*capture {
	var cs []*capture

	// A real connection, then a forged fragmentation-needed about its data segment.
	c := newCapture("icmp-pmtu/attack-mtu68.pcap", layers.LinkTypeEthernet, eth{},
		"TCP 192.0.2.20:51000 <-> 203.0.113.80:443, then fragmentation needed from 198.51.100.1 to 203.0.113.80, MTU 68, quoting the server's data segment",
		pmtuWhy4)
	f := newFlow(&c.stream, c.l, "192.0.2.20:51000", "203.0.113.80:443", 0x68686868)
	f.open(true)
	f.data(true, tlsData(517, 7))
	big := f.data(false, tlsData(1400, 8))
	c.send(fragNeeded(addr("198.51.100.1"), big, 68), pmtuAlert("198.51.100.1", "203.0.113.80"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-mtu0.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed from 198.51.100.2 to 192.0.2.21, MTU 0, quoting a UDP datagram 192.0.2.21:5004 -> 203.0.113.81:5004",
		"MTU 0 (as pre-RFC 1191 routers send) is below 576: one icmp-pmtu alert, endpoints those of the ICMP packet")
	rtp := ipOver(addr("192.0.2.21"), addr("203.0.113.81"), protoUDP, 0x0bad,
		udp(addr("192.0.2.21"), addr("203.0.113.81"), 5004, 5004, filler(1300, 'R')))
	c.send(fragNeeded(addr("198.51.100.2"), rtp, 0), pmtuAlert("198.51.100.2", "192.0.2.21"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-mtu575.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed from 198.51.100.3 to 203.0.113.82, MTU 575, quoting TCP 203.0.113.82:80 -> 192.0.2.22:50123",
		"575 is one below the 576 threshold: one icmp-pmtu alert")
	c.send(fragNeeded(addr("198.51.100.3"), bigSegment("203.0.113.82:80", "192.0.2.22:50123", 1448), 575),
		pmtuAlert("198.51.100.3", "203.0.113.82"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-ipv6-ptb-mtu500.pcap", layers.LinkTypeEthernet, eth{},
		"ICMPv6 Packet Too Big from 2001:db8:ffff::1 to 2001:db8:2::80, MTU 500, quoting TCP [2001:db8:2::80]:443 -> [2001:db8:1::20]:51000",
		"IPv6 PTB with an MTU below the IPv6 minimum 1280: one icmp-pmtu alert (sid 9200012)")
	c.send(icmp6Error(addr("2001:db8:ffff::1"), 2, 0, 500,
		bigSegment("[2001:db8:2::80]:443", "[2001:db8:1::20]:51000", 1428)),
		pmtuAlert("2001:db8:ffff::1", "2001:db8:2::80"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-vlan.pcapng", layers.LinkTypeEthernet, eth{tags: []tag{{tpid: 0x8100, vid: 100}}},
		"fragmentation needed from 198.51.100.4 to 203.0.113.83, MTU 296, in an 802.1Q frame (VLAN 100), pcapng",
		pmtuWhy4)
	c.send(fragNeeded(addr("198.51.100.4"), bigSegment("203.0.113.83:22", "192.0.2.23:50200", 1448), 296),
		pmtuAlert("198.51.100.4", "203.0.113.83"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-sll.pcap", layers.LinkTypeLinuxSLL, sll{},
		"fragmentation needed from 198.51.100.5 to 203.0.113.84, MTU 552, Linux cooked capture v1",
		pmtuWhy4)
	c.send(fragNeeded(addr("198.51.100.5"), bigSegment("203.0.113.84:443", "192.0.2.24:50300", 1448), 552),
		pmtuAlert("198.51.100.5", "203.0.113.84"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/attack-mtu256-rfc4884.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed from 198.51.100.8 to 203.0.113.88, MTU 256, with an RFC 4884 length byte and an MPLS extension (RFC 4950)",
		"the MTU is the low 16 bits only (256, below 576) whatever the RFC 4884 length byte says: one icmp-pmtu alert")
	c.send(fragNeeded4884(addr("198.51.100.8"), bigSegment("203.0.113.88:443", "192.0.2.28:50400", 1448), 256),
		pmtuAlert("198.51.100.8", "203.0.113.88"))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/benign-mtu576.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed from 198.51.100.6 to 203.0.113.85, MTU exactly 576",
		"576 is the IPv4 minimum reassembly size, not below it: no alert")
	c.send(fragNeeded(addr("198.51.100.6"), bigSegment("203.0.113.85:80", "192.0.2.25:50500", 1448), 576))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/benign-mtu1400-and-1492.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed with MTU 1400 (a tunnel) from 198.51.100.6 and 1492 (PPPoE) from 198.51.100.7",
		"ordinary path MTUs, well above 576: no alert")
	c.send(fragNeeded(addr("198.51.100.6"), bigSegment("203.0.113.85:443", "192.0.2.25:50600", 1448), 1400))
	c.send(fragNeeded(addr("198.51.100.7"), bigSegment("203.0.113.86:443", "192.0.2.26:50700", 1448), 1492))
	cs = append(cs, c)

	c = newCapture("icmp-pmtu/benign-ipv6-ptb-1280.pcap", layers.LinkTypeEthernet, eth{},
		"ICMPv6 Packet Too Big from 2001:db8:ffff::2 to 2001:db8:2::81, MTU exactly 1280",
		"1280 is the IPv6 minimum MTU, not below it: no alert")
	c.send(icmp6Error(addr("2001:db8:ffff::2"), 2, 0, 1280,
		bigSegment("[2001:db8:2::81]:443", "[2001:db8:1::21]:51001", 1428)))
	cs = append(cs, c)

	cs = append(cs, pmtuOtherICMP(), pmtuSeqOutside(false), pmtuSeqOutside(true), pmtuInFlight(), pmtuFragmented())
	return cs
}

// pmtuSeqOutside is a PMTU message with an ordinary MTU that quotes an established connection's
// server at a sequence number the server never sent: the message cannot be about a real segment
// (RFC 5927 4.1), so it is a spoofed attempt to shrink the connection's segments.
func pmtuSeqOutside(v6 bool) *capture {
	path, cli, srv, router := "icmp-pmtu/attack-seq-outside-mtu1400.pcap", "192.0.2.90:50900", "203.0.113.90:443", addr("198.51.100.10")
	what := "TLS 192.0.2.90:50900 -> 203.0.113.90:443, established, data both ways; then fragmentation needed, MTU 1400, from 198.51.100.10 to the server quoting a 1500-byte server segment at the server's next sequence number + 0x800000"
	if v6 {
		path, cli, srv, router = "icmp-pmtu/attack-ipv6-ptb-seq-outside.pcap", "[2001:db8:1::90]:50901", "[2001:db8:2::90]:443", addr("2001:db8:ffff::10")
		what = "TLS [2001:db8:1::90]:50901 -> [2001:db8:2::90]:443, established, data both ways; then ICMPv6 Packet Too Big, MTU 1400, from 2001:db8:ffff::10 to the server quoting a 1488-byte server segment at the server's next sequence number + 0x800000"
	}
	c := newCapture(path, layers.LinkTypeEthernet, eth{}, what,
		"the MTU is plausible but the quoted sequence number is outside what the server has in flight: one icmp-pmtu 9200013 alert, endpoints those of the ICMP packet")
	f := newConn(&c.stream, c.l, cli, srv, 0x9a7d0090)
	tlsExchange(f, false, 0x90)
	n := 1460
	if v6 {
		n = 1428
	}
	q := f.build(false, flagACK, f.sseq+blindOffset, f.cseq, tlsData(n-5, 0x9f))
	exp := alert(detPMTU, sidPMTUSeq, router.String(), f.srv.Addr().String())
	if v6 {
		c.send(icmp6Error(router, 2, 0, 1400, q), exp)
	} else {
		c.send(fragNeeded(router, q, 1400), exp)
	}
	f.data(false, tlsData(700, 0x94))
	f.ack(true)
	f.close()
	return c
}

// pmtuInFlight is path MTU discovery working as intended: the router drops the server's
// full-sized segment and says so, the server resends the same bytes in smaller segments.
func pmtuInFlight() *capture {
	c := newCapture("icmp-pmtu/benign-pmtud-in-flight.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.91:50910 -> 203.0.113.91:80, established; a 1500-byte server segment with DF; fragmentation needed, MTU 1400, from 198.51.100.11 quoting exactly that segment before the client acknowledges anything of it; the server resends that segment as 1360 + 100 bytes and sends the rest in 1360-byte segments, the client acknowledges, FIN close",
		"the MTU is plausible and the quoted segment is the one the server has in flight: no alert")
	f := newConn(&c.stream, c.l, "192.0.2.91:50910", "203.0.113.91:80", 0x9a7d0091)
	f.open(false)
	f.data(true, httpGet("www.example.com", "/large.html"))
	resp := httpResponse(3000, 'm')
	start := f.sseq
	big := f.data(false, resp[:1460])
	c.send(fragNeeded(addr("198.51.100.11"), big, 1400))
	f.sseq = start // the dropped segment again, in two that fit, then the rest
	f.respondMSS(resp[:1460], 1360)
	f.respondMSS(resp[1460:], 1360)
	f.close()
	return c
}

// pmtuFragmented is a tiny-MTU message that is itself fragmented, its fragments out of order: a
// sensor that does not reassemble never sees the ICMP message whole.
func pmtuFragmented() *capture {
	c := newCapture("icmp-pmtu/attack-fragmented.pcap", layers.LinkTypeEthernet, eth{},
		"fragmentation needed, MTU 68, from 198.51.100.12 to 203.0.113.92, quoting a TCP segment, as two IPv4 fragments sent last first: ICMP bytes 16-35, then bytes 0-15 (MF)",
		"once reassembled it is an MTU below 576: one icmp-pmtu 9200011 alert, raised once, on the fragment that completes it; nothing about the fragments is anomalous")
	router := addr("198.51.100.12")
	icmp := fragNeeded(router, bigSegment("203.0.113.92:443", "192.0.2.92:50920", 1448), 68)
	pl := icmp[20:]
	c.send(fragment4(icmp, 16, pl[16:], false))
	c.send(fragment4(icmp, 0, pl[:16], true), pmtuAlert("198.51.100.12", "203.0.113.92"))
	return c
}

// fragNeeded4884 is fragmentation needed in RFC 4884 form: the original datagram field padded
// to 128 bytes with its length in 32-bit words in byte 5, then an ICMP extension structure
// holding one MPLS label stack entry (RFC 4950).
func fragNeeded4884(router netip.Addr, ip []byte, mtu uint16) []byte {
	orig := make([]byte, 128)
	copy(orig, ip)
	ext := []byte{0x20, 0, 0, 0, 0, 8, 1, 1, 0x00, 0x3e, 0x81, 0x01} // version 2; object: MPLS stack, label 1000, S, TTL 1
	binary.BigEndian.PutUint16(ext[2:], fold(sum(0, ext)))
	src, _ := ipAddrs(ip)
	return ip4{src: router, dst: src, proto: protoICMP, tos: 0xc0, ttl: 254, id: 0x4884}.packet(
		icmp4(3, 4, uint32(len(orig)/4)<<16|uint32(mtu), cat(orig, ext)))
}

// pmtuOtherICMP carries ICMP whose rest-of-header bytes hold small numbers (sequence numbers,
// zero) but that is not a PMTU message.
func pmtuOtherICMP() *capture {
	c := newCapture("icmp-pmtu/benign-other-unreachables.pcap", layers.LinkTypeEthernet, eth{},
		"ICMPv4 unreachable codes 0, 1, 3 (rest of header 0), time exceeded, echo request/reply (sequence 1); ICMPv6 unreachable, time exceeded, echo",
		"only type 3 code 4 (ICMPv4) and type 2 (ICMPv6) carry an MTU: small values elsewhere do not alert")
	r4, r6 := addr("198.51.100.9"), addr("2001:db8:ffff::9")
	cli4, srv4 := addr("192.0.2.27"), addr("203.0.113.87")
	syn := tcp{sport: 50800, dport: 80, seq: 0x01020304, flags: flagSYN, win: 64240, opts: optMSS(1460)}
	c.send(unreachable4(r4, 3, 0, ipOver(cli4, srv4, protoTCP, 1, syn.bytes(cli4, srv4))))
	dns := ipOver(cli4, srv4, protoUDP, 2, udp(cli4, srv4, 50801, 53, dnsQuery(0x0101, "www.example.org", 1)))
	c.send(unreachable4(r4, 3, 1, dns))
	c.send(unreachable4(srv4, 3, 3, dns))
	probe := ip4{src: cli4, dst: srv4, proto: protoUDP, ttl: 1, id: 3}.packet(udp(cli4, srv4, 50802, 33434, filler(32, '@')))
	c.send(unreachable4(r4, 11, 0, probe))
	c.send(ipOver(cli4, srv4, protoICMP, 4, icmp4(8, 0, echoRest(0x1a2b, 1), echoBody(56, 0x10))))
	c.send(ipOver(srv4, cli4, protoICMP, 5, icmp4(0, 0, echoRest(0x1a2b, 1), echoBody(56, 0x10))))

	cli6, srv6 := addr("2001:db8:1::27"), addr("2001:db8:2::87")
	dns6 := ipOver(cli6, srv6, protoUDP, 0, udp(cli6, srv6, 50803, 53, dnsQuery(0x0102, "www.example.org", 28)))
	c.send(icmp6Error(srv6, 1, 4, 0, dns6))
	probe6 := ip6{src: cli6, dst: srv6, nh: protoUDP, hlim: 1}.packet(udp(cli6, srv6, 50804, 33434, filler(32, '@')))
	c.send(icmp6Error(r6, 3, 0, 0, probe6))
	c.send(ipOver(cli6, srv6, protoICMPv6, 0, icmp6(cli6, srv6, 128, 0, echoRest(0x1a2c, 1), echoBody(56, 0x20))))
	c.send(ipOver(srv6, cli6, protoICMPv6, 0, icmp6(srv6, cli6, 129, 0, echoRest(0x1a2c, 1), echoBody(56, 0x20))))
	return c
}
