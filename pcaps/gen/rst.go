package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// newConn is a tcpFlow between a Linux-like client (TTL 64) and a Windows-like server (TTL 128):
// each side keeps its own TTL, the baseline the reset detector compares a RST's TTL with.
func newConn(s *stream, l link, cli, srv string, isn uint32) *tcpFlow {
	f := newFlow(s, l, cli, srv, isn)
	f.cttl, f.sttl = 64, 128
	return f
}

// midStream is a connection the capture joins after its handshake: no SYN is seen, so no
// options, and windows advertised unscaled and large enough that a reset 1000 bytes past the
// sender's next sequence number lands inside the receiver's window.
func midStream(s *stream, l link, cli, srv string, isn uint32) *tcpFlow {
	f := newConn(s, l, cli, srv, isn)
	f.win = 8192
	return f
}

// BGP messages (RFC 4271): the long-lived sessions blind resets were first aimed at.
func bgpHeader(typ uint8, n int) []byte {
	b := bytes.Repeat([]byte{0xff}, 16)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	return append(b, typ)
}

func bgpOpen(as uint16, id netip.Addr) []byte {
	b := append(bgpHeader(1, 29), 4) // version 4
	b = binary.BigEndian.AppendUint16(b, as)
	b = binary.BigEndian.AppendUint16(b, 90) // hold time
	b = append(b, id.AsSlice()...)
	return append(b, 0) // no optional parameters
}

func bgpKeepalive() []byte { return bgpHeader(4, 19) }

func rstAlert(sid int, from, to netip.AddrPort) expect {
	return alert(detRST, sid, from.String(), to.String())
}

func rstCases() []*capture {
	return []*capture{
		rstBlind(false), rstBlind(true),
		rstBurst("tcp-rst-spoof/attack-burst.pcap", false, "192.0.2.51:51510", "203.0.113.51:80"),
		rstBurst("tcp-rst-spoof/attack-burst-vlan.pcap", true, "192.0.2.52:51520", "203.0.113.52:80"),
		rstMidstreamBurst(), rstForgedRefusal(), rstDataAfterReset(),
		rstExactClose(), rstSynRefused(), rstRepeatedSameSeq(), rstMidstreamInWindow(),
		rstLossBeforeSensor(), rstLone(), rstPortReuse(),
	}
}

// rstBlind is CVE-2004-0230 as Watson described it: a RST that is not at the sender's next
// sequence number but falls inside the receiver's window, from the server's address with the
// server's own TTL. IPv4 carries a BGP session, IPv6 a TLS connection.
func rstBlind(v6 bool) *capture {
	path, cli, srv := "tcp-rst-spoof/attack-blind-in-window.pcap", "192.0.2.50:51500", "203.0.113.50:179"
	what := "BGP session 192.0.2.50:51500 -> 203.0.113.50:179 (Linux-style handshake, window 502 scaled by 2^7 = 64256; TTL 64/128), OPEN and KEEPALIVE both ways, then a RST from the server at its next sequence number + 1000, TTL 128, then the client's challenge ACK"
	if v6 {
		path, cli, srv = "tcp-rst-spoof/attack-blind-in-window-ipv6.pcap", "[2001:db8:1::50]:51501", "[2001:db8:2::50]:443"
		what = "TLS over IPv6 [2001:db8:1::50]:51501 -> [2001:db8:2::50]:443 (Windows-style handshake, window 251 scaled by 2^8 = 64256; hop limits 64/128), data both ways, then a RST from the server at its next sequence number + 1000, hop limit 128, then the client's challenge ACK"
	}
	c := newCapture(path, layers.LinkTypeEthernet, eth{}, what,
		"the RST is past everything the server sent ([SND.UNA, SND.NXT] is one point) but inside the client's 64256-byte window: a blind reset, one tcp-rst-spoof 9200101 alert from the server to the client")
	f := newConn(&c.stream, c.l, cli, srv, 0x0b6b0050)
	if v6 {
		f.open(false)
		f.data(true, tlsData(517, 0x50))
		f.respond(tlsData(2400, 0x51))
		f.data(true, tlsData(90, 0x52))
		f.ack(false)
	} else {
		f.open(true)
		f.data(true, bgpOpen(64496, f.cli.Addr()))
		f.data(false, bgpOpen(64511, f.srv.Addr()))
		f.data(true, bgpKeepalive())
		f.data(false, bgpKeepalive())
		f.ack(true)
	}
	f.forge(false, flagRST, f.sseq+1000, 0, nil, rstAlert(sidRSTInWindow, f.srv, f.cli))
	f.ack(true) // RFC 5961 3.2: the client answers an inexact in-window RST with a challenge ACK
	return c
}

