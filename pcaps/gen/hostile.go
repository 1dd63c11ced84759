package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Hostile captures (pcaps/hostile/): files and packets built to break a reader, a decoder or a
// reassembler, never to exploit a host. Each states what a robust engine reports: the file read
// to its end (or, for a broken file structure, an error naming the byte offset of the bad
// record, the packets before it still inspected), the decode anomalies of each malformation, and
// the alerts of the attacks placed around them to show the engine still works. Hosts are
// 192.0.2.220-250, 203.0.113.220-250, 198.51.100.220-250 and 2001:db8:1::220-250.

// Anomaly names only hostile captures expect: the reader, link and transport layers'.
const (
	anCapTrunc      = "capture.truncated"
	anEthTooSmall   = "eth.pkt_too_small"
	anVLANTooMany   = "vlan.too_many_tags"
	anTCPHlenLarge  = "tcp.hlen_too_large"
	anTCPHlenSmall  = "tcp.hlen_too_small"
	anTCPTooSmall   = "tcp.pkt_too_small"
	anUDPLenInvalid = "udp.len_invalid"
	anUDPTooSmall   = "udp.pkt_too_small"
)

func hostileCases() []*capture {
	return []*capture{
		hostileTruncatedRecord(), hostileTruncatedHeader(), hostileSnaplen(38), hostileSnaplen(8),
		hostileCaplenOverLen(), hostileZeroLength(),
		hostileIPv4Lengths(), hostileTransportLengths(), hostileIPv6Lengths(),
		hostileNBSSLengths(), hostileRPCFragLengths(),
		hostileNNTPEndless(true), hostileNNTPEndless(false),
		hostileVLANStack(), hostileIPv6ExtChain(),
		hostileFragTrainOne(), hostileFragTrainMany(),
	}
}

// hostileLAND is a LAND SYN on TCP 139 from (and to) 192.0.2.<host>: a one-packet attack whose
// alert shows the engine inspected the packets around a malformation.
func hostileLAND(host int) (ip []byte, e expect) {
	ap := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(host)}), 139)
	return landSYN(ap, 0xf1c), landAlert(ap)
}

func hostileTruncatedRecord() *capture {
	c := newCapture("hostile/truncated-last-record.pcap", layers.LinkTypeEthernet, eth{},
		"a LAND SYN 192.0.2.220:139, a DNS query, then a LAND SYN 192.0.2.221:139 whose record the file cuts 10 bytes before its end (the record header says 60)",
		"the first two packets are inspected (one land alert for 192.0.2.220); the third record is broken: replay stops there with an error naming the record's byte offset (exit status 2)")
	ip, e := hostileLAND(220)
	c.send(ip, e)
	c.send(ipOver(addr("192.0.2.230"), addr("203.0.113.230"), protoUDP, 1, udp(addr("192.0.2.230"), addr("203.0.113.230"), 53000, 53, dnsQuery(1, "www.example.com", 1))))
	ip, _ = hostileLAND(221)
	c.send(ip)
	c.truncate = 10
	return c
}

func hostileTruncatedHeader() *capture {
	c := newCapture("hostile/truncated-record-header.pcap", layers.LinkTypeEthernet, eth{},
		"a LAND SYN 192.0.2.222:139, then a record of which only 8 of the 16 header bytes are in the file",
		"the first packet is inspected (one land alert); the second record's header is cut: replay stops there with an error naming its byte offset (exit status 2)")
	ip, e := hostileLAND(222)
	c.send(ip, e)
	ip, _ = hostileLAND(223)
	c.send(ip)
	c.truncate = len(c.pkts[1].data) + 8
	return c
}

