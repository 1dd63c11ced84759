package main

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// DCE/RPC (C706 chapter 12) for the MS03-043 (CVE-2003-0717) cases: the Messenger service's
// NetrSendMessage (interface 5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc, opnum 0), whose stub is three
// NDR conformant varying strings of 1-byte characters (from, to, text; C706 14.3.4.2), each
// max_count, offset and actual_count (NUL included) then the characters, padded to 4. Over UDP
// (connectionless, version 4, 80-byte header) and over TCP 135 (connection-oriented, version 5:
// bind, bind_ack, request). All integers little-endian (drep 0x10). Clients are
// 192.0.2.180-191 or 2001:db8:1::180, servers 203.0.113.180-191 or 2001:db8:2::180.

const (
	msgrIface = "5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc"
	ndrSyntax = "8a885d04-1ceb-11c9-9fe8-08002b104860" // NDR transfer syntax, version 2
	// otherIface is a made-up interface, for a request the detector must leave alone.
	otherIface = "3f7c2a10-6b5e-4d91-a0c4-9e1b7d35f0a8"

	msgrLongText = 1300 // the exploits' text: more than max_text_len 1024
	msgrLongName = 300  // a from name far past max_name_len 64

	anomNDRString = "dcerpc.ndr_string_invalid"

	// Ordinary net send texts (counted without the NUL).
	netSend1 = "The file server restarts at 18:00 tonight."
	netSend2 = "Please log off before 18:00 tonight."
	netSend3 = "Lunch is ready downstairs."
)

// uuidLE is a UUID as a little-endian PDU carries it (C706 appendix A): time_low, time_mid and
// time_hi_and_version byte-swapped, the last 8 bytes as they are.
func uuidLE(s string) []byte {
	h := bytes.ReplaceAll([]byte(s), []byte("-"), nil)
	var u [16]byte
	if len(h) != 32 {
		panic("uuidLE: bad UUID " + s)
	}
	for i := range u {
		if _, err := fmt.Sscanf(string(h[2*i:2*i+2]), "%02x", &u[i]); err != nil {
			panic("uuidLE: bad UUID " + s)
		}
	}
	u[0], u[1], u[2], u[3] = u[3], u[2], u[1], u[0]
	u[4], u[5] = u[5], u[4]
	u[6], u[7] = u[7], u[6]
	return u[:]
}

// ndrStr is a conformant varying string of 1-byte characters with the given counts and data.
// A string followed by another is padded (pad4) so that the next one's counts are 4-aligned;
// the last argument ends the stub unpadded.
func ndrStr(maxCount, offset, actual uint32, data []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, maxCount)
	b = le.AppendUint32(b, offset)
	b = le.AppendUint32(b, actual)
	return append(b, data...)
}

// cstr is s as a [string] char* argument: NUL-terminated, counts equal to its length with the
// NUL, offset 0.
func cstr(s []byte) []byte {
	n := uint32(len(s) + 1)
	return ndrStr(n, 0, n, append(append([]byte(nil), s...), 0))
}

// sendMessage is NetrSendMessage's stub: from, to, text.
func sendMessage(from, to, text []byte) []byte {
	return cat(pad4(cstr(from)), pad4(cstr(to)), cstr(text))
}

// longText is the exploits' message text: n 'A's.
func longText(n int) []byte { return bytes.Repeat([]byte{'A'}, n) }

// Connectionless flags1 bits (C706 12.5.3.1).
const (
	clIdempotent = 0x20
	clBroadcast  = 0x40
)

// rpcCL is a connectionless request PDU (C706 12.5.3): the 80-byte header, then the body.
type rpcCL struct {
	flags1 uint8
	iface  string
	seq    uint32
	act    byte // varies the activity UUID
	body   []byte
}

func (r rpcCL) bytes() []byte {
	le := binary.LittleEndian
	b := make([]byte, 80, 80+len(r.body))
	b[0], b[1], b[2], b[3] = 4, 0, r.flags1, 0 // rpc_vers 4, request
	b[4] = 0x10                                // drep: little-endian, ASCII, IEEE
	copy(b[24:], uuidLE(r.iface))
	act := uuidLE("6d3c9a2e-41b7-4f08-9c15-2b8e70d4a600")
	act[15] = r.act
	copy(b[40:], act)
	le.PutUint32(b[60:], 1) // interface version 1.0
	le.PutUint32(b[64:], r.seq)
	le.PutUint16(b[68:], 0)      // opnum 0: NetrSendMessage
	le.PutUint16(b[70:], 0xffff) // interface hint: none
	le.PutUint16(b[72:], 0xffff) // activity hint: none
	le.PutUint16(b[74:], uint16(len(r.body)))
	return append(b, r.body...) // fragnum 0, auth_proto 0, serial 0
}

