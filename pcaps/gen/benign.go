package main

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// Application payloads, plausible enough for Wireshark to decode without complaint.

func httpGet(host, path string) []byte {
	return []byte("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: curl/7.68.0\r\nAccept: */*\r\n\r\n")
}

func httpPost(host, path, body string) []byte {
	return fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		path, host, len(body), body)
}

// httpResponse is a 200 response with an HTML body of n bytes.
func httpResponse(n int, fill byte) []byte {
	body := []byte(strings.Repeat(string(fill), n))
	if n >= 27 {
		copy(body, "<html><body>")
		copy(body[n-15:], "</body></html>\n")
	}
	return append(fmt.Appendf(nil, "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n", n), body...)
}

// tlsData is a TLS 1.2 application-data record with n bytes of (pretend) ciphertext.
func tlsData(n int, seed byte) []byte {
	b := []byte{0x17, 3, 3, byte(n >> 8), byte(n)}
	x := uint32(seed)*0x9e3779b9 + 1
	for range n {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b = append(b, byte(x))
	}
	return b
}

func dnsName(name string) []byte {
	var b []byte
	for l := range strings.SplitSeq(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

// dnsQuery is a recursive query for name (qtype 1 A, 28 AAAA).
func dnsQuery(id uint16, name string, qtype uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, id)
	b = append(b, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD; one question
	b = append(b, dnsName(name)...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	return binary.BigEndian.AppendUint16(b, 1)
}

// dnsAnswer answers dnsQuery(id, name, qtype) with one record per rdata, names compressed.
func dnsAnswer(id uint16, name string, qtype uint16, ttl uint32, rdata [][]byte) []byte {
	b := dnsQuery(id, name, qtype)
	b[2], b[3] = 0x81, 0x80 // response, RD, RA, no error
	binary.BigEndian.PutUint16(b[6:], uint16(len(rdata)))
	for _, r := range rdata {
		b = append(b, 0xc0, 12) // pointer to the question name
		b = binary.BigEndian.AppendUint16(b, qtype)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r)))
		b = append(b, r...)
	}
	return b
}

// ntp is an NTPv4 client request (mode 3) or server reply (mode 4), 48 bytes.
func ntp(reply bool, t uint32) []byte {
	b := make([]byte, 48)
	b[0], b[2], b[3] = 0x23, 6, 0xe9 // LI 0, version 4, mode 3; poll 6; precision -23
	binary.BigEndian.PutUint32(b[40:], t)
	if reply {
		b[0], b[1] = 0x24, 2 // mode 4, stratum 2
		copy(b[12:16], []byte{198, 51, 100, 1})
		binary.BigEndian.PutUint32(b[16:], t-64)
		binary.BigEndian.PutUint32(b[24:], t) // origin = the request's transmit time
		binary.BigEndian.PutUint32(b[32:], t)
		binary.BigEndian.PutUint32(b[40:], t)
		binary.BigEndian.PutUint32(b[44:], 0x1000)
	}
	return b
}

// respond sends b from the server in MSS-sized segments, the client acknowledging every second
// one and the last.
func (f *tcpFlow) respond(b []byte) {
	mss := 1460
	if f.cli.Addr().Is6() {
		mss = 1440
	}
	if f.ts {
		mss -= 12
	}
	f.respondMSS(b, mss)
}

// respondMSS is respond with segments of at most mss bytes.
func (f *tcpFlow) respondMSS(b []byte, mss int) {
	for i := 0; len(b) > 0; i++ {
		n := min(mss, len(b))
		f.data(false, b[:n])
		b = b[n:]
		if i%2 == 1 || len(b) == 0 {
			f.ack(true)
		}
	}
}

func benignCases() []*capture {
	return []*capture{benignMixed()}
}