// hostileSnaplen: a file whose snap length cuts every packet inside its headers.
func hostileSnaplen(snap int) *capture {
	what := map[int]string{
		38: "snap length 38: Ethernet and a 20-byte IPv4 header whole, then 4 bytes of the transport header; an IPv6 header cut at 24 of 40 bytes",
		8:  "snap length 8: every record cut inside the 14-byte Ethernet header",
	}[snap]
	c := newCapture(fmt.Sprintf("hostile/snaplen-%d.pcap", snap), layers.LinkTypeEthernet, eth{},
		what+"; the packets are a LAND SYN 192.0.2.224:139, a DNS query over UDP, an ICMP echo, an IPv6 LAND SYN and a DNS query over IPv6, each record stating the whole frame's length",
		"a header cut by the snap length is capture.truncated, never a protocol anomaly, once per packet; nothing decoded past the cut, so no alert (the SYN's flags were not captured)")
	c.snap = snap
	ip, _ := hostileLAND(224)
	c.send(ip, anomaly(anCapTrunc))
	c.send(ipOver(addr("192.0.2.231"), addr("203.0.113.231"), protoUDP, 2, udp(addr("192.0.2.231"), addr("203.0.113.231"), 53001, 53, dnsQuery(2, "www.example.com", 1))), anomaly(anCapTrunc))
	c.send(ipOver(addr("192.0.2.231"), addr("203.0.113.231"), protoICMP, 3, icmp4(8, 0, echoRest(1, 1), echoBody(56, 0))), anomaly(anCapTrunc))
	a6 := addr("2001:db8:1::224")
	c.send(ip6{src: a6, dst: a6, nh: protoTCP, hlim: 255}.packet(tcp{sport: 139, dport: 139, seq: 0xf1c, flags: flagSYN, win: 2048}.bytes(a6, a6)), anomaly(anCapTrunc))
	s6, d6 := addr("2001:db8:1::231"), addr("2001:db8:2::231")
	c.send(ipOver(s6, d6, protoUDP, 0, udp(s6, d6, 53002, 53, dnsQuery(3, "www.example.com", 28))), anomaly(anCapTrunc))
	return c
}

func hostileCaplenOverLen() *capture {
	c := newCapture("hostile/caplen-over-len.pcap", layers.LinkTypeEthernet, eth{},
		"records whose captured length exceeds the original length they state: a LAND SYN 192.0.2.225:139 (60 bytes captured, 40 stated), a LAND SYN 192.0.2.226:139 (60 captured, 0 stated)",
		"a record is read by its captured length; the bytes are a whole frame, decoded as captured: two land alerts, no anomaly")
	ip, e := hostileLAND(225)
	c.addWire(c.l.frame(ip), 40, e)
	ip, e = hostileLAND(226)
	c.addWire(c.l.frame(ip), 0, e)
	return c
}

func hostileZeroLength() *capture {
	c := newCapture("hostile/zero-length.pcap", layers.LinkTypeEthernet, eth{},
		"zero-length records: one stating 0 bytes on the wire, one stating 60 (all cut by the capture), then a LAND SYN 192.0.2.227:139",
		"an empty frame that was empty on the wire is too small for Ethernet (eth.pkt_too_small); one the capture emptied is capture.truncated; the SYN after them is inspected: one land alert")
	c.addWire(nil, 0, anomaly(anEthTooSmall))
	c.addWire(nil, 60, anomaly(anCapTrunc))
	ip, e := hostileLAND(227)
	c.send(ip, e)
	return c
}

// hostileIPv4Lengths: IPv4 headers whose length fields lie, from 203.0.113.220-224 to
// 192.0.2.1:53.
func hostileIPv4Lengths() *capture {
	c := newCapture("hostile/ipv4-absurd-lengths.pcap", layers.LinkTypeEthernet, eth{},
		"UDP to 192.0.2.1:53 from 203.0.113.220: IHL 15 with no options and total length 28 (the real length); .221: IHL 15, total length 68, 28 bytes of IP in the frame; .222: total length 0xffff on a 68-byte datagram; .223: total length 0 (offload); .224: total length 10",
		"IHL 15 beyond the total length and a total length below 20 are malformed header lengths: ipv4.iplen_smaller_than_hlen and one ipv4-options 9200021 alert each, addresses only; a header or datagram longer than the frame is ipv4.trunc_pkt (truncation, no alert); total length 0 is ipv4.iplen_zero")
	dst := addr("192.0.2.1")
	for i, h := range []struct {
		ihl, total int
		data       int
		exp        []expect
	}{
		{15, 28, 0, []expect{optAlert("203.0.113.220", "192.0.2.1"), anomaly("ipv4.iplen_smaller_than_hlen")}},
		{15, 68, 0, []expect{anomaly("ipv4.trunc_pkt")}},
		{0, 0xffff, 40, []expect{anomaly("ipv4.trunc_pkt")}},
		{0, -1, 40, []expect{anomaly("ipv4.iplen_zero")}},
		{0, 10, 40, []expect{optAlert("203.0.113.224", "192.0.2.1"), anomaly("ipv4.iplen_smaller_than_hlen")}},
	} {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(220 + i)})
		hdr := ip4{src: src, dst: dst, proto: protoUDP, id: uint16(0x4000 + i), ihl: h.ihl, totalLen: h.total}
		pkt := hdr.packet(udp(src, dst, uint16(40000+i), 53, filler(h.data, 'v')))
		if h.total == -1 {
			binary.BigEndian.PutUint16(pkt[2:], 0)
			binary.BigEndian.PutUint16(pkt[10:], 0)
			binary.BigEndian.PutUint16(pkt[10:], fold(sum(0, pkt[:20])))
		}
		c.send(pkt, h.exp...)
	}
	return c
}