// burst sends 10 RSTs claiming to come from the server, 10 ms apart, their sequence numbers
// 100000 apart starting 100000 past the server's next one: every one is outside the client's
// 64256-byte window, so only the burst alerts, on the third RST.
func burst(c *capture, f *tcpFlow) {
	for i := range uint32(10) {
		c.wait(10 * time.Millisecond)
		var e []expect
		if i == 2 {
			e = append(e, rstAlert(sidRSTBurst, f.srv, f.cli))
		}
		f.forge(false, flagRST, f.sseq+100000*(i+1), 0, nil, e...)
	}
}

const burstWhy = "10 RSTs with distinct sequence numbers within 90 ms on one connection walk its sequence space; none lands in the client's window: one tcp-rst-spoof 9200102 burst alert (raised on the third RST), server to client"

func rstBurst(path string, vlan bool, cli, srv string) *capture {
	what := fmt.Sprintf("HTTP %s -> %s, established (Linux-style handshake), request and response acknowledged, then 10 RSTs from the server's address, 10 ms apart, sequence numbers next + 100000, + 200000, ... + 1000000", cli, srv)
	l := eth{}
	if vlan {
		what += ", all in 802.1Q frames (VLAN 100)"
		l.tags = []tag{{tpid: 0x8100, vid: 100}}
	}
	c := newCapture(path, layers.LinkTypeEthernet, l, what, burstWhy)
	f := newConn(&c.stream, c.l, cli, srv, 0xb0a57051)
	f.open(true)
	f.data(true, httpGet("www.example.com", "/download/archive.tar"))
	f.respond(httpResponse(4000, 'b'))
	burst(c, f)
	return c
}

func rstMidstreamBurst() *capture {
	c := newCapture("tcp-rst-spoof/attack-midstream-burst.pcap", layers.LinkTypeEthernet, eth{},
		"TLS 192.0.2.53:51530 -> 203.0.113.53:443 joined mid-stream (no handshake), data both ways acknowledged, then 10 RSTs from the server's address, 10 ms apart, sequence numbers 100000 apart",
		"a connection picked up mid-stream is uncertain, but a burst of distinct sequence numbers needs no sequence state: one tcp-rst-spoof 9200102 alert, server to client")
	f := midStream(&c.stream, c.l, "192.0.2.53:51530", "203.0.113.53:443", 0x3d57ea53)
	for i := range 3 {
		f.data(true, tlsData(120+40*i, byte(0x53+i)))
		f.data(false, tlsData(900+300*i, byte(0x63+i)))
		f.ack(true)
	}
	burst(c, f)
	return c
}

// rstForgedRefusal is the injection some censors and evasion tools use: a RST+ACK "refusing" the
// client's SYN, sent before the real server's SYN+ACK, which then arrives and the connection
// goes on. A RST that answers a SYN cannot be judged by its sequence number (it has none to
// match); the SYN+ACK from the same side proves it forged.
func rstForgedRefusal() *capture {
	c := newCapture("tcp-rst-spoof/attack-forged-refusal.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.54:51540 -> 203.0.113.54:80: SYN; a RST+ACK from the server's address (seq 0, ack ISN+1, TTL 128); the server's real SYN+ACK; ACK; HTTP request and response; FIN close",
		"the server \"refused\" the SYN, then answered it: the RST was not the server's, one tcp-rst-spoof 9200103 alert on the SYN+ACK, server to client")
	f := newConn(&c.stream, c.l, "192.0.2.54:51540", "203.0.113.54:80", 0xf0e1d254)
	f.syn(false)
	f.forge(false, flagRST|flagACK, 0, f.cseq, nil)
	f.synAck()
	c.expect(rstAlert(sidRSTIgnored, f.srv, f.cli))
	f.ack(true)
	f.data(true, httpGet("www.example.org", "/"))
	f.respond(httpResponse(1800, 'r'))
	f.close()
	return c
}

