package main

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// landSYN is the packet land.c sends: a SYN from the victim's own address and port to that same
// address and port (TTL 255, IPv4 id 0xF1C, window 2048).
func landSYN(ap netip.AddrPort, seq uint32) []byte {
	return selfSeg(ap, flagSYN, seq, 0)
}

// selfSeg is a TCP segment from an endpoint to itself.
func selfSeg(ap netip.AddrPort, flags uint8, seq, ack uint32) []byte {
	a := ap.Addr()
	t := tcp{sport: ap.Port(), dport: ap.Port(), seq: seq, ack: ack, flags: flags, win: 2048}
	if a.Is4() {
		return ip4{src: a, dst: a, proto: protoTCP, ttl: 255, id: 0xf1c}.packet(t.bytes(a, a))
	}
	return ip6{src: a, dst: a, nh: protoTCP, hlim: 255}.packet(t.bytes(a, a))
}

const landWhy = "source address and port equal the destination's on a SYN without ACK: LAND (CVE-2005-0688), one land alert per SYN"

func landCases() []*capture {
	var cs []*capture
	single := func(path string, lt layers.LinkType, l link, what string, aps ...string) {
		c := newCapture("land/"+path, lt, l, what, landWhy)
		for _, s := range aps {
			ap := addrPort(s)
			c.send(landSYN(ap, 0xf1c), landAlert(ap))
		}
		cs = append(cs, c)
	}
	single("attack-ipv4.pcap", layers.LinkTypeEthernet, eth{},
		"one LAND SYN 192.0.2.10:139 -> 192.0.2.10:139 over Ethernet, as land.c builds it",
		"192.0.2.10:139")
	single("attack-ipv6.pcap", layers.LinkTypeEthernet, eth{},
		"one LAND SYN [2001:db8:1::10]:139 -> itself over IPv6 on Ethernet",
		"[2001:db8:1::10]:139")
	single("attack-vlan.pcap", layers.LinkTypeEthernet, eth{tags: []tag{{tpid: 0x8100, vid: 100}}},
		"one LAND SYN 192.0.2.11:139 -> itself in an 802.1Q frame, VLAN 100",
		"192.0.2.11:139")
	single("attack-qinq.pcapng", layers.LinkTypeEthernet,
		eth{tags: []tag{{tpid: 0x88a8, vid: 200}, {tpid: 0x8100, vid: 100}}},
		"one LAND SYN 192.0.2.12:80 -> itself, 802.1ad outer tag (VLAN 200) over 802.1Q inner tag (VLAN 100), pcapng",
		"192.0.2.12:80")
	single("attack-sll.pcap", layers.LinkTypeLinuxSLL, sll{},
		"one LAND SYN 192.0.2.13:23 -> itself, Linux cooked capture v1 (LINKTYPE_LINUX_SLL)",
		"192.0.2.13:23")
	single("attack-sll2.pcap", layers.LinkTypeLinuxSLL2, sll2{ifindex: 2},
		"LAND SYNs 192.0.2.14:139 and [2001:db8:1::14]:139, each to itself, Linux cooked capture v2 (LINKTYPE_LINUX_SLL2)",
		"192.0.2.14:139", "[2001:db8:1::14]:139")
	single("attack-rawip.pcap", layers.LinkTypeRaw, rawIP{},
		"LAND SYNs 192.0.2.15:135 and [2001:db8:1::15]:135, each to itself, raw IP (LINKTYPE_RAW, version nibble picks the family)",
		"192.0.2.15:135", "[2001:db8:1::15]:135")

	cs = append(cs, landAfterTraffic(), landLoopback(), landHandshakes(), landSynAck(), landQuoted(),
		landFragmented(), landFragmented6())
	return cs
}