// hostileTransportLengths: TCP data offsets and UDP lengths that lie, from 203.0.113.230-236.
func hostileTransportLengths() *capture {
	c := newCapture("hostile/tcp-udp-absurd-lengths.pcap", layers.LinkTypeEthernet, eth{},
		"from 203.0.113.230-236 to 192.0.2.2: a TCP SYN with data offset 15 and a 20-byte header (nothing after it); a SYN with data offset 15 and 24 bytes of data (44 of 60 header bytes); a SYN with data offset 2; UDP length 0; UDP length 0xffff; UDP length 7; UDP length 10 in a 48-byte datagram",
		"a data offset past the segment is tcp.hlen_too_large, below 5 tcp.hlen_too_small; a UDP length below 8 or past the datagram is udp.len_invalid; a UDP length shorter than the IP payload is legal (the rest is padding): no anomaly; no alert")
	dst := addr("192.0.2.2")
	send := func(i int, proto uint8, seg []byte, e ...expect) {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(230 + i)})
		c.send(ip4{src: src, dst: dst, proto: proto, id: uint16(0x5000 + i)}.packet(seg), e...)
	}
	tcpOff := func(i, off, data int) []byte {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(230 + i)})
		b := tcp{sport: uint16(41000 + i), dport: 80, seq: 0x1000, flags: flagSYN, win: 64240, data: filler(data, 't')}.bytes(src, dst)
		b[12] = byte(off) << 4
		return b
	}
	udpLen := func(i, l, data int) []byte {
		src := netip.AddrFrom4([4]byte{203, 0, 113, byte(230 + i)})
		b := udp(src, dst, uint16(42000+i), 53, filler(data, 'u'))
		binary.BigEndian.PutUint16(b[4:], uint16(l))
		binary.BigEndian.PutUint16(b[6:], 0) // no checksum
		return b
	}
	send(0, protoTCP, tcpOff(0, 15, 0), anomaly(anTCPHlenLarge))
	send(1, protoTCP, tcpOff(1, 15, 24), anomaly(anTCPHlenLarge))
	send(2, protoTCP, tcpOff(2, 2, 0), anomaly(anTCPHlenSmall))
	send(3, protoUDP, udpLen(3, 0, 40), anomaly(anUDPLenInvalid))
	send(4, protoUDP, udpLen(4, 0xffff, 40), anomaly(anUDPLenInvalid))
	send(5, protoUDP, udpLen(5, 7, 40), anomaly(anUDPLenInvalid))
	send(6, protoUDP, udpLen(6, 10, 40))
	return c
}