// rstDataAfterReset is a perfect forgery, exactly at the client's next sequence number, which
// only its aftermath gives away: the client keeps sending.
func rstDataAfterReset() *capture {
	c := newCapture("tcp-rst-spoof/attack-data-after-reset.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.55:51550 -> 203.0.113.55:80, established, request and response; a RST+ACK from the client's address exactly at its next sequence number; then the client's next request; the server, which took the reset, answers it with a RST",
		"the client sent data after \"its\" reset, so it never sent it: one tcp-rst-spoof 9200103 alert on that data, client to server; every RST is at its sender's exact sequence number, so no 9200101")
	f := newConn(&c.stream, c.l, "192.0.2.55:51550", "203.0.113.55:80", 0x0da7a055)
	f.open(true)
	f.data(true, httpGet("www.example.com", "/index.html"))
	f.respond(httpResponse(1200, 'd'))
	f.forge(true, flagRST|flagACK, f.cseq, f.sseq, nil)
	f.data(true, httpGet("www.example.com", "/style.css"))
	c.expect(rstAlert(sidRSTIgnored, f.cli, f.srv))
	f.forge(false, flagRST, f.sseq, 0, nil) // RFC 793: seq = the segment's ACK
	return c
}

func rstExactClose() *capture {
	c := newCapture("tcp-rst-spoof/benign-exact-close.pcap", layers.LinkTypeEthernet, eth{},
		"three connections 192.0.2.56 -> 203.0.113.56: HTTP closed by the client's RST+ACK at its exact sequence number; HTTP with a FIN exchange, then the client's RST+ACK at its sequence number after the FIN; a request answered by the server's RST+ACK carrying \"Access Denied\" at its exact sequence number",
		"each RST is at its sender's next sequence number and nothing follows it from that side: ordinary aborts, no alert")
	a := newConn(&c.stream, c.l, "192.0.2.56:51560", "203.0.113.56:80", 0xe4ac7056)
	a.open(true)
	a.data(true, httpGet("www.example.com", "/a"))
	a.respond(httpResponse(2000, 'e'))
	a.forge(true, flagRST|flagACK, a.cseq, a.sseq, nil)

	b := newConn(&c.stream, c.l, "192.0.2.56:51561", "203.0.113.56:80", 0xe4ac7057)
	b.open(false)
	b.data(true, httpGet("www.example.com", "/b"))
	b.respond(httpResponse(900, 'f'))
	b.seg(true, flagFIN|flagACK, nil, nil)
	b.seg(false, flagFIN|flagACK, nil, nil)
	b.forge(true, flagRST|flagACK, b.cseq, b.sseq, nil) // instead of the last ACK (abortive close)

	d := newConn(&c.stream, c.l, "192.0.2.56:51562", "203.0.113.56:8080", 0xe4ac7058)
	d.open(true)
	d.data(true, httpGet("admin.example.com:8080", "/console"))
	d.forge(false, flagRST|flagACK, d.sseq, d.cseq, []byte("Access Denied\r\n")) // RFC 1122 4.2.2.12: a RST may carry a diagnostic
	return c
}

func rstSynRefused() *capture {
	c := newCapture("tcp-rst-spoof/benign-syn-refused.pcap", layers.LinkTypeEthernet, eth{},
		"three SYNs 192.0.2.57:51570-51572 -> 203.0.113.57:8443 (an application retrying from new ports), each answered by a RST+ACK with seq 0 and ack ISN+1",
		"a closed port refusing a SYN, nothing sent after it: no alert")
	for i := range 3 {
		f := newConn(&c.stream, c.l, fmt.Sprintf("192.0.2.57:%d", 51570+i), "203.0.113.57:8443", 0x5f0e0057+uint32(i)*0x01000193)
		f.syn(true)
		f.forge(false, flagRST|flagACK, 0, f.cseq, nil)
		c.wait(200 * time.Millisecond)
	}
	return c
}

// rstRepeatedSameSeq is a server that aborted an upload: every segment the client still had in
// flight draws another RST, all at the same sequence number (RFC 793: seq = SEG.ACK).
func rstRepeatedSameSeq() *capture {
	c := newCapture("tcp-rst-spoof/benign-repeated-rst-same-seq.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP upload 192.0.2.58:51580 -> 203.0.113.58:80: the server answers 413 and aborts with a RST+ACK; the client's 3 further data segments each draw a RST, all 4 RSTs at the same sequence number (the client's acknowledgment)",
		"repeated RSTs with one sequence number, the exact one, are a dead connection answering, not a guesser: no alert")
	f := newConn(&c.stream, c.l, "192.0.2.58:51580", "203.0.113.58:80", 0x413a0058)
	f.open(true)
	f.data(true, httpPost("upload.example.com", "/upload", string(filler(1000, 'A'))))
	f.data(false, []byte("HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"))
	f.forge(false, flagRST|flagACK, f.sseq, f.cseq, nil)
	for i := range 3 {
		f.data(true, filler(1448, byte('a'+i)))
		f.forge(false, flagRST, f.sseq, 0, nil)
	}
	return c
}

