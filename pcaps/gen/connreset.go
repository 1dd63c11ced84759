package main

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// ICMP errors that claim to be about a TCP connection (CVE-2004-0790). A blind attacker knows the
// endpoints but not the sequence numbers, so the segment it quotes was never sent; 0x00800000
// (8 MiB) past the sender's next sequence number is far outside anything in flight.
const blindOffset = 0x00800000

func resetAlert(sid int, icmpSrc, icmpDst netip.Addr) expect {
	return alert(detConnReset, sid, icmpSrc.String(), icmpDst.String())
}

func connResetCases() []*capture {
	return []*capture{
		resetOutside(), resetIPv6Outside(), resetHardInFlight(), resetVLAN(),
		resetSoftInFlight(), resetBackscatter(), resetSYNUnreachable(),
	}
}

// tlsExchange opens f and exchanges data both ways, everything acknowledged.
func tlsExchange(f *tcpFlow, ts bool, seed byte) {
	f.open(ts)
	f.data(true, tlsData(517, seed))
	f.respond(tlsData(2600, seed+1))
	f.data(true, tlsData(80, seed+2))
	f.ack(false)
}

func resetOutside() *capture {
	c := newCapture("icmp-conn-reset/attack-port-unreach-outside.pcap", layers.LinkTypeEthernet, eth{},
		"TLS 192.0.2.70:51700 -> 203.0.113.70:443, established, data both ways; then port unreachable (3/3) from 203.0.113.70 to 192.0.2.70 quoting a client segment at the client's next sequence number + 0x800000; the connection goes on and closes",
		"the quoted sequence number is outside what the client has in flight ([SND.UNA, SND.NXT]): a blind ICMP reset, one icmp-conn-reset 9200111 alert, endpoints those of the ICMP packet")
	f := newConn(&c.stream, c.l, "192.0.2.70:51700", "203.0.113.70:443", 0x1c3a0070)
	tlsExchange(f, true, 0x70)
	q := f.build(true, flagPSH|flagACK, f.cseq+blindOffset, f.sseq, tlsData(100, 0x7f))
	c.send(unreachable4(f.srv.Addr(), 3, 3, q), resetAlert(sidConnResetSeq, f.srv.Addr(), f.cli.Addr()))
	f.data(false, tlsData(300, 0x74))
	f.ack(true)
	f.close()
	return c
}

func resetIPv6Outside() *capture {
	c := newCapture("icmp-conn-reset/attack-ipv6-outside.pcap", layers.LinkTypeEthernet, eth{},
		"TLS [2001:db8:1::71]:51710 -> [2001:db8:2::71]:443, established, data both ways; then ICMPv6 port unreachable (1/4) from 2001:db8:2::71 to 2001:db8:1::71 quoting a client segment at the client's next sequence number + 0x800000",
		"the quoted sequence number is outside what the client has in flight: one icmp-conn-reset 9200111 alert, endpoints those of the ICMPv6 packet")
	f := newConn(&c.stream, c.l, "[2001:db8:1::71]:51710", "[2001:db8:2::71]:443", 0x1c3a0071)
	tlsExchange(f, false, 0x71)
	q := f.build(true, flagPSH|flagACK, f.cseq+blindOffset, f.sseq, tlsData(100, 0x7e))
	c.send(icmp6Error(f.srv.Addr(), 1, 4, 0, q), resetAlert(sidConnResetSeq, f.srv.Addr(), f.cli.Addr()))
	return c
}

func resetHardInFlight() *capture {
	c := newCapture("icmp-conn-reset/attack-hard-error-in-flight.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.72:51720 -> 203.0.113.72:80, established; the server's response segment, not yet acknowledged, then port unreachable (3/3) from 192.0.2.72 to 203.0.113.72 quoting exactly that segment; the client then acknowledges it and the connection closes",
		"the quoted segment is in flight, but a port unreachable from a host whose port is in an established connection cannot be true: one icmp-conn-reset 9200112 (hard error) alert, endpoints those of the ICMP packet")
	f := newConn(&c.stream, c.l, "192.0.2.72:51720", "203.0.113.72:80", 0x1c3a0072)
	f.open(true)
	f.data(true, httpGet("www.example.com", "/"))
	seg := f.data(false, httpResponse(600, 'h'))
	c.send(unreachable4(f.cli.Addr(), 3, 3, seg), resetAlert(sidConnResetHard, f.cli.Addr(), f.srv.Addr()))
	f.ack(true)
	f.close()
	return c
}

