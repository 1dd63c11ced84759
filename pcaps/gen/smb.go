package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// SMB over NetBIOS (TCP 139, RFC 1002) and direct hosting (TCP 445, MS-SMB2 2.1), for the
// MS09-050 (CVE-2009-3103) cases: an SMB1 NEGOTIATE offering "SMB 2.002" with a non-zero Process
// ID High field. Clients are 192.0.2.130-140 or 2001:db8:1::130 (TTL 64), servers
// 203.0.113.130-140 or 2001:db8:2::130 (TTL 128).

// NetBIOS session service packet types (RFC 1002 4.3.1).
const (
	nbssMessage   = 0x00
	nbssRequest   = 0x81
	nbssPositive  = 0x82
	nbssKeepAlive = 0x85
)

// nbss frames an SMB message (or a session service packet's trailer) for TCP 139: type, flags
// whose bit 0 is the length's bit 16, 16-bit length.
func nbss(typ byte, payload []byte) []byte {
	n := len(payload)
	b := []byte{typ, byte(n>>16) & 1, byte(n >> 8), byte(n)}
	return append(b, payload...)
}

// direct frames an SMB message for TCP 445: a zero byte and a 24-bit length (MS-SMB2 2.1).
func direct(msg []byte) []byte {
	n := len(msg)
	return append([]byte{0, byte(n >> 16), byte(n >> 8), byte(n)}, msg...)
}

// nbName is a NetBIOS name in first-level encoding (RFC 1001 14.1) as a session request carries
// it: padded to 15 characters with spaces, the suffix byte, each nibble + 'A', length 32 first,
// no scope.
func nbName(name string, suffix byte) []byte {
	raw := append([]byte(fmt.Sprintf("%-15s", name)), suffix)
	b := []byte{32}
	for _, c := range raw {
		b = append(b, 'A'+c>>4, 'A'+c&0x0f)
	}
	return append(b, 0)
}

// smb1Hdr is an SMB_Header (MS-CIFS 2.2.3.1).
type smb1Hdr struct {
	cmd     byte
	status  uint32
	flags   byte
	flags2  uint16
	pidHigh uint16
	tid     uint16
	pidLow  uint16
	uid     uint16
	mid     uint16
}

func (h smb1Hdr) bytes() []byte {
	le := binary.LittleEndian
	b := []byte{0xff, 'S', 'M', 'B', h.cmd}
	b = le.AppendUint32(b, h.status)
	b = append(b, h.flags)
	b = le.AppendUint16(b, h.flags2)
	b = le.AppendUint16(b, h.pidHigh)
	b = append(b, make([]byte, 8+2)...) // SecurityFeatures, Reserved
	b = le.AppendUint16(b, h.tid)
	b = le.AppendUint16(b, h.pidLow)
	b = le.AppendUint16(b, h.uid)
	return le.AppendUint16(b, h.mid)
}