// clResponse is the server's connectionless response to r: NetrSendMessage's return value 0.
func clResponse(r rpcCL) []byte {
	r.flags1 = 0
	b := r.bytes()
	b[1] = 2 // response
	return b
}

// Connection-oriented PDUs (C706 12.6).
const (
	coRequest  = 0
	coResponse = 2
	coBind     = 11
	coBindAck  = 12

	coFirst = 0x01
	coLast  = 0x02
)

// coPDU is a connection-oriented PDU: the 16-byte common header, then body.
func coPDU(ptype, flags uint8, call uint32, body []byte) []byte {
	le := binary.LittleEndian
	b := []byte{5, 0, ptype, flags, 0x10, 0, 0, 0}
	b = le.AppendUint16(b, uint16(16+len(body)))
	b = le.AppendUint16(b, 0) // auth_length
	b = le.AppendUint32(b, call)
	return append(b, body...)
}

// coBindPDU binds presentation context 0 to the Messenger interface 1.0 with NDR.
func coBindPDU(call uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, 5840) // max_xmit_frag
	b = le.AppendUint16(b, 5840)    // max_recv_frag
	b = le.AppendUint32(b, 0)       // assoc_group_id
	b = append(b, 1, 0, 0, 0)       // n_context_elem, reserved
	b = le.AppendUint16(b, 0)       // p_cont_id
	b = append(b, 1, 0)             // n_transfer_syn, reserved
	b = append(b, uuidLE(msgrIface)...)
	b = le.AppendUint32(b, 1) // version 1.0
	b = append(b, uuidLE(ndrSyntax)...)
	b = le.AppendUint32(b, 2)
	return coPDU(coBind, coFirst|coLast, call, b)
}

// coBindAckPDU accepts the bind: secondary address "135", one result, acceptance with NDR.
func coBindAckPDU(call uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, 5840)
	b = le.AppendUint16(b, 5840)
	b = le.AppendUint32(b, 0x00004a3b) // assoc_group_id
	b = le.AppendUint16(b, 4)          // sec_addr length
	b = append(b, "135\x00"...)        // the PDU is at 30 bytes: pad to 4
	b = append(b, 0, 0)
	b = append(b, 1, 0, 0, 0) // n_results, reserved
	b = le.AppendUint16(b, 0) // result: acceptance
	b = le.AppendUint16(b, 0) // reason
	b = append(b, uuidLE(ndrSyntax)...)
	b = le.AppendUint32(b, 2)
	return coPDU(coBindAck, coFirst|coLast, call, b)
}

// coRequestPDU is one request fragment on context 0, opnum 0; hint is its alloc_hint.
func coRequestPDU(flags uint8, call, hint uint32, stub []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, hint)
	b = le.AppendUint16(b, 0) // p_cont_id
	b = le.AppendUint16(b, 0) // opnum
	return coPDU(coRequest, flags, call, append(b, stub...))
}

// coRequests splits stub into fragments of at most size stub bytes, each with the alloc_hint of
// the stub remaining from it on, as Windows sets it.
func coRequests(call uint32, stub []byte, size int) [][]byte {
	var out [][]byte
	for off := 0; off < len(stub); off += size {
		end := min(off+size, len(stub))
		var flags uint8
		if off == 0 {
			flags |= coFirst
		}
		if end == len(stub) {
			flags |= coLast
		}
		out = append(out, coRequestPDU(flags, call, uint32(len(stub)-off), stub[off:end]))
	}
	return out
}

// coResponsePDU is the server's answer: NetrSendMessage's return value 0.
func coResponsePDU(call uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 4) // alloc_hint
	b = le.AppendUint16(b, 0)    // p_cont_id
	b = append(b, 0, 0)          // cancel_count, reserved
	b = le.AppendUint32(b, 0)    // return value
	return coPDU(coResponse, coFirst|coLast, call, b)
}

// lan is Ethernet that sends the limited broadcast address to the broadcast MAC.
type lan struct{}

