package main

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/gopacket/gopacket/layers"
)

// Connection-oriented DCE/RPC cases whose detectors find string arguments by their encoding
// (detectors/rpcstrings.go): MS07-065 (CVE-2007-3039), MSMQ's qmcomm interface with an over-long
// NDR wide string, and MS03-026 (CVE-2003-0352, Blaster), DCOM activation with a UTF-16LE UNC
// path \\server\... whose server name is too long. Every connection is handshake (Windows
// options), bind of context 0 to the interface with NDR, bind_ack, one request (call 2), the
// server's acknowledgment, FIN close. Requests larger than one segment go in MSS-sized
// segments, the server acknowledging every second one and the last. MSMQ: clients
// 192.0.2.200-205 or 2001:db8:1::200, servers 203.0.113.200-205 or 2001:db8:2::200; DCOM:
// clients 192.0.2.210-215, servers 203.0.113.210-215:135.

const (
	qmcommIface   = "fdb3a030-065f-11d1-bb9b-00a024ea5525" // MSMQ qmcomm, version 1.0
	remActIface   = "4d9f4ab8-7d1c-11cf-861e-0020af6e7c57" // IRemoteActivation, version 0.0
	sysActIface   = "000001a0-0000-0000-c000-000000000046" // ISystemActivator, version 0.0
	iUnknownIID   = "00000000-0000-0000-c000-000000000046"
	actPropsInIID = "000001a2-0000-0000-c000-000000000046" // IActivationPropertiesIn
	actPropsCLSID = "00000338-0000-0000-c000-000000000046" // its marshaller's CLSID

	msmqOpnum    = 6
	msmqLongPath = 2100 // 'B's after the machine name: far past max_string_len 512
	dcomLongName = 1000 // 'C's of the server name: far past max_server_name 255

	msmqMachine = `victim.corp.example.com\`
	msmqShort   = `victim.corp.example.com\private$\billing` // 40 characters
)

// wide is s in UTF-16LE, without a terminator.
func wide(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// wstr is s as a [string] wchar_t* argument: max_count = actual_count = its length with the NUL,
// offset 0, then the UTF-16LE characters and the NUL, padded to 4.
func wstr(s string) []byte {
	n := uint32(len(utf16.Encode([]rune(s))) + 1)
	le := binary.LittleEndian
	b := le.AppendUint32(nil, n)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, n)
	return pad4(append(append(b, wide(s)...), 0, 0))
}

// coBindTo binds presentation context 0 to iface major.minor with NDR.
func coBindTo(call uint32, iface string, major, minor uint16) []byte {
	b := coBindPDU(call)
	copy(b[16+16:], uuidLE(iface)) // header, max frags, assoc group, n_context, p_cont_id, n_transfer
	binary.LittleEndian.PutUint16(b[48:], major)
	binary.LittleEndian.PutUint16(b[50:], minor)
	return b
}

// coBindAckAt accepts a bind with the secondary address port (the server's port as a string).
func coBindAckAt(call uint32, port string) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, 5840)
	b = le.AppendUint16(b, 5840)
	b = le.AppendUint32(b, 0x00004a3b)
	b = le.AppendUint16(b, uint16(len(port)+1))
	b = append(b, port...)
	b = append(b, 0)
	for (16+len(b))%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, 1, 0, 0, 0)
	b = le.AppendUint16(b, 0)
	b = le.AppendUint16(b, 0)
	b = append(b, uuidLE(ndrSyntax)...)
	b = le.AppendUint32(b, 2)
	return coPDU(coBindAck, coFirst|coLast, call, b)
}

// coRequestsOp is coRequests with an opnum.
func coRequestsOp(call uint32, opnum uint16, stub []byte, size int) [][]byte {
	out := coRequests(call, stub, size)
	for _, p := range out {
		binary.LittleEndian.PutUint16(p[22:], opnum)
	}
	return out
}

// sendMSS sends b from the client in segments of at most the flow's MSS (no timestamps), the
// server acknowledging every second one and the last, and returns the number of segments.
func sendMSS(f *tcpFlow, b []byte, e expect) int {
	mss := 1460
	if f.cli.Addr().Is6() {
		mss = 1440
	}
	n := 0
	for i := 0; len(b) > 0; i++ {
		k := min(mss, len(b))
		f.data(true, b[:k])
		b = b[k:]
		n++
		if len(b) == 0 && e != (expect{}) {
			f.s.expect(e)
		}
		if i%2 == 1 || len(b) == 0 {
			f.ack(false)
		}
	}
	return n
}

// rpcStart opens a connection and binds context 0 (call 1).
func rpcStart(f *tcpFlow, iface string, major, minor uint16) {
	f.open(false)
	f.data(true, coBindTo(1, iface, major, minor))
	f.data(false, coBindAckAt(1, fmt.Sprint(f.srv.Port())))
}

func rpcAlert(det string, sid int, f *tcpFlow) expect {
	return alert(det, sid, f.cli.String(), f.srv.String())
}

// ---- MSMQ (MS07-065) ----

// msmqStub is the request's stub: uint32 1, then the path as a wide string.
func msmqStub(path string) []byte {
	return cat(binary.LittleEndian.AppendUint32(nil, 1), wstr(path))
}

func msmqLong() string { return msmqMachine + strings.Repeat("B", msmqLongPath) }

func msmqCases() []*capture {
	return []*capture{
		msmqOne("msmq-overflow/attack-2103.pcap", eth{}, "192.0.2.200:1040", "203.0.113.200:2103", qmcommIface, msmqLong(), true),
		msmqFragments(), msmqOneByte(),
		msmqOne("msmq-overflow/attack-ipv6.pcap", eth{}, "[2001:db8:1::200]:1040", "[2001:db8:2::200]:2103", qmcommIface, msmqLong(), true),
		msmqOne("msmq-overflow/benign-short-names.pcap", eth{}, "192.0.2.204:1044", "203.0.113.204:2103", qmcommIface, msmqShort, false),
		msmqOne("msmq-overflow/benign-other-interface.pcap", eth{}, "192.0.2.205:1045", "203.0.113.205:2103", otherIface, msmqLong(), false),
	}
}

func msmqOne(path string, l link, cli, srv, iface, str string, attack bool) *capture {
	stub := msmqStub(str)
	req := coRequestsOp(2, msmqOpnum, stub, 5816)[0]
	n := len(utf16.Encode([]rune(str))) + 1
	why := fmt.Sprintf("the wide string's actual_count %d exceeds max_string_len 512 on the qmcomm interface: one msmq-overflow 9200411 alert on the segment completing the PDU, client to server; no anomaly", n)
	if !attack && iface == qmcommIface {
		why = fmt.Sprintf("a %d-character string (count %d), below max_string_len 512: nothing", n-1, n)
	} else if !attack {
		why = "interface " + iface + " is not qmcomm: nothing"
	}
	c := newCapture(path, layers.LinkTypeEthernet, l,
		fmt.Sprintf("%s -> %s: handshake, bind (context 0: %s 1.0, NDR), bind_ack, then one request PDU (call 2, opnum %d, %d bytes) whose stub is uint32 1 and a wide string of %d characters with the NUL; the server acknowledges; FIN close", cli, srv, iface, msmqOpnum, len(req), n),
		why)
	f := newConn(&c.stream, c.l, cli, srv, 0x07065000+uint32(len(c.path)))
	rpcStart(f, iface, 1, 0)
	e := expect{}
	if attack {
		e = rpcAlert(detMSMQ, sidMSMQ, f)
	}
	sendMSS(f, req, e)
	f.close()
	return c
}

func msmqFragments() *capture {
	cli, srv := "192.0.2.201:1041", "203.0.113.201:2105"
	stub := msmqStub(msmqLong())
	const size = 864
	frags := coRequestsOp(2, msmqOpnum, stub, size)
	if len(frags) != 5 {
		panic("msmq attack-2105-rpc-fragments: not 5 fragments")
	}
	c := newCapture("msmq-overflow/attack-2105-rpc-fragments.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: handshake, bind (qmcomm 1.0), bind_ack, then the over-long request (opnum 6, %d stub bytes) as 5 request fragments of %d, %d, %d, %d and %d stub bytes (alloc_hint the stub remaining), one per segment; FIN close", cli, srv, len(stub), size, size, size, size, len(stub)-4*size),
		"the joined stub holds a wide string with actual_count 2125 > 512: one msmq-overflow 9200411 alert on the last fragment, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x07065101)
	rpcStart(f, qmcommIface, 1, 0)
	for i, p := range frags {
		f.data(true, p)
		if i == len(frags)-1 {
			c.expect(rpcAlert(detMSMQ, sidMSMQ, f))
		}
		if i%2 == 1 || i == len(frags)-1 {
			f.ack(false)
		}
	}
	f.close()
	return c
}

func msmqOneByte() *capture {
	cli, srv := "192.0.2.202:1042", "203.0.113.202:2107"
	req := coRequestsOp(2, msmqOpnum, msmqStub(msmqLong()), 5816)[0]
	c := newCapture("msmq-overflow/attack-2107-one-byte-segments.pcap", layers.LinkTypeEthernet, eth{},
		fmt.Sprintf("%s -> %s: handshake, bind (qmcomm 1.0), bind_ack, then the over-long request PDU (%d bytes) in one-byte segments, the server acknowledging every 32nd and the last; FIN close", cli, srv, len(req)),
		"the PDU completes on its last byte: one msmq-overflow 9200411 alert there, client to server; no anomaly")
	f := newConn(&c.stream, c.l, cli, srv, 0x07065102)
	rpcStart(f, qmcommIface, 1, 0)
	for i := range req {
		f.data(true, req[i:i+1])
		if i == len(req)-1 {
			c.expect(rpcAlert(detMSMQ, sidMSMQ, f))
		}
		if i%32 == 31 || i == len(req)-1 {
			f.ack(false)
		}
	}
	f.close()
	return c
}

// ---- DCOM activation (MS03-026) ----

// orpcThis is 48 bytes of ORPCTHIS: version 5.6, flags 1, reserved 0, a causality id, no
// extensions, then zeros (the 2003 exploits' ORPCTHIS block).
func orpcThis() []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, 5)
	b = le.AppendUint16(b, 6)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 0)
	b = append(b, uuidLE("7c3e91a4-2f08-4b6d-a1e5-38d09f6b2c71")...)
	b = le.AppendUint32(b, 0)
	return append(b, make([]byte, 48-len(b))...)
}

// remActTail is 64 bytes after pwszObjectName: ClientImpLevel 0, Mode 0, one interface (a
// unique pointer to a conformant array holding IUnknown's IID), one requested protocol sequence
// (7, ncacn_ip_tcp), zero padding.
func remActTail() []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 0x00020004)
	b = le.AppendUint32(b, 1)
	b = append(b, uuidLE(iUnknownIID)...)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint16(b, 7)
	return append(b, make([]byte, 64-len(b))...)
}

// remActStub is RemoteActivation's stub shaped like Blaster's: ORPCTHIS, a CLSID, a unique
// pointer, pwszObjectName as a wide string, 64 bytes of the remaining arguments.
func remActStub(unc string) []byte {
	return cat(orpcThis(), uuidLE("e1af8308-5d1f-11c9-91a4-08002b14a0fa"),
		binary.LittleEndian.AppendUint32(nil, 0x00020000), wstr(unc), remActTail())
}

// createInstanceStub is RemoteCreateInstance's stub: ORPCTHIS, a null pUnkOuter, then
// pActProperties: a unique pointer, ulCntData, the conformant abData holding an OBJREF_CUSTOM
// ('MEOW', IActivationPropertiesIn, CLSID 00000338-...) whose property blob has 64 zero bytes of
// property headers, the path as a wide string, then 128 zero bytes.
func createInstanceStub(unc string) []byte {
	le := binary.LittleEndian
	blob := cat(make([]byte, 64), wstr(unc), make([]byte, 128))
	obj := le.AppendUint32(nil, 0x574f454d) // 'MEOW'
	obj = le.AppendUint32(obj, 4)           // OBJREF_CUSTOM
	obj = append(obj, uuidLE(actPropsInIID)...)
	obj = append(obj, uuidLE(actPropsCLSID)...)
	obj = le.AppendUint32(obj, 0)                 // cbExtension
	obj = le.AppendUint32(obj, uint32(len(blob))) // size
	obj = append(obj, blob...)
	b := cat(orpcThis(), le.AppendUint32(nil, 0)) // pUnkOuter: null
	b = le.AppendUint32(b, 0x00020000)
	b = le.AppendUint32(b, uint32(len(obj)))
	b = le.AppendUint32(b, uint32(len(obj)))
	return append(b, obj...)
}

func dcomLongUNC() string { return `\\` + strings.Repeat("C", dcomLongName) + `\file` }

func dcomCases() []*capture {
	vlan := eth{tags: []tag{{tpid: 0x8100, vid: 100}}}
	return []*capture{
		dcomOne("dcom-activation/attack-remoteactivation-135.pcap", eth{}, "192.0.2.210:1050", remActIface, 0, dcomLongUNC(), 1),
		dcomOne("dcom-activation/attack-remoteactivation-fragments.pcap", eth{}, "192.0.2.211:1051", remActIface, 0, dcomLongUNC(), 3),
		dcomOne("dcom-activation/attack-remotecreateinstance.pcap", eth{}, "192.0.2.212:1052", sysActIface, 4, dcomLongUNC(), 1),
		dcomOne("dcom-activation/attack-vlan.pcap", vlan, "192.0.2.213:1053", remActIface, 0, dcomLongUNC(), 1),
		dcomOne("dcom-activation/benign-activation.pcap", eth{}, "192.0.2.214:1054", remActIface, 0, `\\FILESRV01\share`, 1),
		dcomOne("dcom-activation/benign-remotecreateinstance-fqdn.pcap", eth{}, "192.0.2.215:1055", sysActIface, 4, `\\dc01.corp.example.com\share`, 1),
	}
}

// dcomOne sends one activation request for unc to 203.0.113.x:135, in frags request fragments
// (each in its own segments).
func dcomOne(path string, l link, cli, iface string, opnum uint16, unc string, frags int) *capture {
	srv := strings.Replace(strings.Split(cli, ":")[0], "192.0.2.", "203.0.113.", 1) + ":135"
	method, stub := "RemoteActivation", remActStub(unc)
	if iface == sysActIface {
		method, stub = "RemoteCreateInstance", createInstanceStub(unc)
	}
	server := strings.SplitN(unc[2:], `\`, 2)[0]
	size := (len(stub) + frags - 1) / frags
	pdus := coRequestsOp(2, opnum, stub, size)
	if len(pdus) != frags {
		panic(path + ": wrong fragment count")
	}
	attack := len(server) > 255
	shown := unc
	if attack {
		shown = fmt.Sprintf(`\\ + %d 'C' + \file`, len(server))
	}
	what := fmt.Sprintf("%s -> %s: handshake, bind (context 0: %s 0.0, NDR), bind_ack, then %s (opnum %d, call 2, %d stub bytes) carrying the path %s", cli, srv, iface, method, opnum, len(stub), shown)
	if frags > 1 {
		what += fmt.Sprintf(" as %d request fragments of %d stub bytes or fewer (alloc_hint the stub remaining)", frags, size)
	}
	what += "; the server acknowledges; FIN close"
	if _, ok := l.(eth); ok && len(l.(eth).tags) > 0 {
		what = "in 802.1Q frames (VLAN 100), " + what
	}
	why := fmt.Sprintf("a %d-character server name, beyond max_server_name 255, in %s: one dcom-activation 9200421 alert when the request completes, client to server; no anomaly", len(server), method)
	if !attack {
		why = fmt.Sprintf("a %d-character server name, within max_server_name 255: nothing", len(server))
	}
	c := newCapture(path, layers.LinkTypeEthernet, l, what, why)
	f := newConn(&c.stream, c.l, cli, srv, 0x03026000+uint32(len(c.path)))
	rpcStart(f, iface, 0, 0)
	for i, p := range pdus {
		e := expect{}
		if attack && i == len(pdus)-1 {
			e = rpcAlert(detDCOM, sidDCOM, f)
		}
		sendMSS(f, p, e)
	}
	f.close()
	return c
}