// smb1Msg is a header, the parameter words and the data bytes (MS-CIFS 2.2.3.2, 2.2.3.3).
func smb1Msg(h smb1Hdr, words, data []byte) []byte {
	b := append(h.bytes(), byte(len(words)/2))
	b = append(b, words...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// dialectBytes are SMB_COM_NEGOTIATE dialect entries: 0x02 and a NUL-terminated string each.
func dialectBytes(ds ...string) []byte {
	var b []byte
	for _, d := range ds {
		b = append(append(append(b, 0x02), d...), 0)
	}
	return b
}

const (
	smbComNegotiate    = 0x72
	smbComSessionSetup = 0x73
)

// Dialect lists as clients send them.
var (
	// ms09050Dialects are the public MS09-050 PoC's (Laurent Gaffié, September 2009): the usual
	// Windows list up to NT LM 0.12, then SMB 2.002.
	ms09050Dialects = []string{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1", "NT LM 0.12", "SMB 2.002"}
	// win7Dialects is Windows 7's multi-protocol negotiate.
	win7Dialects = []string{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1", "NT LM 0.12", "SMB 2.002", "SMB 2.???"}
	// xpDialects is Windows XP's: SMB1 only.
	xpDialects = []string{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a", "LM1.2X002", "LANMAN2.1", "NT LM 0.12"}
)

// ms09050PoC is the negotiate request of the public PoC, byte for byte: flags 0x18, flags2
// 0xc853, Process ID High bytes 00 26 (0x2600), TID 0xffff, PID bytes ff fe, 7 dialects, 144
// bytes in all.
func ms09050PoC() []byte {
	h := smb1Hdr{cmd: smbComNegotiate, flags: 0x18, flags2: 0xc853, pidHigh: 0x2600, tid: 0xffff, pidLow: 0xfeff}
	return smb1Msg(h, nil, dialectBytes(ms09050Dialects...))
}

// smb1Negotiate is an ordinary client's negotiate request: PIDHigh 0, PID 0xfeff.
func smb1Negotiate(ds ...string) []byte {
	h := smb1Hdr{cmd: smbComNegotiate, flags: 0x18, flags2: 0xc853, pidLow: 0xfeff}
	return smb1Msg(h, nil, dialectBytes(ds...))
}

// filetime is t as a Windows FILETIME (100 ns since 1601).
func filetime(t time.Time) uint64 { return uint64(t.Unix()+11644473600) * 10000000 }

// spnegoInit is the SPNEGO NegTokenInit a Windows server puts in its negotiate response,
// offering NEGOEX and NTLMSSP.
var spnegoInit = []byte{
	0x60, 0x28, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, // GSS-API, SPNEGO OID
	0xa0, 0x1e, 0x30, 0x1c, 0xa0, 0x1a, 0x30, 0x18, // NegTokenInit, mechTypes
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e, // NEGOEX
	0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, // NTLMSSP
}

// smb1NegotiateResponse is an NT LM 0.12 negotiate response with extended security (MS-CIFS
// 2.2.4.52.2, MS-SMB 2.2.4.5.2).
func smb1NegotiateResponse(req smb1Hdr, dialect uint16, guid [16]byte) []byte {
	le := binary.LittleEndian
	w := le.AppendUint16(nil, dialect)
	w = append(w, 0x03)                // SecurityMode: user level, encrypt passwords
	w = le.AppendUint16(w, 50)         // MaxMpxCount
	w = le.AppendUint16(w, 1)          // MaxNumberVcs
	w = le.AppendUint32(w, 16644)      // MaxBufferSize
	w = le.AppendUint32(w, 65536)      // MaxRawSize
	w = le.AppendUint32(w, 0)          // SessionKey
	w = le.AppendUint32(w, 0x8001f3fd) // Capabilities, extended security
	w = le.AppendUint64(w, filetime(epoch))
	w = le.AppendUint16(w, 0) // ServerTimeZone (UTC)
	w = append(w, 0)          // ChallengeLength: none with extended security
	h := req
	h.flags = 0x98 // reply, case-insensitive, canonicalized paths
	return smb1Msg(h, w, append(guid[:], spnegoInit...))
}

// smb2Hdr is an SMB2 Packet Header, sync form (MS-SMB2 2.2.1.2).
type smb2Hdr struct {
	status  uint32
	cmd     uint16
	credits uint16
	flags   uint32
	msgID   uint64
	pid     uint32
}

func (h smb2Hdr) bytes() []byte {
	le := binary.LittleEndian
	b := []byte{0xfe, 'S', 'M', 'B'}
	b = le.AppendUint16(b, 64) // StructureSize
	b = le.AppendUint16(b, 0)  // CreditCharge
	b = le.AppendUint32(b, h.status)
	b = le.AppendUint16(b, h.cmd)
	b = le.AppendUint16(b, h.credits)
	b = le.AppendUint32(b, h.flags)
	b = le.AppendUint32(b, 0) // NextCommand
	b = le.AppendUint64(b, h.msgID)
	b = le.AppendUint32(b, h.pid)
	b = le.AppendUint32(b, 0) // TreeId
	b = le.AppendUint64(b, 0) // SessionId
	return append(b, make([]byte, 16)...)
}

// align8 pads b with zeros to a multiple of 8 bytes.
func align8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// negContext is one SMB 3.1.1 negotiate context (MS-SMB2 2.2.3.1).
func negContext(typ uint16, data []byte) []byte {
	le := binary.LittleEndian
	b := le.AppendUint16(nil, typ)
	b = le.AppendUint16(b, uint16(len(data)))
	b = le.AppendUint32(b, 0)
	return append(b, data...)
}

// smb311Contexts are Windows 10's preauth integrity (SHA-512, 32-byte salt) and encryption
// (AES-128-GCM, AES-128-CCM) contexts, 8-byte aligned between them.
func smb311Contexts(salt byte) (count uint16, b []byte) {
	le := binary.LittleEndian
	pre := le.AppendUint16(nil, 1) // HashAlgorithmCount
	pre = le.AppendUint16(pre, 32) // SaltLength
	pre = le.AppendUint16(pre, 1)  // SHA-512
	pre = append(pre, filler(32, salt)...)
	enc := le.AppendUint16(nil, 2) // CipherCount
	enc = le.AppendUint16(enc, 2)  // AES-128-GCM
	enc = le.AppendUint16(enc, 1)  // AES-128-CCM
	return 2, append(align8(negContext(1, pre)), negContext(2, enc)...)
}

// smb2NegotiateRequest is an SMB2 NEGOTIATE request (MS-SMB2 2.2.3); with 0x0311 among the
// dialects it carries the 3.1.1 negotiate contexts.
func smb2NegotiateRequest(msgID uint64, caps uint32, guid [16]byte, dialects ...uint16) []byte {
	le := binary.LittleEndian
	b := smb2Hdr{cmd: 0, credits: 1, msgID: msgID, pid: 0xfeff}.bytes()
	b = le.AppendUint16(b, 36) // StructureSize
	b = le.AppendUint16(b, uint16(len(dialects)))
	b = le.AppendUint16(b, 1) // SecurityMode: signing enabled
	b = le.AppendUint16(b, 0) // Reserved
	b = le.AppendUint32(b, caps)
	b = append(b, guid[:]...)
	ctxAt := len(b) // NegotiateContextOffset, Count, Reserved2; or ClientStartTime
	b = append(b, make([]byte, 8)...)
	for _, d := range dialects {
		b = le.AppendUint16(b, d)
	}
	if slices.Contains(dialects, 0x0311) {
		n, ctx := smb311Contexts(0x5a)
		b = align8(b)
		le.PutUint32(b[ctxAt:], uint32(len(b)))
		le.PutUint16(b[ctxAt+4:], n)
		b = append(b, ctx...)
	}
	return b
}

// smb2NegotiateResponse is a server's SMB2 NEGOTIATE response (MS-SMB2 2.2.4) choosing dialect
// (0x02ff: the answer to an SMB1 multi-protocol negotiate), with the SPNEGO hint and, for
// 0x0311, the server's contexts.
func smb2NegotiateResponse(msgID uint64, dialect uint16, guid [16]byte) []byte {
	le := binary.LittleEndian
	b := smb2Hdr{cmd: 0, credits: 1, flags: 1, msgID: msgID}.bytes()
	var n uint16
	var ctx []byte
	if dialect == 0x0311 {
		n, ctx = smb311Contexts(0xa5)
	}
	b = le.AppendUint16(b, 65) // StructureSize
	b = le.AppendUint16(b, 1)  // SecurityMode: signing enabled
	b = le.AppendUint16(b, dialect)
	b = le.AppendUint16(b, n)
	b = append(b, guid[:]...)
	b = le.AppendUint32(b, 0x07)    // Capabilities: DFS, leasing, large MTU
	b = le.AppendUint32(b, 8388608) // MaxTransactSize
	b = le.AppendUint32(b, 8388608) // MaxReadSize
	b = le.AppendUint32(b, 8388608) // MaxWriteSize
	b = le.AppendUint64(b, filetime(epoch))
	b = le.AppendUint64(b, 0) // ServerStartTime
	b = le.AppendUint16(b, 128)
	b = le.AppendUint16(b, uint16(len(spnegoInit)))
	ctxAt := len(b)
	b = le.AppendUint32(b, 0) // NegotiateContextOffset or Reserved2
	b = append(b, spnegoInit...)
	if ctx != nil {
		b = align8(b)
		le.PutUint32(b[ctxAt:], uint32(len(b)))
		b = append(b, ctx...)
	}
	return b
}

// ntlmNegotiate is an NTLMSSP NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) with empty domain and
// workstation and a Windows 5.1 version.
func ntlmNegotiate() []byte {
	le := binary.LittleEndian
	b := append([]byte("NTLMSSP\x00"), 1, 0, 0, 0)
	b = le.AppendUint32(b, 0xe2088297)
	b = append(b, make([]byte, 16)...) // DomainNameFields, WorkstationFields
	return append(b, 5, 1, 0x28, 0x0a, 0, 0, 0, 15)
}

// sessionSetupAndX is an SMB_COM_SESSION_SETUP_ANDX request with extended security (MS-SMB
// 2.2.4.6.1) carrying blob, empty NativeOS and NativeLanMan in Unicode.
func sessionSetupAndX(h smb1Hdr, blob []byte) []byte {
	le := binary.LittleEndian
	h.cmd = smbComSessionSetup
	w := []byte{0xff, 0}      // AndXCommand none, AndXReserved
	w = le.AppendUint16(w, 0) // AndXOffset
	w = le.AppendUint16(w, 4356)
	w = le.AppendUint16(w, 50) // MaxMpxCount
	w = le.AppendUint16(w, 0)  // VcNumber
	w = le.AppendUint32(w, 0)  // SessionKey
	w = le.AppendUint16(w, uint16(len(blob)))
	w = le.AppendUint32(w, 0) // Reserved
	w = le.AppendUint32(w, 0x800000d4)
	data := append([]byte(nil), blob...)
	if (32+1+len(w)+2+len(data))%2 != 0 {
		data = append(data, 0) // Unicode strings are 2-byte aligned
	}
	return smb1Msg(h, w, append(data, 0, 0, 0, 0))
}

func smbAlert(sid int, f *tcpFlow) expect {
	return alert(detSMB2Neg, sid, f.cli.String(), f.srv.String())
}

// sendAt sends b from the client at sequence number seq without moving the client's next
// sequence number: for segments sent out of order.
func (f *tcpFlow) sendAt(seq uint32, b []byte) {
	next := f.cseq
	f.cseq = seq
	f.data(true, b)
	f.cseq = next
}

func smbCases() []*capture {
	return []*capture{
		smbPoC445(), smbPoC139(), smbOneByte(), smbOutOfOrder(), smbKeepalive(),
		smbPoCVariant("smb2-negotiate/attack-vlan.pcap", eth{tags: []tag{{tpid: 0x8100, vid: 100}}}, "192.0.2.135:39145", "203.0.113.135:445",
			"the MS09-050 PoC negotiate over TCP 445 as in attack-poc-445, in 802.1Q frames (VLAN 100)"),
		smbPoCVariant("smb2-negotiate/attack-ipv6.pcap", eth{}, "[2001:db8:1::130]:39146", "[2001:db8:2::130]:445",
			"the MS09-050 PoC negotiate over IPv6 TCP 445, as in attack-poc-445"),
		smbMalformedLength(), smbWin7(), smbSMB2Only(), smbPIDHighOther(), smbOverlapEvasion(),
	}
}

const pocWhy = "an SMB1 NEGOTIATE offering \"SMB 2.002\" with Process ID High 0x2600: one smb2-negotiate 9200301 alert, client to server, on the packet completing the message"

// smbPoC runs the PoC against a server on 445: handshake, the negotiate in one segment, the
// server's ACK (a vulnerable srv2.sys crashes and never answers), the client's close.
func smbPoCVariant(path string, l link, cli, srv, what string) *capture {
	c := newCapture(path, layers.LinkTypeEthernet, l, what+"; the server only acknowledges it; FIN close", pocWhy)
	f := newConn(&c.stream, c.l, cli, srv, 0x09050000+uint32(addrPort(cli).Port()))
	f.open(true)
	f.data(true, direct(ms09050PoC()))
	c.expect(smbAlert(sidSMB2Neg, f))
	f.ack(false)
	f.close()
	return c
}

func smbPoC445() *capture {
	return smbPoCVariant("smb2-negotiate/attack-poc-445.pcap", eth{}, "192.0.2.130:39140", "203.0.113.130:445",
		"192.0.2.130:39140 -> 203.0.113.130:445 (Linux-style handshake): the public MS09-050 PoC negotiate, NBSS 00 00 00 90 + 144-byte SMB1 NEGOTIATE (flags2 0xc853, PIDHigh bytes 00 26, 7 dialects from PC NETWORK PROGRAM 1.0 to NT LM 0.12 and SMB 2.002), one segment")
}

func smbPoC139() *capture {
	c := newCapture("smb2-negotiate/attack-poc-139.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.131:39141 -> 203.0.113.131:139: NBSS session request (0x81, called *SMBSERVER<20>, calling ATTACKER<00>), positive response (0x82), then the MS09-050 PoC negotiate in an NBSS session message; the server only acknowledges it; FIN close",
		pocWhy+" (the NetBIOS session request before it is not an SMB message)")
	f := newConn(&c.stream, c.l, "192.0.2.131:39141", "203.0.113.131:139", 0x09050139)
	f.open(true)
	f.data(true, nbss(nbssRequest, append(nbName("*SMBSERVER", 0x20), nbName("ATTACKER", 0x00)...)))
	f.data(false, nbss(nbssPositive, nil))
	f.data(true, nbss(nbssMessage, ms09050PoC()))
	c.expect(smbAlert(sidSMB2Neg, f))
	f.ack(false)
	f.close()
	return c
}

func smbOneByte() *capture {
	c := newCapture("smb2-negotiate/attack-one-byte-segments.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.132:39142 -> 203.0.113.132:445: the MS09-050 PoC negotiate (148 bytes with its NBSS header) in 148 one-byte segments, the server acknowledging every 16th; FIN close",
		pocWhy+": the last one-byte segment")
	f := newConn(&c.stream, c.l, "192.0.2.132:39142", "203.0.113.132:445", 0x09050001)
	f.open(true)
	msg := direct(ms09050PoC())
	for i := range msg {
		f.data(true, msg[i:i+1])
		if i == len(msg)-1 {
			c.expect(smbAlert(sidSMB2Neg, f))
		}
		if i%16 == 15 || i == len(msg)-1 {
			f.ack(false)
		}
	}
	f.close()
	return c
}

func smbOutOfOrder() *capture {
	c := newCapture("smb2-negotiate/attack-out-of-order.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.133:39143 -> 203.0.113.133:445: the MS09-050 PoC negotiate (148 bytes with its NBSS header) in 3 segments of 50, 50 and 48 bytes sent third, first, second; the server acknowledges after the second; FIN close",
		pocWhy+": the second segment, which fills the hole")
	f := newConn(&c.stream, c.l, "192.0.2.133:39143", "203.0.113.133:445", 0x09050002)
	f.open(true)
	msg := direct(ms09050PoC())
	base := f.cseq
	f.sendAt(base+100, msg[100:])
	f.sendAt(base, msg[:50])
	f.sendAt(base+50, msg[50:100])
	c.expect(smbAlert(sidSMB2Neg, f))
	f.cseq = base + uint32(len(msg))
	f.ack(false)
	f.close()
	return c
}

func smbOverlapEvasion() *capture {
	c := newCapture("smb2-negotiate/attack-overlap-evasion.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.140:39148 -> 203.0.113.140:445: the MS09-050 PoC negotiate (148 bytes with its NBSS header) in two halves of 74 bytes: the second half first (held out of order), then a segment carrying the same 74 bytes with \"SMB 2.002\" replaced by \"LANMAN2.1\" (a negotiate without SMB 2 to a host whose later data wins), then the first half; the server acknowledges after it; FIN close",
		pocWhy+": the first half, which fills the hole; a Windows host keeps the bytes received first, so it sees the PoC; the decoy overlapping held bytes with different data records stream.overlap and stream.overlap_different_data once")
	f := newConn(&c.stream, c.l, "192.0.2.140:39148", "203.0.113.140:445", 0x09050008)
	f.open(true)
	msg := direct(ms09050PoC())
	decoy := bytes.Replace(msg[74:], []byte("SMB 2.002"), []byte("LANMAN2.1"), 1)
	if len(msg) != 148 || bytes.Equal(decoy, msg[74:]) {
		panic("attack-overlap-evasion: unexpected PoC layout")
	}
	base := f.cseq
	f.sendAt(base+74, msg[74:])
	f.sendAt(base+74, decoy)
	c.expect(anomaly("stream.overlap"), anomaly("stream.overlap_different_data"))
	f.sendAt(base, msg[:74])
	c.expect(smbAlert(sidSMB2Neg, f))
	f.cseq = base + uint32(len(msg))
	f.ack(false)
	f.close()
	return c
}

func smbKeepalive() *capture {
	c := newCapture("smb2-negotiate/attack-keepalive-interleaved.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.134:39144 -> 203.0.113.134:445: two NBSS keep-alives (85 00 00 00) in one segment, then a keep-alive and the MS09-050 PoC negotiate in the next; FIN close",
		pocWhy+" (keep-alives are framed and skipped)")
	f := newConn(&c.stream, c.l, "192.0.2.134:39144", "203.0.113.134:445", 0x09050003)
	f.open(true)
	ka := nbss(nbssKeepAlive, nil)
	f.data(true, cat(ka, ka))
	f.ack(false)
	f.data(true, cat(ka, direct(ms09050PoC())))
	c.expect(smbAlert(sidSMB2Neg, f))
	f.ack(false)
	f.close()
	return c
}

func smbMalformedLength() *capture {
	c := newCapture("smb2-negotiate/attack-malformed-length.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.136:39147 -> 203.0.113.136:445: an SMB1 NEGOTIATE (PIDHigh 0; NT LM 0.12, SMB 2.002) whose 4-byte header claims 8 bytes more than the message, followed by those 8 zero bytes in the same segment; FIN close",
		"bytes after a negotiate's byte area (the NetBIOS length disagrees with the SMB message): one smb2-negotiate 9200302 alert (malformed), client to server; anomaly nbss.length_mismatch")
	f := newConn(&c.stream, c.l, "192.0.2.136:39147", "203.0.113.136:445", 0x09050004)
	f.open(true)
	f.data(true, direct(append(smb1Negotiate("NT LM 0.12", "SMB 2.002"), make([]byte, 8)...)))
	c.expect(smbAlert(sidSMB2Malformed, f), anomaly("nbss.length_mismatch"))
	f.ack(false)
	f.close()
	return c
}

// Server GUIDs, fixed.
var (
	srvGUID = [16]byte{0x3c, 0x1e, 0x7f, 0x52, 0x90, 0x2b, 0x4d, 0x11, 0x8a, 0x61, 0x0c, 0x29, 0x5d, 0xe0, 0x44, 0x17}
	cliGUID = [16]byte{0x8e, 0x0f, 0x31, 0xa4, 0x6b, 0x7c, 0x4e, 0x02, 0x9d, 0x53, 0x21, 0xb8, 0x70, 0x15, 0xcc, 0x6a}
)

func smbWin7() *capture {
	c := newCapture("smb2-negotiate/benign-windows7-negotiate.pcap", layers.LinkTypeEthernet, eth{},
		"Windows 7 192.0.2.137:49158 -> 203.0.113.137:445 (Windows-style handshake): SMB1 multi-protocol NEGOTIATE (8 dialects up to SMB 2.002 and SMB 2.???, PIDHigh 0), the server's SMB2 NEGOTIATE response (dialect 0x02ff), the client's SMB2 NEGOTIATE (dialects 0x0202, 0x0210), the server's response (0x0210); FIN close",
		"offering SMB 2 with Process ID High 0 is every Vista/7 client's first message, and both negotiates are well formed: nothing")
	f := newConn(&c.stream, c.l, "192.0.2.137:49158", "203.0.113.137:445", 0x09050005)
	f.open(false)
	f.data(true, direct(smb1Negotiate(win7Dialects...)))
	f.data(false, direct(smb2NegotiateResponse(0, 0x02ff, srvGUID)))
	f.data(true, direct(smb2NegotiateRequest(1, 0, cliGUID, 0x0202, 0x0210)))
	f.data(false, direct(smb2NegotiateResponse(1, 0x0210, srvGUID)))
	f.ack(true)
	f.close()
	return c
}

func smbSMB2Only() *capture {
	c := newCapture("smb2-negotiate/benign-smb2-only.pcap", layers.LinkTypeEthernet, eth{},
		"Windows 10 192.0.2.138:49712 -> 203.0.113.138:445 (Windows-style handshake): SMB2 NEGOTIATE with 5 dialects (0x0202, 0x0210, 0x0300, 0x0302, 0x0311) and the 3.1.1 preauth and encryption contexts; the server's response (0x0311, with its contexts); FIN close",
		"an SMB2 negotiate is not the SMB1 request MS09-050 needs, and it is well formed: nothing")
	f := newConn(&c.stream, c.l, "192.0.2.138:49712", "203.0.113.138:445", 0x09050006)
	f.open(false)
	f.data(true, direct(smb2NegotiateRequest(0, 0x7f, cliGUID, 0x0202, 0x0210, 0x0300, 0x0302, 0x0311)))
	f.data(false, direct(smb2NegotiateResponse(0, 0x0311, srvGUID)))
	f.ack(true)
	f.close()
	return c
}

func smbPIDHighOther() *capture {
	c := newCapture("smb2-negotiate/benign-pidhigh-nonzero-other-command.pcap", layers.LinkTypeEthernet, eth{},
		"Windows XP-style 192.0.2.139:1042 -> 203.0.113.139:445: SMB1 NEGOTIATE (6 dialects up to NT LM 0.12, PIDHigh 0), the server's NT LM 0.12 response, then SESSION_SETUP_ANDX (0x73, NTLMSSP negotiate) with Process ID High 0x2600, answered with STATUS_ACCESS_DENIED; FIN close",
		"Process ID High matters only in a NEGOTIATE offering SMB 2; the negotiate is ordinary: nothing")
	f := newConn(&c.stream, c.l, "192.0.2.139:1042", "203.0.113.139:445", 0x09050007)
	f.open(false)
	f.data(true, direct(smb1Negotiate(xpDialects...)))
	req := smb1Hdr{cmd: smbComNegotiate, flags: 0x18, flags2: 0xc853, pidLow: 0xfeff}
	f.data(false, direct(smb1NegotiateResponse(req, 5, srvGUID)))
	ss := smb1Hdr{flags: 0x18, flags2: 0xc807, pidHigh: 0x2600, pidLow: 0xfeff, mid: 1}
	f.data(true, direct(sessionSetupAndX(ss, ntlmNegotiate())))
	denied := ss
	denied.cmd, denied.status, denied.flags = smbComSessionSetup, 0xc0000022, 0x98
	f.data(false, direct(smb1Msg(denied, nil, nil)))
	f.ack(true)
	f.close()
	return c
}