func rstMidstreamInWindow() *capture {
	c := newCapture("tcp-rst-spoof/benign-midstream-in-window.pcap", layers.LinkTypeEthernet, eth{},
		"TLS 192.0.2.59:51590 -> 203.0.113.59:443 joined mid-stream (no handshake, windows 8192 unscaled), data both ways, then one RST from the server at its next sequence number + 1000, inside the client's window",
		"without the handshake the sensor only infers where the sequence numbers stand (the connection is uncertain), and one RST is no burst: no alert")
	f := midStream(&c.stream, c.l, "192.0.2.59:51590", "203.0.113.59:443", 0x3d570059)
	f.data(true, tlsData(150, 0x59))
	f.data(false, tlsData(1100, 0x5a))
	f.ack(true)
	f.data(true, tlsData(60, 0x5b))
	f.data(false, tlsData(400, 0x5c))
	f.ack(true)
	f.forge(false, flagRST, f.sseq+1000, 0, nil)
	return c
}

func rstLossBeforeSensor() *capture {
	c := newCapture("tcp-rst-spoof/benign-loss-before-sensor.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.60:51600 -> 203.0.113.60:80: the response is 6 segments of which the 2nd and 3rd never reached the sensor (the client acknowledges them all); then the server's RST+ACK at its true next sequence number",
		"capture loss makes the connection uncertain, and the RST is at the exact sequence number anyway: no alert")
	f := newConn(&c.stream, c.l, "192.0.2.60:51600", "203.0.113.60:80", 0x105e0060)
	f.open(true)
	f.data(true, httpGet("www.example.com", "/big.bin"))
	resp := httpResponse(8000, 'l')
	for i := 0; len(resp) > 0; i++ {
		n := min(1448, len(resp))
		if i == 1 || i == 2 {
			f.lose(false, resp[:n])
		} else {
			f.data(false, resp[:n])
		}
		resp = resp[n:]
	}
	f.ack(true)
	f.forge(false, flagRST|flagACK, f.sseq, f.cseq, nil)
	return c
}

func rstLone() *capture {
	c := newCapture("tcp-rst-spoof/benign-lone-rst.pcap", layers.LinkTypeEthernet, eth{},
		"one RST+ACK 203.0.113.61:80 -> 192.0.2.61:51610 on a connection the capture never saw",
		"a RST with no connection has nothing to be judged against and starts none: no alert")
	f := newConn(&c.stream, c.l, "192.0.2.61:51610", "203.0.113.61:80", 0x10e50061)
	f.forge(false, flagRST|flagACK, f.sseq+123456, f.cseq, nil)
	return c
}

func rstPortReuse() *capture {
	c := newCapture("tcp-rst-spoof/benign-port-reuse.pcap", layers.LinkTypeEthernet, eth{},
		"HTTP 192.0.2.62:51620 -> 203.0.113.62:80 ended by the client's RST+ACK at its exact sequence number; then a new SYN on the same ports with a new ISN and a whole new connection (request, response, FIN close)",
		"the client's next packet after its RST is a bare SYN starting over: port reuse, not a forged reset; no alert")
	a := newConn(&c.stream, c.l, "192.0.2.62:51620", "203.0.113.62:80", 0x9e05e062)
	a.open(true)
	a.data(true, httpGet("www.example.com", "/first"))
	a.respond(httpResponse(700, 'p'))
	a.forge(true, flagRST|flagACK, a.cseq, a.sseq, nil)
	c.wait(50 * time.Millisecond)
	b := newConn(&c.stream, c.l, "192.0.2.62:51620", "203.0.113.62:80", 0x7a3c1d62)
	b.open(true)
	b.data(true, httpGet("www.example.com", "/second"))
	b.respond(httpResponse(1500, 'q'))
	b.close()
	return c
}