// landFragmented splits land.c's SYN inside its TCP header, the half with the flags first, so
// only reassembly shows a SYN at all.
func landFragmented() *capture {
	c := newCapture("land/attack-fragmented.pcap", layers.LinkTypeEthernet, eth{},
		"land.c's SYN 192.0.2.16:139 -> itself as two IPv4 fragments sent last first: TCP bytes 8-19 (flags, window, checksum), then bytes 0-7 (ports, sequence number; MF)",
		"reassembled it is a LAND SYN: one land alert with the datagram's ports; its first fragment carries 8 bytes of a 20-byte TCP header: one ip-frag 9200203 alert on it (addresses only) and one frag_tiny anomaly")
	ap := addrPort("192.0.2.16:139")
	syn := landSYN(ap, 0xf1c)
	t := syn[20:]
	c.send(fragment4(syn, 8, t[8:], false))
	c.send(fragment4(syn, 0, t[:8], true),
		landAlert(ap), fragAlert(sidFragTiny, ap.Addr(), ap.Addr()), anomaly("ipv4.frag_tiny"))
	return c
}

// landFragmented6 is an IPv6 LAND SYN carrying 16 bytes of data, in two fragments with the
// whole TCP header in the first.
func landFragmented6() *capture {
	c := newCapture("land/attack-fragmented-ipv6.pcap", layers.LinkTypeEthernet, eth{},
		"a LAND SYN [2001:db8:1::16]:139 -> itself with 16 data bytes as two IPv6 fragments in order: TCP bytes 0-23 (the whole 20-byte header; M), then bytes 24-35",
		"reassembled it is one LAND SYN: one land alert, raised once although its first fragment already shows the whole TCP header; its data, sent to the NetBIOS port, is not NetBIOS framed (nbss.unknown_type)")
	ap := addrPort("[2001:db8:1::16]:139")
	a := ap.Addr()
	seg := tcp{sport: ap.Port(), dport: ap.Port(), seq: 0xf1c, flags: flagSYN, win: 2048, data: filler(16, 'L')}.bytes(a, a)
	dg := ip6{src: a, dst: a, nh: protoTCP, hlim: 255}.packet(seg)
	c.send(fragment6(dg, 0xf1c, 0, seg[:24], true))
	c.send(fragment6(dg, 0xf1c, 24, seg[24:], false), landAlert(ap), anomaly("nbss.unknown_type"))
	return c
}

// landAfterTraffic buries three LAND SYNs between ordinary connections, so the detector must
// pick them out of a running engine rather than a one-packet file.
func landAfterTraffic() *capture {
	c := newCapture("land/attack-after-traffic.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP over IPv4 and a TLS-like IPv6 connection, then 3 LAND SYNs 198.51.100.77:80 -> itself, then more HTTP",
		"only the 3 SYNs have source address and port equal to the destination's: 3 land alerts for that one endpoint")
	var a, b, d stream
	fa := newFlow(&a, c.l, "192.0.2.100:49200", "203.0.113.10:80", 0x1000)
	fa.open(true)
	fa.data(true, httpGet("www.example.com", "/"))
	fa.ack(false)
	fa.data(false, httpResponse(900, 'a'))
	fa.ack(true)
	fa.close()
	fb := newFlow(&b, c.l, "[2001:db8:1::100]:49300", "[2001:db8:2::10]:443", 0x2000)
	fb.open(true)
	fb.data(true, tlsData(517, 1))
	fb.data(false, tlsData(1200, 2))
	fb.ack(true)
	c.interleave(&a, &b)

	ap := addrPort("198.51.100.77:80")
	for i := range uint32(3) {
		c.send(landSYN(ap, 0xf1c+i), landAlert(ap))
	}

	b.pkts = nil
	fb.data(true, tlsData(300, 3))
	fb.data(false, tlsData(700, 4))
	fb.ack(true)
	fb.close()
	fd := newFlow(&d, c.l, "192.0.2.101:49201", "203.0.113.10:80", 0x3000)
	fd.open(false)
	fd.data(true, httpGet("www.example.com", "/favicon.ico"))
	fd.data(false, httpResponse(300, 'f'))
	fd.close()
	c.interleave(&b, &d)
	return c
}

// landLoopback is a host connecting to its own service: same address, different ports. It is
// what sid 9200002 (disabled by default) describes, not LAND.
func landLoopback() *capture {
	c := newCapture("land/benign-loopback-self-connect.pcap", layers.LinkTypeEthernet, eth{},
		"127.0.0.1:40000 -> 127.0.0.1:8080 and [::1]:40002 -> [::1]:8080: handshake, request, response, FIN close, as captured on lo",
		"source address equals destination address but the ports differ: a host talking to itself (sid 9200002, disabled by default), no alert")
	for _, p := range [][2]string{{"127.0.0.1:40000", "127.0.0.1:8080"}, {"[::1]:40002", "[::1]:8080"}} {
		f := newFlow(&c.stream, c.l, p[0], p[1], uint32(len(c.pkts))*0x01000193+0x5eed)
		f.open(true)
		f.data(true, httpGet("localhost:8080", "/healthz"))
		f.ack(false)
		f.data(false, httpResponse(40, 'o'))
		f.ack(true)
		f.close()
	}
	return c
}