func (lan) frame(ip []byte) []byte {
	src, dst := ipAddrs(ip)
	m := macOf(dst)
	if dst.Is4() && dst.As4() == [4]byte{255, 255, 255, 255} {
		m = broadcast
	}
	return ether(m, macOf(src), nil, etherTypeOf(ip), ip)
}

func msgrAlert(sid int, src, dst string) expect {
	return alert(detMessenger, sid, src, dst)
}

// attackStub is the usual exploit request: short from and to names, a 1300-byte text.
func attackStub() []byte {
	return sendMessage([]byte("ATTACKER"), []byte("VICTIM"), longText(msgrLongText))
}

func messengerCases() []*capture {
	return []*capture{
		msgrUDP("messenger-overflow/attack-udp-135.pcap", eth{}, "192.0.2.180:1026", "203.0.113.180:135",
			"one connectionless NetrSendMessage request, from ATTACKER to VICTIM, text of 1300 'A's (counts 1301)"),
		msgrBroadcast(), msgrFragmented(),
		msgrUDP("messenger-overflow/attack-udp-vlan.pcap", eth{tags: []tag{{tpid: 0x8100, vid: 100}}}, "192.0.2.183:1026", "203.0.113.183:135",
			"in an 802.1Q frame (VLAN 100), one connectionless NetrSendMessage request with a 1300-byte text"),
		msgrUDP("messenger-overflow/attack-udp-ipv6.pcap", eth{}, "[2001:db8:1::180]:1026", "[2001:db8:2::180]:135",
			"one connectionless NetrSendMessage request over IPv6 with a 1300-byte text"),
		msgrTCP(), msgrTCPFragments(), msgrTCPOneByte(), msgrTCPOneSegment(), msgrInconsistent(),
		msgrBenignUDP(), msgrBenignTCP(), msgrBenignOther(),
	}
}

const udpLongWhy = "the text's counts (1301) exceed max_text_len 1024: one messenger-overflow 9200401 alert, client to server; counts consistent, no anomaly"

// msgrUDP sends the exploit request in one datagram; the server never answers.
func msgrUDP(path string, l link, cli, srv, what string) *capture {
	c := newCapture(path, layers.LinkTypeEthernet, l, cli+" -> "+srv+": "+what+"; no answer", udpLongWhy)
	a, b := addrPort(cli), addrPort(srv)
	r := rpcCL{flags1: clIdempotent, iface: msgrIface, seq: 1, act: 1, body: attackStub()}
	c.send(ipOver(a.Addr(), b.Addr(), protoUDP, 0x4301, udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes())),
		msgrAlert(sidMessenger, cli, srv))
	return c
}

func msgrBroadcast() *capture {
	cli, srv := "192.0.2.181:1026", "255.255.255.255:1029"
	c := newCapture("messenger-overflow/attack-udp-broadcast-1029.pcap", layers.LinkTypeEthernet, lan{},
		cli+" -> "+srv+" (Ethernet broadcast): one connectionless NetrSendMessage request, broadcast flag set, whose from name is 300 'B's (counts 301), to VICTIM, a short text",
		"the from name's counts (301) exceed max_name_len 64, on a broadcast to a port other than 135: one messenger-overflow 9200401 alert; no anomaly")
	a, b := addrPort(cli), addrPort(srv)
	r := rpcCL{flags1: clIdempotent | clBroadcast, iface: msgrIface, seq: 1, act: 2,
		body: sendMessage(bytes.Repeat([]byte{'B'}, msgrLongName), []byte("VICTIM"), []byte("hello"))}
	ip := ip4{src: a.Addr(), dst: b.Addr(), proto: protoUDP, id: 0x4302}.packet(udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes()))
	c.send(ip, msgrAlert(sidMessenger, cli, srv))
	return c
}

func msgrFragmented() *capture {
	cli, srv := "192.0.2.182:1026", "203.0.113.182:135"
	a, b := addrPort(cli), addrPort(srv)
	r := rpcCL{flags1: clIdempotent, iface: msgrIface, seq: 1, act: 3, body: attackStub()}
	u := udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes())
	fr := split4(ip4{src: a.Addr(), dst: b.Addr(), proto: protoUDP, id: 0x4303}.packet(u), 744)
	if len(fr) != 2 {
		panic("attack-udp-ipv4-fragmented: not 2 fragments")
	}
	c := newCapture("messenger-overflow/attack-udp-ipv4-fragmented.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: the 1300-byte-text NetrSendMessage request datagram (%d bytes of UDP) as two IPv4 fragments of 744 and %d bytes, the last sent first", cli, srv, len(u), len(u)-744),
		"the reassembled datagram holds the request: one messenger-overflow 9200401 alert with its ports, on the first fragment (which completes it); no anomaly")
	c.send(fr[1])
	c.send(fr[0], msgrAlert(sidMessenger, cli, srv))
	return c
}