// hostileIPv6Lengths: IPv6 payload lengths that lie, from 2001:db8:1::230-233.
func hostileIPv6Lengths() *capture {
	c := newCapture("hostile/ipv6-payload-length-lies.pcap", layers.LinkTypeEthernet, eth{},
		"to 2001:db8:2::2: a TCP SYN (20 bytes) whose IPv6 payload length says 0xffff; a SYN whose payload length says 8; a SYN with payload length 0 (offload: the frame's length counts); UDP with 40 data bytes and payload length 4",
		"a payload length past the frame is ipv6.trunc_pkt (the SYN is still decoded); one shorter than the transport header leaves it too small: tcp.pkt_too_small, udp.pkt_too_small; a payload length of 0 is no anomaly; no alert")
	dst := addr("2001:db8:2::2")
	for i, h := range []struct {
		plen int
		udp  bool
		exp  []expect
	}{
		{0xffff, false, []expect{anomaly("ipv6.trunc_pkt")}},
		{8, false, []expect{anomaly(anTCPTooSmall)}},
		{0, false, nil},
		{4, true, []expect{anomaly(anUDPTooSmall)}},
	} {
		src := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 15: byte(0x30 + i)})
		var pkt []byte
		if h.udp {
			pkt = ip6{src: src, dst: dst, nh: protoUDP}.packet(udp(src, dst, uint16(43000+i), 53, filler(40, 'w')))
		} else {
			pkt = ip6{src: src, dst: dst, nh: protoTCP}.packet(tcp{sport: uint16(43000 + i), dport: 80, seq: 0x2000, flags: flagSYN, win: 64240}.bytes(src, dst))
		}
		binary.BigEndian.PutUint16(pkt[4:], uint16(h.plen))
		c.send(pkt, h.exp...)
	}
	return c
}

// hostileNBSSLengths: NetBIOS session lengths at their extremes.
func hostileNBSSLengths() *capture {
	c := newCapture("hostile/nbss-length-extremes.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.232:39232 -> 203.0.113.232:445: a direct-hosting header of length 0, then the MS09-050 PoC framed normally; 192.0.2.233:39233 -> 203.0.113.233:139: session request and response, then a session message header claiming 0x1ffff bytes (the 17-bit maximum) followed by the PoC's 144 bytes and a FIN; 192.0.2.234:39234 -> 203.0.113.234:445: a header claiming 0xffffff bytes (the 24-bit maximum), the PoC's bytes, FIN",
		"an empty session message is legal and keeps the framing: the PoC after it raises one smb2-negotiate 9200301 alert; a message claiming more bytes than the connection ever carries is never complete and never parsed: nothing else, no anomaly")
	f := newConn(&c.stream, c.l, "192.0.2.232:39232", "203.0.113.232:445", 0x09050232)
	f.open(true)
	f.data(true, append([]byte{0, 0, 0, 0}, direct(ms09050PoC())...))
	c.expect(smbAlert(sidSMB2Neg, f))
	f.ack(false)
	f.close()

	f = newConn(&c.stream, c.l, "192.0.2.233:39233", "203.0.113.233:139", 0x09050233)
	f.open(true)
	f.data(true, nbss(nbssRequest, append(nbName("*SMBSERVER", 0x20), nbName("ATTACKER", 0x00)...)))
	f.data(false, nbss(nbssPositive, nil))
	f.data(true, append([]byte{nbssMessage, 1, 0xff, 0xff}, ms09050PoC()...))
	f.ack(false)
	f.close()

	f = newConn(&c.stream, c.l, "192.0.2.234:39234", "203.0.113.234:445", 0x09050234)
	f.open(true)
	f.data(true, append([]byte{0, 0xff, 0xff, 0xff}, ms09050PoC()...))
	f.ack(false)
	f.close()
	return c
}

// hostileRPCFragLengths: DCE/RPC frag_length 0 and 0xffff on TCP 135.
func hostileRPCFragLengths() *capture {
	c := newCapture("hostile/dcerpc-frag-length-extremes.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.235:1235 -> 203.0.113.235:135: a bind whose frag_length is 0, then the Messenger exploit request; 192.0.2.236:1236 -> 203.0.113.236:135: bind, bind_ack, then the exploit request PDU with frag_length 0xffff (1381 bytes sent), FIN",
		"a frag_length below the 16-byte header is dcerpc.frag_length_invalid and ends parsing of the connection (no framing left), so the request after it is not seen; a PDU claiming 65535 bytes on a connection that carries 1381 is never complete and never inspected: no alert")
	f := newConn(&c.stream, c.l, "192.0.2.235:1235", "203.0.113.235:135", 0x03043235)
	f.open(false)
	bind := coBindPDU(1)
	binary.LittleEndian.PutUint16(bind[8:], 0)
	f.data(true, bind)
	c.expect(anomaly("dcerpc.frag_length_invalid"))
	f.data(true, coRequests(2, attackStub(), 5816)[0])
	f.ack(false)
	f.close()

	f = newConn(&c.stream, c.l, "192.0.2.236:1236", "203.0.113.236:135", 0x03043236)
	msgrTCPStart(f)
	req := coRequests(2, attackStub(), 5816)[0]
	binary.LittleEndian.PutUint16(req[8:], 0xffff)
	f.data(true, req)
	f.ack(false)
	f.close()
	return c
}