func resetVLAN() *capture {
	c := newCapture("icmp-conn-reset/attack-vlan.pcap", layers.LinkTypeEthernet, eth{tags: []tag{{tpid: 0x8100, vid: 100}}},
		"in 802.1Q frames (VLAN 100): TLS 192.0.2.73:51730 -> 203.0.113.73:443, established, data both ways; then host unreachable (3/1) from 198.51.100.73 to 192.0.2.73 quoting a client segment at the client's next sequence number + 0x800000",
		"the quoted sequence number is outside what the client has in flight (soft or hard makes no difference then): one icmp-conn-reset 9200111 alert")
	f := newConn(&c.stream, c.l, "192.0.2.73:51730", "203.0.113.73:443", 0x1c3a0073)
	tlsExchange(f, true, 0x73)
	q := f.build(true, flagPSH|flagACK, f.cseq+blindOffset, f.sseq, tlsData(100, 0x7d))
	router := addr("198.51.100.73")
	c.send(unreachable4(router, 3, 1, q), resetAlert(sidConnResetSeq, router, f.cli.Addr()))
	return c
}

func resetSoftInFlight() *capture {
	c := newCapture("icmp-conn-reset/benign-soft-error-in-flight.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.74:51740 -> 203.0.113.74:80, established; the server's response segment, then host unreachable (3/1) from router 198.51.100.74 to the server quoting exactly that segment; the server retransmits it, the client acknowledges, FIN close",
		"a soft error about a segment the server has in flight is what a router reports during a transient outage (RFC 5461: not a reason to reset): no alert")
	f := newConn(&c.stream, c.l, "192.0.2.74:51740", "203.0.113.74:80", 0x1c3a0074)
	f.open(false) // no timestamps: the retransmission below is built without options
	f.data(true, httpGet("www.example.com", "/status"))
	seq := f.sseq
	body := httpResponse(900, 's')
	seg := f.data(false, body)
	c.send(unreachable4(addr("198.51.100.74"), 3, 1, seg))
	f.forge(false, flagPSH|flagACK, seq, f.cseq, body)
	f.ack(true)
	f.close()
	return c
}

// resetBackscatter is what a host sees when someone floods third parties with SYNs spoofed from
// its address: errors about connections it never made.
func resetBackscatter() *capture {
	c := newCapture("icmp-conn-reset/benign-backscatter.pcap", layers.LinkTypeEthernet, eth{},
		"ICMP errors to 192.0.2.75 and 2001:db8:1::75 quoting SYNs \"from\" them that the capture never saw: port unreachable (3/3), host unreachable (3/1), administratively prohibited (3/13), fragmentation needed MTU 1400 (3/4), ICMPv6 port unreachable (1/4) and address unreachable (1/3)",
		"no tracked connection matches what they quote: no alert")
	v4, v6 := addr("192.0.2.75"), addr("2001:db8:1::75")
	synTo := func(src netip.Addr, sport uint16, dst string, dport uint16, seq uint32) []byte {
		d := addr(dst)
		t := tcp{sport: sport, dport: dport, seq: seq, flags: flagSYN, win: 64240, opts: optMSS(1460)}
		return ipOver(src, d, protoTCP, uint16(seq>>16), t.bytes(src, d))
	}
	c.send(unreachable4(addr("203.0.113.200"), 3, 3, synTo(v4, 1025, "203.0.113.200", 80, 0x51a0f001)))
	c.send(unreachable4(addr("198.51.100.75"), 3, 1, synTo(v4, 2049, "203.0.113.201", 443, 0x51a0f002)))
	c.send(unreachable4(addr("198.51.100.76"), 3, 13, synTo(v4, 3001, "203.0.113.202", 22, 0x51a0f003)))
	c.send(fragNeeded(addr("198.51.100.77"), synTo(v4, 4001, "203.0.113.203", 25, 0x51a0f004), 1400))
	c.send(icmp6Error(addr("2001:db8:2::200"), 1, 4, 0, synTo(v6, 1026, "2001:db8:2::200", 80, 0x51a0f005)))
	c.send(icmp6Error(addr("2001:db8:ffff::75"), 1, 3, 0, synTo(v6, 2050, "2001:db8:2::201", 443, 0x51a0f006)))
	return c
}

func resetSYNUnreachable() *capture {
	c := newCapture("icmp-conn-reset/benign-syn-unreachable.pcap", layers.LinkTypeEthernet, eth{},
		"two connection attempts 192.0.2.76:51760 and :51761 -> 203.0.113.76:8080, each SYN answered by port unreachable (3/3) from 203.0.113.76 quoting it",
		"a port unreachable about a SYN is how a closed port is refused; the connection never completed, so it is not established: no alert")
	for i := range 2 {
		f := newConn(&c.stream, c.l, fmt.Sprintf("192.0.2.76:%d", 51760+i), "203.0.113.76:8080", 0x1c3a0076+uint32(i)<<24)
		syn := f.syn(true)
		c.send(unreachable4(f.srv.Addr(), 3, 3, syn))
	}
	return c
}