// msgrTCPStart opens a connection to TCP 135 and binds the Messenger interface (call 1).
func msgrTCPStart(f *tcpFlow) {
	f.open(false)
	f.data(true, coBindPDU(1))
	f.data(false, coBindAckPDU(1))
}

func tcpAlert(f *tcpFlow, sid int) expect { return msgrAlert(sid, f.cli.String(), f.srv.String()) }

func msgrTCP() *capture {
	cli, srv := "192.0.2.184:1035", "203.0.113.184:135"
	c := newCapture("messenger-overflow/attack-tcp-135.pcap", layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": handshake, bind (context 0: Messenger 1.0, NDR), bind_ack, then one request PDU (call 2, first and last fragment, opnum 0) with the 1300-byte text in one segment; the server only acknowledges it; FIN close",
		"the text's counts (1301) exceed max_text_len 1024: one messenger-overflow 9200401 alert, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x03043000)
	msgrTCPStart(f)
	f.data(true, coRequests(2, attackStub(), 5816)[0])
	c.expect(tcpAlert(f, sidMessenger))
	f.ack(false)
	f.close()
	return c
}

func msgrTCPFragments() *capture {
	cli, srv := "192.0.2.185:1036", "203.0.113.185:135"
	stub := attackStub()
	c := newCapture("messenger-overflow/attack-tcp-rpc-fragments.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: handshake, bind, bind_ack, then the 1300-byte-text request (%d stub bytes) as 4 request fragments of 344, 344, 344 and %d stub bytes (first, middle, middle, last; alloc_hint the stub remaining), one per segment; FIN close", cli, srv, len(stub), len(stub)-3*344),
		"the joined stub holds the request: one messenger-overflow 9200401 alert on the last fragment, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x03043001)
	msgrTCPStart(f)
	frags := coRequests(2, stub, 344)
	if len(frags) != 4 {
		panic("attack-tcp-rpc-fragments: not 4 fragments")
	}
	for _, p := range frags {
		f.data(true, p)
	}
	c.expect(tcpAlert(f, sidMessenger))
	f.ack(false)
	f.close()
	return c
}

func msgrTCPOneByte() *capture {
	cli, srv := "192.0.2.186:1037", "203.0.113.186:135"
	req := coRequests(2, attackStub(), 5816)[0]
	c := newCapture("messenger-overflow/attack-tcp-one-byte-segments.pcap", layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": handshake, bind, bind_ack, then the 1300-byte-text request PDU ("+fmt.Sprint(len(req))+" bytes) in one-byte segments, the server acknowledging every 32nd; FIN close",
		"the PDU completes on its last byte: one messenger-overflow 9200401 alert there, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x03043002)
	msgrTCPStart(f)
	for i := range req {
		f.data(true, req[i:i+1])
		if i == len(req)-1 {
			c.expect(tcpAlert(f, sidMessenger))
		}
		if i%32 == 31 || i == len(req)-1 {
			f.ack(false)
		}
	}
	f.close()
	return c
}

func msgrTCPOneSegment() *capture {
	cli, srv := "192.0.2.191:1039", "203.0.113.191:135"
	bind, req := coBindPDU(1), coRequests(2, attackStub(), 5816)[0]
	c := newCapture("messenger-overflow/attack-tcp-bind-and-request-one-segment.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: handshake, then the bind (call 1, %d bytes) and the 1300-byte-text request PDU (call 2, %d bytes) in one segment of %d bytes, without waiting for the bind_ack; the server's bind_ack acknowledges it; FIN close", cli, srv, len(bind), len(req), len(bind)+len(req)),
		"several PDUs per segment are framed one by one, the bind's context serving the request after it: one messenger-overflow 9200401 alert on that segment, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x03043004)
	f.open(false)
	f.data(true, cat(bind, req))
	c.expect(tcpAlert(f, sidMessenger))
	f.data(false, coBindAckPDU(1))
	f.close()
	return c
}

func msgrInconsistent() *capture {
	cli, srv := "192.0.2.187:1026", "203.0.113.187:135"
	c := newCapture("messenger-overflow/attack-inconsistent-counts.pcap", layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": one connectionless NetrSendMessage request whose from string says max_count 3, offset 0, actual_count 6 and carries 6 bytes (\"EVIL1\" and NUL); to and text short and consistent",
		"offset + actual_count > max_count on an unfragmented request: one messenger-overflow 9200402 alert, client to server; dcerpc.ndr_string_invalid once")
	a, b := addrPort(cli), addrPort(srv)
	body := cat(pad4(ndrStr(3, 0, 6, []byte("EVIL1\x00"))), pad4(cstr([]byte("VICTIM"))), cstr([]byte("hi")))
	r := rpcCL{flags1: clIdempotent, iface: msgrIface, seq: 1, act: 7, body: body}
	c.send(ipOver(a.Addr(), b.Addr(), protoUDP, 0x4307, udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes())),
		msgrAlert(sidMessengerMalformed, cli, srv), anomaly(anomNDRString))
	return c
}

func msgrBenignUDP() *capture {
	cli, srv, bc := "192.0.2.188:1026", "203.0.113.188:135", "255.255.255.255:135"
	c := newCapture("messenger-overflow/benign-udp-net-send.pcap", layers.LinkTypeEthernet, lan{},
		fmt.Sprintf("net send: %s -> %s NetrSendMessage from ADMIN to BOB, a %d-byte text, answered by a response (return value 0); then %s -> %s (broadcast flag, Ethernet broadcast) from ADMIN to *, a %d-byte text", cli, srv, len(netSend1), cli, bc, len(netSend2)),
		"names and texts far below the limits, counts consistent: nothing")
	a, b, z := addrPort(cli), addrPort(srv), addrPort(bc)
	r := rpcCL{flags1: clIdempotent, iface: msgrIface, seq: 1, act: 8,
		body: sendMessage([]byte("ADMIN"), []byte("BOB"), []byte(netSend1))}
	c.send(ipOver(a.Addr(), b.Addr(), protoUDP, 0x4308, udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes())))
	resp := clResponse(rpcCL{iface: msgrIface, seq: 1, act: 8, body: []byte{0, 0, 0, 0}})
	c.send(ipOverTTL(b.Addr(), a.Addr(), protoUDP, 0x5308, 128, udp(b.Addr(), a.Addr(), b.Port(), a.Port(), resp)))
	r2 := rpcCL{flags1: clIdempotent | clBroadcast, iface: msgrIface, seq: 2, act: 9,
		body: sendMessage([]byte("ADMIN"), []byte("*"), []byte(netSend2))}
	c.send(ip4{src: a.Addr(), dst: z.Addr(), proto: protoUDP, id: 0x4309}.packet(udp(a.Addr(), z.Addr(), a.Port(), z.Port(), r2.bytes())))
	return c
}