// hostileNNTPEndless: a 1 MiB NNTP command line that never ends.
func hostileNNTPEndless(xpat bool) *capture {
	const size = 1 << 20
	name, verb, cli, srv := "nntp-endless-other-line", "ARTICLE <", "192.0.2.238:40238", "203.0.113.238:119"
	why := "a line over 512 bytes is nntp.line_too_long, once, whether or not it ends; it is no XPAT command: no alert"
	if xpat {
		name, verb, cli, srv = "nntp-endless-xpat-line", "XPAT Subject 1-1000 *", "192.0.2.237:40237", "203.0.113.237:119"
		why = "the open XPAT line's arguments pass 256 bytes in its first segment: one nntp-xpat 9200501 alert, client to server, and nntp.line_too_long once, however long the line goes on"
	}
	c := newCapture("hostile/"+name+".pcap", layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": greeting, GROUP, 211, then \""+verb+"\" followed by 'A's, 1 MiB in all and no line terminator, in 1448-byte segments the server acknowledges; the capture ends with the line open",
		why)
	f := newConn(&c.stream, c.l, cli, srv, 0x04036237)
	nntpStart(f)
	line := append([]byte(verb), bytes.Repeat([]byte{'A'}, size-len(verb))...)
	for i := 0; len(line) > 0; i++ {
		k := min(1448, len(line))
		f.data(true, line[:k])
		line = line[k:]
		if i == 0 {
			c.expect(anomaly(lineTooLong))
			if xpat {
				c.expect(xpatAlert(f))
			}
		}
		if i%8 == 7 || len(line) == 0 {
			f.ack(false)
		}
	}
	return c
}

// hostileVLANStack: a LAND SYN under 4 VLAN tags (the decoder's limit) and under 10.
func hostileVLANStack() *capture {
	c := newCapture("hostile/vlan-ten-tags.pcap", layers.LinkTypeEthernet, eth{},
		"a LAND SYN 192.0.2.240:139 under 4 stacked tags (802.1ad 100, 802.1Q 101-103), then a LAND SYN 192.0.2.241:139 under 10 (802.1ad 100, 802.1Q 101-109)",
		"4 tags are decoded (decode.MaxVLANs): one land alert; a deeper stack is vlan.too_many_tags and is not decoded further: no alert for the second SYN")
	tags := func(n int) []tag {
		ts := []tag{{tpid: 0x88a8, vid: 100}}
		for i := 1; i < n; i++ {
			ts = append(ts, tag{tpid: 0x8100, vid: uint16(100 + i)})
		}
		return ts
	}
	ip, e := hostileLAND(240)
	c.add(eth{tags: tags(4)}.frame(ip), e)
	ip, _ = hostileLAND(241)
	c.add(eth{tags: tags(10)}.frame(ip), anomaly(anVLANTooMany))
	return c
}

// hostileIPv6ExtChain: the longest extension-header chain the decoder walks, and one more.
func hostileIPv6ExtChain() *capture {
	c := newCapture("hostile/ipv6-exthdr-chain-max.pcap", layers.LinkTypeEthernet, eth{},
		"a LAND SYN [2001:db8:1::242]:139 behind a hop-by-hop header and 127 destination options headers (128 extension headers, 8 bytes each), then a LAND SYN [2001:db8:1::243]:139 behind hop-by-hop and 128 destination options headers (129)",
		"128 extension headers are walked (decode.MaxIPv6ExtHeaders): one land alert; the 129th is ipv6.exthdr_too_many and the transport header is not reached: no alert. Destination options may repeat: no exthdr_duplicate")
	for i, n := range []int{127, 128} {
		a := addr(fmt.Sprintf("2001:db8:1::%d", 242+i))
		seg := tcp{sport: 139, dport: 139, seq: 0xf1c, flags: flagSYN, win: 2048}.bytes(a, a)
		var chain []byte
		for j := range n + 1 {
			next := uint8(60) // destination options
			if j == n {
				next = protoTCP
			}
			chain = append(chain, next, 0, 1, 4, 0, 0, 0, 0) // PadN of 4 bytes
		}
		pkt := ip6{src: a, dst: a, nh: 0, hlim: 255}.packet(append(chain, seg...))
		if n == 127 {
			c.send(pkt, landAlert(netip.AddrPortFrom(a, 139)))
		} else {
			c.send(pkt, anomaly("ipv6.exthdr_too_many"))
		}
	}
	return c
}