// benignMixed is a small slice of an ordinary network, interleaved: the false-positive baseline,
// and the input of the allocation test and benchmark, so it touches every decoder path a clean
// packet can take.
func benignMixed() *capture {
	c := newCapture("benign/mixed.pcap", layers.LinkTypeEthernet, eth{},
		"ordinary traffic: IPv4/IPv6 HTTP and TLS connections with FIN or RST close, DNS, NTP, ICMP/ICMPv6 echo, neighbour discovery, IGMPv3 with Router Alert, ARP, an 802.1Q-tagged flow",
		"nothing malformed, no LAND, no PMTU message, no bad option: no alert, no anomaly")

	gw, host := addr("192.0.2.1"), addr("192.0.2.100")
	c.add(arp(false, macOf(host), host, mac{}, gw))
	c.add(arp(true, macOf(gw), gw, macOf(host), host))

	var dns, web4, web6, tls6, vlan, icmp, misc stream

	// DNS over IPv4 and IPv6.
	res4, res6, cli6 := addr("198.51.100.53"), addr("2001:db8:53::53"), addr("2001:db8:1::100")
	for i, q := range []struct {
		name  string
		qtype uint16
		rdata [][]byte
	}{
		{"www.example.com", 1, [][]byte{{203, 0, 113, 10}}},
		{"www.example.com", 28, [][]byte{addr("2001:db8:2::10").AsSlice()}},
		{"api.example.net", 1, [][]byte{{203, 0, 113, 12}, {203, 0, 113, 13}}},
		{"static.example.org", 1, [][]byte{{203, 0, 113, 11}}},
		{"ntp.example.net", 1, [][]byte{{198, 51, 100, 123}}},
	} {
		id, sp := uint16(0x4a00+i*0x111), uint16(51000+i*7)
		dns.add(c.l.frame(ipOver(host, res4, protoUDP, uint16(0x100+i), udp(host, res4, sp, 53, dnsQuery(id, q.name, q.qtype)))))
		dns.add(c.l.frame(ipOver(res4, host, protoUDP, uint16(0x900+i), udp(res4, host, 53, sp, dnsAnswer(id, q.name, q.qtype, 300, q.rdata)))))
		dns.add(c.l.frame(ipOver(cli6, res6, protoUDP, 0, udp(cli6, res6, sp+1, 53, dnsQuery(id+1, q.name, 28)))))
		dns.add(c.l.frame(ipOver(res6, cli6, protoUDP, 0, udp(res6, cli6, 53, sp+1, dnsAnswer(id+1, q.name, 28, 300,
			[][]byte{addr(fmt.Sprintf("2001:db8:2::%x", 0x10+i)).AsSlice()})))))
	}

	// HTTP over IPv4: Linux and Windows clients, responses of assorted sizes, one keep-alive
	// connection with two requests, one POST closed by a client RST.
	for i := range 5 {
		f := newFlow(&web4, c.l, fmt.Sprintf("192.0.2.%d:%d", 100+i%3, 49500+i), fmt.Sprintf("203.0.113.%d:80", 10+i%3), 0x1f2e3d4c*uint32(i+1))
		f.open(i%2 == 0)
		f.data(true, httpGet("www.example.com", fmt.Sprintf("/page/%d.html", i)))
		f.respond(httpResponse(300+i*1900, byte('a'+i)))
		if i == 2 {
			f.data(true, httpGet("www.example.com", "/img/logo.png"))
			f.respond(httpResponse(2500, 'L'))
		}
		f.close()
	}
	post := newFlow(&web4, c.l, "192.0.2.102:49510", "203.0.113.12:8080", 0x50535400)
	post.open(true)
	post.data(true, httpPost("api.example.net:8080", "/v1/events", `{"event":"login","user":"alice","ok":true}`))
	post.respond(httpResponse(64, 'j'))
	post.seg(true, flagRST|flagACK, nil, nil)

	// HTTP and TLS over IPv6.
	for i := range 3 {
		f := newFlow(&web6, c.l, fmt.Sprintf("[2001:db8:1::%x]:%d", 0x100+i, 49600+i), fmt.Sprintf("[2001:db8:2::%x]:80", 0x10+i), 0x6a6b6c6d+uint32(i)*0x01000193)
		f.open(i != 1)
		f.data(true, httpGet("www.example.com", fmt.Sprintf("/v6/%d", i)))
		f.respond(httpResponse(800+i*2300, byte('m'+i)))
		f.close()
	}
	t := newFlow(&tls6, c.l, "[2001:db8:1::100]:49700", "[2001:db8:2::12]:443", 0x7a7b7c7d)
	t.open(true)
	for i := range 4 {
		t.data(true, tlsData(90+i*40, byte(i)))
		t.respond(tlsData(1200+i*900, byte(0x40+i)))
	}
	t.close()

	// A flow on VLAN 20, with its DNS lookup.
	vl := eth{tags: []tag{{tpid: 0x8100, vid: 20, pcp: 3}}}
	vh, vs := addr("192.0.2.150"), addr("203.0.113.50")
	vlan.add(vl.frame(ipOver(vh, res4, protoUDP, 0x31, udp(vh, res4, 52000, 53, dnsQuery(0x5151, "intranet.example.com", 1)))))
	vlan.add(vl.frame(ipOver(res4, vh, protoUDP, 0x32, udp(res4, vh, 53, 52000, dnsAnswer(0x5151, "intranet.example.com", 1, 60, [][]byte{vs.AsSlice()})))))
	fv := newFlow(&vlan, vl, "192.0.2.150:52001", "203.0.113.50:80", 0x0c0ffee0)
	fv.open(true)
	fv.data(true, httpGet("intranet.example.com", "/"))
	fv.respond(httpResponse(3000, 'v'))
	fv.close()

	// Pings both ways and both families, and neighbour discovery for the IPv6 gateway.
	s4, s6, gw6 := addr("203.0.113.10"), addr("2001:db8:2::10"), addr("2001:db8:1::1")
	for i := range uint16(4) {
		icmp.add(c.l.frame(ipOver(host, s4, protoICMP, 0x200+i, icmp4(8, 0, echoRest(0x0b0b, i+1), echoBody(56, byte(i))))))
		icmp.add(c.l.frame(ipOver(s4, host, protoICMP, 0x300+i, icmp4(0, 0, echoRest(0x0b0b, i+1), echoBody(56, byte(i))))))
	}
	for i := range uint16(3) {
		icmp.add(c.l.frame(ipOver(cli6, s6, protoICMPv6, 0, icmp6(cli6, s6, 128, 0, echoRest(0x0c0c, i+1), echoBody(56, byte(i))))))
		icmp.add(c.l.frame(ipOver(s6, cli6, protoICMPv6, 0, icmp6(s6, cli6, 129, 0, echoRest(0x0c0c, i+1), echoBody(56, byte(i))))))
	}
	sn := addr("ff02::1:ff00:1") // solicited-node group of gw6
	hm, gm := macOf(cli6), macOf(gw6)
	icmp.add(c.l.frame(ip6{src: cli6, dst: sn, nh: protoICMPv6, hlim: 255}.packet(
		icmp6(cli6, sn, 135, 0, 0, cat(gw6.AsSlice(), []byte{1, 1}, hm[:])))))
	icmp.add(c.l.frame(ip6{src: gw6, dst: cli6, nh: protoICMPv6, hlim: 255}.packet(
		icmp6(gw6, cli6, 136, 0, 0xe0000000, cat(gw6.AsSlice(), []byte{2, 1}, gm[:]))))) // router, solicited, override

	// NTP, and an IGMPv3 report (Router Alert option, as RFC 3376 requires).
	ntpS := addr("198.51.100.123")
	for i := range uint32(2) {
		ts := uint32(3463128000) + i*64 // 2009-09-28 in NTP seconds
		misc.add(c.l.frame(ipOver(host, ntpS, protoUDP, uint16(0x400+i), udp(host, ntpS, 123, 123, ntp(false, ts)))))
		misc.add(c.l.frame(ipOver(ntpS, host, protoUDP, uint16(0x500+i), udp(ntpS, host, 123, 123, ntp(true, ts)))))
	}
	igmp := addr("224.0.0.22")
	misc.add(c.l.frame(ip4{src: host, dst: igmp, proto: protoIGMP, tos: 0xc0, ttl: 1, opts: []byte{148, 4, 0, 0}}.packet(
		icmp4(0x22, 0, 1, []byte{4, 0, 0, 0, 239, 255, 255, 250})))) // one record: change to exclude, 239.255.255.250

	c.interleave(&dns, &web4, &icmp, &web6, &vlan, &tls6, &misc)
	return c
}