func msgrBenignTCP() *capture {
	cli, srv := "192.0.2.189:1038", "203.0.113.189:135"
	c := newCapture("messenger-overflow/benign-tcp-short-message.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: handshake, bind, bind_ack, a request (call 2) from ADMIN to BOB with a %d-byte text, the response (return value 0); FIN close", cli, srv, len(netSend3)),
		"names and text far below the limits: nothing")
	f := newConn(&c.stream, c.l, cli, srv, 0x03043003)
	msgrTCPStart(f)
	f.data(true, coRequests(2, sendMessage([]byte("ADMIN"), []byte("BOB"), []byte(netSend3)), 5816)[0])
	f.data(false, coResponsePDU(2))
	f.close()
	return c
}

func msgrBenignOther() *capture {
	cli, srv := "192.0.2.190:1026", "203.0.113.190:135"
	c := newCapture("messenger-overflow/benign-other-interface.pcap", layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": one connectionless request, opnum 0, for interface "+otherIface+" whose body has the shape of the exploit's (a 1300-byte string among three)",
		"not the Messenger interface: nothing")
	a, b := addrPort(cli), addrPort(srv)
	r := rpcCL{flags1: clIdempotent, iface: otherIface, seq: 1, act: 10, body: attackStub()}
	c.send(ipOver(a.Addr(), b.Addr(), protoUDP, 0x4310, udp(a.Addr(), b.Addr(), a.Port(), b.Port(), r.bytes())))
	return c
}