// fragTrainAttack sends the fragmented tiny-MTU message of icmp-pmtu/attack-fragmented.pcap from
// router to victim: the proof that defragmentation still works after a train.
func fragTrainAttack(c *capture, router, victim string) {
	icmp := fragNeeded(addr(router), bigSegment(victim+":443", "192.0.2.92:50920", 1448), 68)
	pl := icmp[20:]
	c.send(fragment4(icmp, 16, pl[16:], false))
	c.send(fragment4(icmp, 0, pl[:16], true), pmtuAlert(router, victim))
}

func hostileFragTrainOne() *capture {
	const n = 3000
	c := newCapture("hostile/frag-train-one-datagram.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%d fragments of one IPv4 UDP datagram 198.51.100.220 -> 192.0.2.3 (id 0x7777), 8 bytes each at offsets 8 to %d, all with MF, never the first or last; the same with %d fragments of one IPv6 datagram; then a fragmented tiny-MTU message 198.51.100.221 -> 203.0.113.221; 31 s later another, 198.51.100.222 -> 203.0.113.222", n, 8*n, n),
		"the trains never complete and hold no overlap: nothing to report; defragmentation still reassembles the messages after them (while the trains are held, and after they time out): one icmp-pmtu 9200011 alert each")
	src, dst := addr("198.51.100.220"), addr("192.0.2.3")
	dg := ip4{src: src, dst: dst, proto: protoUDP, id: 0x7777}.packet(udp(src, dst, 44000, 9, make([]byte, 8*(n+1))))
	s6, d6 := addr("2001:db8:1::220"), addr("2001:db8:2::3")
	dg6 := ip6{src: s6, dst: d6, nh: protoUDP}.packet(udp(s6, d6, 44001, 9, make([]byte, 8*(n+1))))
	for i := 1; i <= n; i++ {
		c.send(fragment4(dg, 8*i, filler(8, byte(i)), true))
		c.send(fragment6(dg6, 0x77777777, 8*i, filler(8, byte(i)), true))
	}
	fragTrainAttack(c, "198.51.100.221", "203.0.113.221")
	c.wait(31 * time.Second)
	fragTrainAttack(c, "198.51.100.222", "203.0.113.222")
	return c
}

func hostileFragTrainMany() *capture {
	const n = 5000
	c := newCapture("hostile/frag-train-many-datagrams.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("first fragments (offset 0, MF, the whole UDP header and 16 bytes) of %d IPv4 datagrams 198.51.100.223 -> 192.0.2.4, ids 1-%d, none ever completed; then a fragmented tiny-MTU message 198.51.100.224 -> 203.0.113.224; 31 s later another, 198.51.100.225 -> 203.0.113.225", n, n),
		"more datagrams than defrag.max_datagrams (4096) are waiting: the oldest are dropped, which is not a decode anomaly; nothing to report about the train; the messages after it are reassembled: one icmp-pmtu 9200011 alert each")
	src, dst := addr("198.51.100.223"), addr("192.0.2.4")
	for i := 1; i <= n; i++ {
		dg := ip4{src: src, dst: dst, proto: protoUDP, id: uint16(i)}.packet(udp(src, dst, 45000, 9, filler(64, byte(i))))
		c.send(fragment4(dg, 0, dg[20:20+24], true))
	}
	fragTrainAttack(c, "198.51.100.224", "203.0.113.224")
	c.wait(31 * time.Second)
	fragTrainAttack(c, "198.51.100.225", "203.0.113.225")
	return c
}