// landHandshakes is ordinary TCP with the usual SYN options in Linux's and Windows' layouts.
func landHandshakes() *capture {
	c := newCapture("land/benign-handshakes.pcap", layers.LinkTypeEthernet, eth{},
		"ordinary IPv4 and IPv6 TCP connections, SYNs with MSS, window scale, SACK-permitted and timestamps (Linux and Windows layouts)",
		"every SYN goes to another host: no alert")
	flows := []struct {
		cli, srv string
		ts       bool
	}{
		{"192.0.2.40:50000", "203.0.113.20:80", true},
		{"192.0.2.41:50001", "203.0.113.21:8080", false},
		{"[2001:db8:1::40]:50002", "[2001:db8:2::20]:80", true},
		{"[2001:db8:1::41]:50003", "[2001:db8:2::21]:8080", false},
	}
	for i, fl := range flows {
		f := newFlow(&c.stream, c.l, fl.cli, fl.srv, uint32(i+1)*0x11111111)
		f.open(fl.ts)
		f.data(true, httpGet("www.example.net", "/"))
		f.data(false, httpResponse(200+100*i, byte('k'+i)))
		f.ack(true)
		f.close()
	}
	return c
}

// landSynAck sends SYN+ACK, RST and RST+ACK from an endpoint to itself: none is a SYN.
func landSynAck() *capture {
	c := newCapture("land/benign-synack-same-endpoint.pcap", layers.LinkTypeEthernet, eth{},
		"SYN+ACK, RST and RST+ACK from 192.0.2.20:139 to itself, SYN+ACK and RST from [2001:db8:1::20]:139 to itself",
		"LAND needs SYN set and ACK clear: a SYN+ACK or RST with equal endpoints is not LAND, no alert")
	v4, v6 := addrPort("192.0.2.20:139"), addrPort("[2001:db8:1::20]:139")
	c.send(selfSeg(v4, flagSYN|flagACK, 0xf1c, 0xf1d))
	c.send(selfSeg(v4, flagRST, 0xf1d, 0))
	c.send(selfSeg(v4, flagRST|flagACK, 0, 0xf1d))
	c.send(selfSeg(v6, flagSYN|flagACK, 0xf1c, 0xf1d))
	c.send(selfSeg(v6, flagRST, 0xf1d, 0))
	return c
}

// landQuoted is the reply a host might make to a LAND SYN: an ICMP error to itself quoting the
// SYN. The quoted header is evidence about another packet, never a packet itself.
func landQuoted() *capture {
	c := newCapture("land/benign-icmp-quoting-land.pcap", layers.LinkTypeEthernet, eth{},
		"ICMP port unreachable 192.0.2.30 -> 192.0.2.30 quoting a LAND SYN (RFC 792 length, then the whole SYN), ICMPv6 port unreachable 2001:db8:1::30 -> itself quoting a whole IPv6 LAND SYN",
		"the LAND SYN is only quoted inside ICMP errors and the packets on the wire are ICMP, not TCP SYNs: no alert")
	v4, v6 := addrPort("192.0.2.30:139"), addrPort("[2001:db8:1::30]:139")
	syn4 := landSYN(v4, 0xf1c)
	for i, q := range [][]byte{quote(syn4), syn4} {
		c.send(ip4{src: v4.Addr(), dst: v4.Addr(), proto: protoICMP, tos: 0xc0, id: uint16(0x100 + i)}.packet(
			icmp4(3, 3, 0, q)))
	}
	syn6 := landSYN(v6, 0xf1c)
	a := v6.Addr()
	c.send(ip6{src: a, dst: a, nh: protoICMPv6}.packet(icmp6(a, a, 1, 4, 0, quote6(syn6))))
	return c
}
