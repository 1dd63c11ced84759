package decode

// Tests of the NetBIOS session header and SMB NEGOTIATE request parsers: table cases built from
// real-looking bytes (header values copied from the shared captures), the public MS09-050 proof
// of concept, one case per anomaly, a walk over the shared SMB captures, the allocation gate, a
// benchmark and a fuzz target.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/capture"
)

// ---------------------------------------------------------------------------------------------
// Builders.

// smb1H is an SMB_Header (MS-CIFS 2.2.3.1); status, security features and reserved are zero.
type smb1H struct {
	cmd     uint8
	flags   uint8
	flags2  uint16
	pidHigh uint16
	tid     uint16
	pidLow  uint16
	uid     uint16
	mid     uint16
}

func (h smb1H) bytes() []byte {
	return cat(hx("ff 53 4d 42"), []byte{h.cmd}, zeros(4), []byte{h.flags}, le16(h.flags2), le16(h.pidHigh),
		zeros(8), zeros(2), le16(h.tid), le16(h.pidLow), le16(h.uid), le16(h.mid))
}

// Headers as real clients send them on a NEGOTIATE request.
var (
	// Windows 7 / Server 2008 R2 (smb-win-net-user-samr-over-smb2.pcap): canonicalized paths and
	// case-insensitive (0x18); Unicode, NT status, extended security, long names (0xc853).
	hdrWin7 = smb1H{cmd: 0x72, flags: 0x18, flags2: 0xc853, tid: 0xffff, pidLow: 0xfeff}
	// Samba smbclient (smb1-smbclient-loopback.pcap).
	hdrSamba = smb1H{cmd: 0x72, flags: 0x08, flags2: 0xc801, pidLow: 0x0f77, mid: 1}
	// scapy-crafted LANMAN client (smb1-negotiate-legacy-lanman-dialects.pcap).
	hdrScapy = smb1H{cmd: 0x72, flags: 0x18, flags2: 0xc853, pidLow: 0x1234, mid: 1}
)

// dialectsWin7 is the multi-protocol list Windows Vista SP1 and later offer (MS-SMB2 3.2.4.2.2.1).
var dialectsWin7 = []string{"PC NETWORK PROGRAM 1.0", "LANMAN1.0", "Windows for Workgroups 3.1a",
	"LM1.2X002", "LANMAN2.1", "NT LM 0.12", "SMB 2.002", "SMB 2.???"}

// dialectsSamba is an SMB1-only Samba client's list (smb1-smbclient-loopback.pcap); newer Samba
// adds "SMB 2.002" and "SMB 2.???" (smb1-multiproto-neg-to-smb311-contexts.pcap), 12 in all.
var dialectsSamba = []string{"PC NETWORK PROGRAM 1.0", "MICROSOFT NETWORKS 1.03", "MICROSOFT NETWORKS 3.0",
	"LANMAN1.0", "LM1.2X002", "DOS LANMAN2.1", "LANMAN2.1", "Samba", "NT LANMAN 1.0", "NT LM 0.12"}

// dialectBytes encodes dialect entries: 0x02, the string, NUL (MS-CIFS 2.2.4.52.1).
func dialectBytes(ds ...string) []byte {
	var b []byte
	for _, d := range ds {
		b = append(append(append(b, 0x02), d...), 0)
	}
	return b
}

// smb1Neg builds an SMB_COM_NEGOTIATE request: header, WordCount 0, ByteCount, bytes.
func smb1Neg(h smb1H, data []byte) []byte {
	return cat(h.bytes(), []byte{0}, le16(uint16(len(data))), data)
}

// smb1Raw builds an SMB1 message with any word count, words, byte count and bytes.
func smb1Raw(h smb1H, wc uint8, words []byte, bc uint16, data []byte) []byte {
	return cat(h.bytes(), []byte{wc}, words, le16(bc), data)
}

// smb2Hdr builds an SMB2 sync header (MS-SMB2 2.2.1.2) as Windows sends it before a session:
// CreditCharge 1, CreditRequest 31, ProcessId 0xfeff.
func smb2Hdr(cmd uint16, flags uint32, msgID uint64) []byte {
	return cat(hx("fe 53 4d 42", "40 00", "01 00", "00 00 00 00"), le16(cmd), le16(31), le32(flags),
		le32(0), binary.LittleEndian.AppendUint64(nil, msgID), le32(0xfeff), le32(0), zeros(8), zeros(16))
}

var clientGUID = hx("d2 85 19 60 d9 aa e7 11 94 84 08 00 27 7f b5 8b") // from smb-win-net-user-samr-over-smb2.pcap

// smb2NegBody builds a NEGOTIATE request body (MS-SMB2 2.2.3): signing enabled, capabilities
// caps, the 8 bytes after ClientGuid given by tail (ClientStartTime, or the negotiate context
// offset, count and reserved for 3.1.1), then the dialects.
func smb2NegBody(size, count uint16, caps uint32, tail []byte, dialects ...uint16) []byte {
	b := cat(le16(size), le16(count), le16(1), le16(0), le32(caps), clientGUID, tail)
	for _, d := range dialects {
		b = append(b, le16(d)...)
	}
	return b
}

// smb2Neg is an SMB2 NEGOTIATE request offering dialects, without negotiate contexts.
func smb2Neg(dialects ...uint16) []byte {
	return cat(smb2Hdr(0, 0, 0), smb2NegBody(36, uint16(len(dialects)), 0, zeros(8), dialects...))
}

// smb2Neg311 is a Windows 10 NEGOTIATE offering 2.0.2 to 3.1.1 with preauth-integrity and
// encryption contexts (MS-SMB2 2.2.3.1), as in smb2-only-negotiate-nonzero-reserved-win-lan.pcap.
func smb2Neg311() []byte {
	ds := []uint16{0x0202, 0x0210, 0x0300, 0x0302, 0x0311}
	body := smb2NegBody(36, 5, 0x7f, cat(le32(0x70), le16(2), le16(0)), ds...) // contexts at 0x70
	preauth := cat(le16(1), le16(38), zeros(4), le16(1), le16(32), le16(1), bytes.Repeat([]byte{0x5a}, 32))
	encrypt := cat(le16(2), le16(6), zeros(4), le16(2), le16(2), le16(1)) // AES-128-GCM, AES-128-CCM
	return cat(smb2Hdr(0, 0, 0), body, zeros(2), preauth, zeros(2), encrypt)
}

// nbss frames a message in a session message (RFC 1002 4.3.1; lengths up to 17 bits).
func nbss(typ uint8, msg []byte) []byte {
	return cat([]byte{typ, byte(len(msg) >> 16 & 1)}, be16(uint16(len(msg))), msg)
}

// ms09050PoC is the request of the public MS09-050 proof of concept (Laurent Gaffié, Full
// Disclosure, September 2009; reused by nmap's smb-vuln-cve2009-3103 and Metasploit), written out
// field by field. The PoC's comment calls bytes 12-13, "\x00\x26", the Process ID High; the field
// is little-endian (MS-CIFS 2.2.3.1), so PIDHigh is 0x2600 (9728), not 0x0026: the '&' (0x26)
// the CVE text mentions is its high byte.
var ms09050PoC = cat(hx(
	"00 00 00 90",             // NBSS session message, 144 bytes
	"ff 53 4d 42",             // \xffSMB
	"72",                      // SMB_COM_NEGOTIATE
	"00 00 00 00",             // status
	"18",                      // flags: canonicalized paths, case-insensitive
	"53 c8",                   // flags2 0xc853
	"00 26",                   // PIDHigh 0x2600
	"00 00 00 00 00 00 00 00", // security features
	"00 00",                   // reserved
	"ff ff",                   // TID 0xffff
	"ff fe",                   // PIDLow 0xfeff
	"00 00",                   // UID
	"00 00",                   // MID
	"00",                      // WordCount 0
	"6d 00",                   // ByteCount 109
), []byte("\x02PC NETWORK PROGRAM 1.0\x00\x02LANMAN1.0\x00\x02Windows for Workgroups 3.1a\x00"+
	"\x02LM1.2X002\x00\x02LANMAN2.1\x00\x02NT LM 0.12\x00\x02SMB 2.002\x00"))

// ---------------------------------------------------------------------------------------------
// Table.

type smbCase struct {
	name  string
	msg   []byte
	ok    bool      // ParseSMBNegotiate's result
	want  []Anomaly // in the order found
	check func(t *testing.T, n *SMBNegotiate, msg []byte)
}

// dialects checks the kept dialect strings and the count of all of them.
func dialects(total int, want ...string) func(*testing.T, *SMBNegotiate, []byte) {
	return func(t *testing.T, n *SMBNegotiate, msg []byte) {
		t.Helper()
		eq(t, "NumDialects", n.NumDialects, total)
		var got []string
		for _, s := range n.Dialects[:min(n.NumDialects, MaxSMBDialects)] {
			got = append(got, string(s.Of(msg)))
		}
		if !slices.Equal(got, want) {
			t.Errorf("Dialects = %q, want %q", got, want)
		}
	}
}

// offers checks the "SMB 2." dialect found ("" for none).
func offers(want string) func(*testing.T, *SMBNegotiate, []byte) {
	return func(t *testing.T, n *SMBNegotiate, msg []byte) {
		t.Helper()
		eq(t, "SMB2Dialect", string(n.SMB2Dialect.Of(msg)), want)
		eq(t, "OffersSMB2", n.OffersSMB2(), want != "")
	}
}

// smb2Dialects checks the SMB2 counts and the dialect codes kept.
func smb2Dialects(count uint16, want ...uint16) func(*testing.T, *SMBNegotiate, []byte) {
	return func(t *testing.T, n *SMBNegotiate, _ []byte) {
		t.Helper()
		eq(t, "DialectCount", n.DialectCount, count)
		if got := n.SMB2Dialects[:n.NumSMB2Dialects]; !slices.Equal(got, want) {
			t.Errorf("SMB2Dialects = %#x, want %#x", got, want)
		}
	}
}

func smbChecks(cs ...func(*testing.T, *SMBNegotiate, []byte)) func(*testing.T, *SMBNegotiate, []byte) {
	return func(t *testing.T, n *SMBNegotiate, msg []byte) {
		t.Helper()
		for _, c := range cs {
			c(t, n, msg)
		}
	}
}

func manyDialects(n int) []string {
	ds := make([]string, n)
	for i := range ds {
		ds[i] = "DIALECT " + string(rune('A'+i%26)) + string(rune('a'+i/26))
	}
	return ds
}

func smbCases() []smbCase {
	dialect20 := manyDialects(20)
	dialect20[17] = "SMB 2.002"
	smb2Of20 := make([]uint16, 20)
	for i := range smb2Of20 {
		smb2Of20[i] = 0x0200 + uint16(i)
	}
	cases := []smbCase{
		// Clients as they are.
		{name: "smb1 windows 7 multi-protocol", msg: smb1Neg(hdrWin7, dialectBytes(dialectsWin7...)), ok: true,
			check: smbChecks(dialects(8, dialectsWin7...), offers("SMB 2.002"), func(t *testing.T, n *SMBNegotiate, _ []byte) {
				eq(t, "Version", n.Version, uint8(1))
				eq(t, "PIDHigh", n.PIDHigh, uint16(0))
				eq(t, "PIDLow", n.PIDLow, uint16(0xfeff))
				eq(t, "TID", n.TID, uint16(0xffff))
				eq(t, "Flags", n.Flags, uint8(0x18))
				eq(t, "Flags2", n.Flags2, uint16(0xc853))
				eq(t, "ByteCount", n.ByteCount, uint16(len(dialectBytes(dialectsWin7...))))
			})},
		{name: "smb1 ms09-050 poc", msg: ms09050PoC[4:], ok: true,
			check: smbChecks(dialects(7, dialectsWin7[:7]...), offers("SMB 2.002"), func(t *testing.T, n *SMBNegotiate, _ []byte) {
				eq(t, "PIDHigh", n.PIDHigh, uint16(0x2600))
				eq(t, "PIDLow", n.PIDLow, uint16(0xfeff))
				eq(t, "ByteCount", n.ByteCount, uint16(109))
			})},
		{name: "smb1 poc shape, pidhigh 0x0026 (the poc bytes read big-endian)", msg: smb1Neg(smb1H{cmd: 0x72, flags: 0x18, flags2: 0xc853, pidHigh: 0x0026,
			tid: 0xffff, pidLow: 0xfeff}, dialectBytes(dialectsWin7[:7]...)), ok: true,
			check: smbChecks(offers("SMB 2.002"), func(t *testing.T, n *SMBNegotiate, _ []byte) {
				eq(t, "PIDHigh", n.PIDHigh, uint16(0x0026))
			})},
		{name: "smb1 legacy lanman only", msg: smb1Neg(hdrScapy, dialectBytes("PC NETWORK PROGRAM 1.0", "LANMAN1.0", "LM1.2X002", "LANMAN2.1")),
			ok: true, check: smbChecks(dialects(4, "PC NETWORK PROGRAM 1.0", "LANMAN1.0", "LM1.2X002", "LANMAN2.1"), offers(""),
				func(t *testing.T, n *SMBNegotiate, _ []byte) {
					eq(t, "PIDLow", n.PIDLow, uint16(0x1234))
					eq(t, "MID", n.MID, uint16(1))
				})},
		{name: "smb1 samba smbclient", msg: smb1Neg(hdrSamba, dialectBytes(dialectsSamba...)), ok: true,
			check: smbChecks(dialects(10, dialectsSamba...), offers(""))},
		{name: "smb1 nt lm 0.12 only", msg: smb1Neg(smb1H{cmd: 0x72, flags: 0x18, flags2: 0xd805, tid: 0xffff, pidLow: 1, uid: 0xffff, mid: 1},
			dialectBytes("NT LM 0.12")), ok: true,
			check: smbChecks(dialects(1, "NT LM 0.12"), offers(""), func(t *testing.T, n *SMBNegotiate, _ []byte) {
				eq(t, "UID", n.UID, uint16(0xffff))
			})},
		{name: "smb1 wildcard only", msg: smb1Neg(hdrWin7, dialectBytes("NT LM 0.12", "SMB 2.???")), ok: true,
			check: offers("SMB 2.???")},
		{name: "smb1 smb2 dialect after the kept ones", msg: smb1Neg(hdrWin7, dialectBytes(dialect20...)), ok: true,
			check: smbChecks(dialects(20, dialect20[:16]...), offers("SMB 2.002"))},
		{name: "smb1 no dialects", msg: smb1Neg(hdrWin7, nil), ok: true, check: smbChecks(dialects(0), offers(""))},
		{name: "smb1 empty dialect string", msg: smb1Neg(hdrWin7, dialectBytes("", "NT LM 0.12")), ok: true,
			check: dialects(2, "", "NT LM 0.12")},
		{name: "smb1 64 dialects", msg: smb1Neg(hdrWin7, dialectBytes(manyDialects(SMBTooManyDialects)...)), ok: true,
			check: dialects(64, manyDialects(16)...)},

		// Nothing to judge.
		{name: "smb1 negotiate response", msg: smb1Raw(smb1H{cmd: 0x72, flags: 0x98, flags2: 0xc853, tid: 0xffff, pidLow: 0xfeff},
			17, cat(le16(5), zeros(32)), 0, nil)},
		{name: "smb1 session setup andx", msg: smb1Raw(smb1H{cmd: 0x73, flags: 0x18, flags2: 0xc807, pidLow: 0xfeff, mid: 2},
			12, cat(hx("ff 00 00 00"), le16(0x4104), le16(50), le16(0), le32(0), le16(0x4a), le32(0), le32(0x800000d4)), 0x4a, zeros(0x4a))},
		{name: "smb1 pidhigh nonzero outside negotiate", msg: smb1Raw(smb1H{cmd: 0x25, flags: 0x18, flags2: 0xc807, pidHigh: 33005, tid: 1, pidLow: 2, uid: 3, mid: 4},
			16, zeros(32), 0, nil)},
		{name: "http", msg: []byte("GET / HTTP/1.1\r\nHost: fileserver\r\n\r\n")},
		{name: "empty"},
		{name: "smb3 transform header", msg: cat(hx("fd 53 4d 42"), zeros(60))},
		{name: "smb3 compression header", msg: cat(hx("fc 53 4d 42"), zeros(60))},
		{name: "ff then not smb", msg: cat(hx("ff 53 4d 43"), zeros(40))},
		{name: "fe then not smb, short", msg: hx("fe 53 4e")},
		{name: "smb2 negotiate response", msg: cat(smb2Hdr(0, 1, 0), le16(65), zeros(63))},
		{name: "smb2 session setup", msg: cat(smb2Hdr(1, 0, 1), le16(25), zeros(23))},

		// Header cut short: an SMB message, too short to tell its command.
		{name: "smb1 header 31 bytes", msg: smb1Neg(hdrWin7, nil)[:31], ok: true, want: []Anomaly{SMBHeaderTruncated}},
		{name: "smb1 protocol id only", msg: hx("ff 53 4d 42"), ok: true, want: []Anomaly{SMBHeaderTruncated}},
		{name: "smb1 protocol id prefix", msg: hx("ff 53"), ok: true, want: []Anomaly{SMBHeaderTruncated}},
		{name: "smb2 header 63 bytes", msg: smb2Neg(0x0202)[:63], ok: true, want: []Anomaly{SMBHeaderTruncated},
			check: func(t *testing.T, n *SMBNegotiate, _ []byte) { eq(t, "Version", n.Version, uint8(2)) }},
		{name: "smb2 protocol id first byte", msg: hx("fe"), ok: true, want: []Anomaly{SMBHeaderTruncated}},

		// SMB1 anomalies, each alone.
		{name: "smb1 word count 1", msg: smb1Raw(hdrWin7, 1, le16(0xbeef), uint16(len(dialectBytes(dialectsWin7...))), dialectBytes(dialectsWin7...)),
			ok: true, want: []Anomaly{SMBNegWordCount}, check: smbChecks(dialects(8, dialectsWin7...), offers("SMB 2.002"))},
		{name: "smb1 byte count overrun", msg: smb1Raw(hdrWin7, 0, nil, 200, dialectBytes(dialectsWin7...)),
			ok: true, want: []Anomaly{SMBNegByteCountOverrun}, check: smbChecks(dialects(8, dialectsWin7...), offers("SMB 2.002"))},
		// The cut string is kept, and is an "SMB 2." dialect: the rest of it may follow.
		{name: "smb1 byte count overrun, string cut", msg: smb1Raw(hdrWin7, 0, nil, 200, dialectBytes("NT LM 0.12", "SMB 2.002")[:20]),
			ok: true, want: []Anomaly{SMBNegByteCountOverrun}, check: smbChecks(dialects(2, "NT LM 0.12", "SMB 2.0"), offers("SMB 2.0"))},
		{name: "smb1 no word count", msg: hdrWin7.bytes(), ok: true, want: []Anomaly{SMBNegByteCountOverrun}},
		{name: "smb1 no byte count", msg: cat(hdrWin7.bytes(), []byte{0}), ok: true, want: []Anomaly{SMBNegByteCountOverrun}},
		{name: "smb1 half a byte count", msg: cat(hdrWin7.bytes(), []byte{0, 0x10}), ok: true, want: []Anomaly{SMBNegByteCountOverrun}},
		{name: "smb1 dialect format", msg: smb1Neg(hdrWin7, cat(dialectBytes("NT LM 0.12"), hx("03"), []byte("SMB 2.002\x00"))),
			ok: true, want: []Anomaly{SMBNegDialectFormat}, check: smbChecks(dialects(1, "NT LM 0.12"), offers(""))},
		{name: "smb1 dialect unterminated", msg: smb1Neg(hdrWin7, cat(dialectBytes("NT LM 0.12"), []byte("\x02SMB 2.002"))),
			ok: true, want: []Anomaly{SMBNegDialectUnterm}, check: smbChecks(dialects(2, "NT LM 0.12", "SMB 2.002"), offers("SMB 2.002"))},
		{name: "smb1 too many dialects", msg: smb1Neg(hdrWin7, dialectBytes(manyDialects(SMBTooManyDialects+1)...)),
			ok: true, want: []Anomaly{SMBNegTooManyDialects}, check: dialects(65, manyDialects(16)...)},
		{name: "smb1 trailing bytes", msg: cat(smb1Neg(hdrWin7, dialectBytes(dialectsWin7...)), zeros(4)),
			ok: true, want: []Anomaly{NBSSLengthMismatch}, check: smbChecks(dialects(8, dialectsWin7...), offers("SMB 2.002"))},

		// SMB1 anomalies together.
		{name: "smb1 words run past the message", msg: cat(hdrWin7.bytes(), []byte{2, 0, 0}), ok: true,
			want: []Anomaly{SMBNegWordCount, SMBNegByteCountOverrun}},
		{name: "smb1 dialect crossing the byte count", msg: smb1Raw(hdrWin7, 0, nil, 13, dialectBytes("NT LM 0.12", "SMB 2.002")),
			ok: true, want: []Anomaly{NBSSLengthMismatch, SMBNegDialectUnterm}, check: smbChecks(dialects(2, "NT LM 0.12", ""), offers(""))},
		{name: "smb1 everything", msg: func() []byte {
			data := cat(dialectBytes(manyDialects(70)...), hx("41 42"))
			return smb1Raw(hdrWin7, 3, zeros(6), uint16(len(data)+10), data)
		}(), ok: true, want: []Anomaly{SMBNegWordCount, SMBNegByteCountOverrun, SMBNegTooManyDialects, SMBNegDialectFormat},
			check: dialects(70, manyDialects(16)...)},

		// SMB2.
		{name: "smb2 windows 7, 2 dialects", msg: smb2Neg(0x0202, 0x0210), ok: true, check: smbChecks(smb2Dialects(2, 0x0202, 0x0210),
			offers(""), func(t *testing.T, n *SMBNegotiate, _ []byte) {
				eq(t, "Version", n.Version, uint8(2))
				eq(t, "StructureSize", n.StructureSize, uint16(36))
			})},
		{name: "smb2 windows 10, 5 dialects and contexts", msg: smb2Neg311(), ok: true,
			check: smb2Dialects(5, 0x0202, 0x0210, 0x0300, 0x0302, 0x0311)},
		{name: "smb2 3.1.1 only", msg: smb2Neg(0x0311), ok: true, check: smb2Dialects(1, 0x0311)},
		{name: "smb2 20 dialects", msg: smb2Neg(smb2Of20...), ok: true, check: smb2Dialects(20, smb2Of20[:16]...)},
		{name: "smb2 structure size", msg: cat(smb2Hdr(0, 0, 0), smb2NegBody(37, 2, 0, zeros(8), 0x0202, 0x0210)),
			ok: true, want: []Anomaly{SMB2NegStructureSize}, check: smb2Dialects(2, 0x0202, 0x0210)},
		{name: "smb2 dialect count zero", msg: smb2Neg(), ok: true, want: []Anomaly{SMB2NegDialectCountZero}, check: smb2Dialects(0)},
		{name: "smb2 dialects overrun", msg: cat(smb2Hdr(0, 0, 0), smb2NegBody(36, 5, 0, zeros(8), 0x0202, 0x0210, 0x0300), hx("02")),
			ok: true, want: []Anomaly{SMB2NegDialectsOverrun}, check: smb2Dialects(5, 0x0202, 0x0210, 0x0300)},
		{name: "smb2 body cut", msg: smb2Neg(0x0202)[:64+10], ok: true, want: []Anomaly{SMB2NegDialectsOverrun},
			check: func(t *testing.T, n *SMBNegotiate, _ []byte) { eq(t, "StructureSize", n.StructureSize, uint16(36)) }},
		{name: "smb2 header only", msg: smb2Neg(0x0202)[:64], ok: true, want: []Anomaly{SMB2NegDialectsOverrun},
			check: smb2Dialects(0)},
		{name: "smb2 everything", msg: cat(smb2Hdr(0, 0, 0), le16(0), le16(0), zeros(10)), ok: true,
			want: []Anomaly{SMB2NegStructureSize, SMB2NegDialectCountZero, SMB2NegDialectsOverrun}},
	}
	return cases
}

func TestSMBNegotiate(t *testing.T) {
	for _, c := range smbCases() {
		t.Run(c.name, func(t *testing.T) {
			var n SMBNegotiate
			n.PIDHigh, n.NumDialects = 0x4141, 99 // stale values must not survive
			n.Anomalies.Add(SMBNegWordCount)
			ok := ParseSMBNegotiate(c.msg, &n)
			if ok != c.ok {
				t.Fatalf("ParseSMBNegotiate = %v, want %v", ok, c.ok)
			}
			if got := n.Anomalies.List(); !slices.Equal(got, c.want) {
				t.Errorf("anomalies = %v, want %v", got, c.want)
			}
			if !ok && n != (SMBNegotiate{}) {
				t.Errorf("out not reset on false: %+v", n)
			}
			if c.check != nil {
				c.check(t, &n, c.msg)
			}
			checkSMBInvariants(t, c.msg, ok, &n)
		})
	}
}

// TestSMBAnomaliesHaveCases: every code the SMB parser raises has a case raising it alone, and
// one case raises all four that can coincide (the Anomalies list keeps four).
func TestSMBAnomaliesHaveCases(t *testing.T) {
	alone := map[Anomaly]bool{}
	for _, c := range smbCases() {
		if len(c.want) == 1 {
			alone[c.want[0]] = true
		}
	}
	for _, a := range []Anomaly{NBSSLengthMismatch, SMBHeaderTruncated, SMBNegWordCount, SMBNegByteCountOverrun,
		SMBNegDialectFormat, SMBNegDialectUnterm, SMBNegTooManyDialects, SMB2NegStructureSize,
		SMB2NegDialectCountZero, SMB2NegDialectsOverrun} {
		if !alone[a] {
			t.Errorf("no case raises exactly %s", a)
		}
	}
}

// checkSMBInvariants holds for any input: spans within msg, counts within their arrays, the
// SMB2 dialect found among the dialects, each anomaly once, Version matching the protocol id.
func checkSMBInvariants(t *testing.T, msg []byte, ok bool, n *SMBNegotiate) {
	t.Helper()
	if !ok {
		if *n != (SMBNegotiate{}) {
			t.Fatalf("false but out set: %+v", *n)
		}
		return
	}
	if want := map[byte]uint8{0xff: 1, 0xfe: 2}[msg[0]]; n.Version != want {
		t.Fatalf("Version %d for protocol id byte %#x", n.Version, msg[0])
	}
	inMsg := func(what string, s Span) {
		if uint64(s.Off)+uint64(s.Len) > uint64(len(msg)) {
			t.Fatalf("%s %+v outside a %d-byte message", what, s, len(msg))
		}
	}
	kept := min(n.NumDialects, MaxSMBDialects)
	for i, s := range n.Dialects {
		inMsg("Dialects[i]", s)
		if i >= kept && s != (Span{}) {
			t.Fatalf("Dialects[%d] = %+v beyond NumDialects %d", i, s, n.NumDialects)
		}
		if i < kept && (s.Off == 0 || msg[s.Off-1] != smbDialectFmt || bytes.IndexByte(s.Of(msg), 0) >= 0) {
			t.Fatalf("Dialects[%d] = %+v is not a dialect string", i, s)
		}
	}
	inMsg("SMB2Dialect", n.SMB2Dialect)
	if n.SMB2Dialect.Len != 0 && !bytes.HasPrefix(n.SMB2Dialect.Of(msg), []byte("SMB 2.")) {
		t.Fatalf("SMB2Dialect %q", n.SMB2Dialect.Of(msg))
	}
	if n.NumDialects < 0 || n.NumDialects > len(msg)/2 {
		t.Fatalf("NumDialects %d for %d bytes", n.NumDialects, len(msg))
	}
	if n.NumSMB2Dialects < 0 || n.NumSMB2Dialects > int(n.DialectCount) || n.NumSMB2Dialects > MaxSMB2Dialects {
		t.Fatalf("NumSMB2Dialects %d, DialectCount %d", n.NumSMB2Dialects, n.DialectCount)
	}
	if 64+36+2*n.NumSMB2Dialects > len(msg) && n.NumSMB2Dialects > 0 {
		t.Fatalf("%d SMB2 dialects kept from a %d-byte message", n.NumSMB2Dialects, len(msg))
	}
	if n.OffersSMB2() && n.Version != 1 {
		t.Fatalf("OffersSMB2 on version %d", n.Version)
	}
	seen := map[Anomaly]bool{}
	for _, a := range n.Anomalies.List() {
		if seen[a] {
			t.Fatalf("%s twice in %v", a, n.Anomalies.List())
		}
		seen[a] = true
	}
}

// ---------------------------------------------------------------------------------------------
// NetBIOS session service.

func TestNBSSHeader(t *testing.T) {
	cases := []struct {
		name   string
		b      []byte
		typ    uint8
		length int
		ok     bool
		valid  bool
	}{
		{"ms09-050 poc", ms09050PoC, NBSSMessage, 0x90, true, true},
		{"session message 17th length bit", hx("00 01 00 10"), NBSSMessage, 0x10010, true, true},
		{"largest rfc 1002 length", hx("00 01 ff ff"), NBSSMessage, 0x1ffff, true, true},
		{"reserved flag bits ignored", hx("00 fe 00 10"), NBSSMessage, 0x10, true, true},
		{"session request", cat(hx("81 00 00 44"), zeros(0x44)), NBSSRequest, 0x44, true, true},
		{"positive response", hx("82 00 00 00"), NBSSPositive, 0, true, true},
		{"negative response", hx("83 00 00 01 8f"), NBSSNegative, 1, true, true},
		{"retarget response", hx("84 00 00 06 c0 a8 01 0a 00 8b"), NBSSRetarget, 6, true, true},
		{"keep alive", hx("85 00 00 00"), NBSSKeepAlive, 0, true, true},
		{"unknown type 0x86", hx("86 00 00 00"), 0x86, 0, true, false},
		{"unknown type 0x01", hx("01 00 00 08"), 0x01, 8, true, false},
		{"unknown type 0xff (an smb1 message without nbss)", smb1Neg(hdrWin7, nil), 0xff, 0x14d42, true, false},
		{"three bytes", hx("00 00 00"), 0, 0, false, false},
		{"empty", nil, 0, 0, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			typ, length, ok := ParseNBSSHeader(c.b)
			if typ != c.typ || length != c.length || ok != c.ok {
				t.Errorf("ParseNBSSHeader = %#x, %d, %v; want %#x, %d, %v", typ, length, ok, c.typ, c.length, c.ok)
			}
			if ok && ValidNBSSType(typ) != c.valid {
				t.Errorf("ValidNBSSType(%#x) = %v, want %v", typ, !c.valid, c.valid)
			}
		})
	}
	for typ := range 256 {
		want := typ == 0 || typ >= 0x81 && typ <= 0x85
		if ValidNBSSType(uint8(typ)) != want {
			t.Errorf("ValidNBSSType(%#x) = %v", typ, !want)
		}
	}
	// The PoC's NBSS length is its SMB message's.
	if _, l, _ := ParseNBSSHeader(ms09050PoC); l != len(ms09050PoC)-NBSSHeaderLen {
		t.Errorf("PoC NBSS length %d for a %d-byte message", l, len(ms09050PoC)-NBSSHeaderLen)
	}
	// The framing builder agrees with the parser, up to the 17-bit limit.
	for _, l := range []int{0, 1, 0xffff, 0x10000, 0x1ffff} {
		if _, got, _ := ParseNBSSHeader(nbss(0, make([]byte, l))); got != l {
			t.Errorf("length %d read back as %d", l, got)
		}
	}
}

func TestSpanOf(t *testing.T) {
	msg := []byte("0123456789")
	for _, c := range []struct {
		s    Span
		want string
		nil_ bool
	}{
		{Span{0, 0}, "", false},
		{Span{2, 3}, "234", false},
		{Span{0, 10}, "0123456789", false},
		{Span{10, 0}, "", false},
		{Span{9, 2}, "", true},
		{Span{11, 0}, "", true},
		{Span{0xffffffff, 2}, "", true},
	} {
		got := c.s.Of(msg)
		if string(got) != c.want || (got == nil) != c.nil_ {
			t.Errorf("%+v.Of = %q (nil %v), want %q (nil %v)", c.s, got, got == nil, c.want, c.nil_)
		}
		if got != nil && cap(got) != len(got) {
			t.Errorf("%+v.Of has capacity %d beyond its length %d", c.s, cap(got), len(got))
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The shared captures.

// smbCorpusWant is how many NEGOTIATE requests each SMB capture holds at the start of an NBSS
// message (SMB1, SMB2, SMB1 offering an "SMB 2." dialect), as the walker below finds them.
// smb-win-copy-file-to-admin-share.pcap starts with the client's SMB2 NEGOTIATE: its SMB1
// multi-protocol negotiate, which SOURCES.md mentions, is not in the file.
var smbCorpusWant = map[string][3]int{
	"smb-win-copy-file-to-admin-share.pcap":             {0, 1, 0},
	"smb-win-net-user-samr-over-smb2.pcap":              {1, 1, 1},
	"smb-win-psexec-svcctl-over-smb2.pcap":              {1, 2, 1},
	"smb1-multiproto-neg-to-smb311-contexts.pcap":       {1, 1, 1},
	"smb1-neg-smb2002-to-smb2-session-srvsvc.pcap":      {1, 0, 1},
	"smb1-negotiate-krb-session-vlan.pcap":              {1, 0, 0},
	"smb1-negotiate-legacy-lanman-dialects.pcap":        {1, 0, 0},
	"smb1-smbclient-loopback.pcap":                      {1, 0, 0},
	"smb1-writeandx-padding-linux-sll.pcap":             {1, 0, 0},
	"smb2-only-negotiate-nonzero-reserved-win-lan.pcap": {1, 4, 1},
	"smb3-multichannel-bulk.pcap":                       {0, 4, 0},
	"smb311-compression-transform-smbghost.pcap":        {0, 1, 0},
	"smb311-negotiate-ntlm-session.pcap":                {0, 1, 0},
}

// TestSMBNegotiateCorpus walks the SMB captures of the shared corpus (benign, per SOURCES.md)
// and checks that every NEGOTIATE request in them parses without an anomaly and with PIDHigh 0,
// that every NBSS message type is one RFC 1002 defines, and how many requests each file holds.
func TestSMBNegotiateCorpus(t *testing.T) {
	dir, all := corpusDir()
	var files []string
	for _, f := range all {
		if strings.HasPrefix(filepath.Base(f), "smb") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		msg := "no SMB captures in the shared corpus (looked in " + dir + "; set IDS_SHARED_PCAPS)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var total [3]int
	for _, file := range files {
		name := filepath.Base(file)
		var got [3]int
		err := walkNBSS(file, func(rec int, typ uint8, msg []byte) {
			if !ValidNBSSType(typ) {
				t.Errorf("%s record %d: NBSS type %#x", name, rec, typ)
			}
			var n SMBNegotiate
			if typ != NBSSMessage || !ParseSMBNegotiate(msg, &n) {
				return
			}
			got[n.Version-1]++
			if n.OffersSMB2() {
				got[2]++
			}
			if a := n.Anomalies.List(); len(a) != 0 {
				t.Errorf("%s record %d: SMB%d NEGOTIATE with anomalies %v", name, rec, n.Version, a)
			}
			if n.PIDHigh != 0 {
				t.Errorf("%s record %d: PIDHigh %#x", name, rec, n.PIDHigh)
			}
			checkSMBInvariants(t, msg, true, &n)
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if want, known := smbCorpusWant[name]; known && got != want {
			t.Errorf("%s: found %v NEGOTIATE requests (SMB1, SMB2, offering SMB 2.x), want %v", name, got, want)
		}
		for i := range got {
			total[i] += got[i]
		}
		t.Logf("%s: %d SMB1, %d SMB2 NEGOTIATE requests, %d offering SMB 2.x", name, got[0], got[1], got[2])
	}
	if len(files) >= len(smbCorpusWant) && (total[0] < 9 || total[1] < 14 || total[2] < 5) {
		t.Errorf("found %v NEGOTIATE requests (SMB1, SMB2, offering SMB 2.x), want at least [9 14 5]", total)
	}
}

// walkNBSS calls fn with each NBSS message of the TCP port 139 and 445 streams in file, found by
// following message lengths from the first payload byte of each direction in sequence order (a
// segment after a gap, or cut by the snap length, ends that direction's walk). Messages longer
// than 64 KiB are passed as nil. On 445 the length has 24 bits (MS-SMB2 2.1 direct TCP).
func walkNBSS(file string, fn func(rec int, typ uint8, msg []byte)) error {
	f, err := capture.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	type dirKey struct {
		src, dst     netip.Addr
		sport, dport uint16
	}
	dirs := map[dirKey]*nbssStream{}
	var p Packet
	for {
		data, info, err := f.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
		if !p.Has(LayerTCP) {
			continue
		}
		srv := p.DstPort
		if p.SrcPort == 139 || p.SrcPort == 445 {
			srv = p.SrcPort
		}
		if srv != 139 && srv != 445 {
			continue
		}
		k := dirKey{p.Src, p.Dst, p.SrcPort, p.DstPort}
		d := dirs[k]
		if d == nil {
			d = &nbssStream{direct: srv == 445}
			dirs[k] = d
		}
		rec := f.Records()
		d.segment(&p, func(typ uint8, msg []byte) { fn(rec, typ, msg) })
	}
}

// nbssStream follows one direction of a TCP connection message by message.
type nbssStream struct {
	direct       bool // port 445: 24-bit lengths
	synced, lost bool
	next         uint32 // sequence number of the next byte expected
	hdr          [NBSSHeaderLen]byte
	hdrN         int
	remain       int // bytes of the current message still to come
	keep         bool
	msg          []byte
}

func (d *nbssStream) segment(p *Packet, emit func(typ uint8, msg []byte)) {
	if p.TCP.Flags&TCPSyn != 0 {
		d.synced, d.next = true, p.TCP.Seq+1
		return
	}
	pl := p.Payload
	if len(pl) == 0 || d.lost {
		return
	}
	if len(pl) != p.TCP.SegLen {
		d.lost = true
		return
	}
	if !d.synced {
		d.synced, d.next = true, p.TCP.Seq
	}
	off := int32(d.next - p.TCP.Seq)
	switch {
	case off < 0:
		d.lost = true
		return
	case int(off) >= len(pl):
		return // retransmission
	}
	pl = pl[off:]
	d.next += uint32(len(pl))
	for len(pl) > 0 {
		if d.hdrN < NBSSHeaderLen {
			k := copy(d.hdr[d.hdrN:], pl)
			d.hdrN += k
			pl = pl[k:]
			if d.hdrN < NBSSHeaderLen {
				return
			}
			_, l, _ := ParseNBSSHeader(d.hdr[:])
			if d.direct {
				l = int(d.hdr[1])<<16 | int(binary.BigEndian.Uint16(d.hdr[2:]))
			}
			d.remain, d.keep, d.msg = l, l <= 1<<16, d.msg[:0]
		}
		k := min(d.remain, len(pl))
		if d.keep {
			d.msg = append(d.msg, pl[:k]...)
		}
		pl, d.remain = pl[k:], d.remain-k
		if d.remain == 0 {
			var msg []byte
			if d.keep {
				msg = d.msg
			}
			emit(d.hdr[0], msg)
			d.hdrN = 0
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Allocations, speed, fuzzing.

func TestSMBNegotiateAllocs(t *testing.T) {
	cases := smbCases()
	var n SMBNegotiate
	allocs := testing.AllocsPerRun(100, func() {
		for _, c := range cases {
			ParseSMBNegotiate(c.msg, &n)
			_ = n.OffersSMB2()
			_ = n.SMB2Dialect.Of(c.msg)
			ParseNBSSHeader(c.msg)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run of %d messages, want 0", allocs, len(cases))
	}
}

func BenchmarkSMBNegotiate(b *testing.B) {
	for _, k := range []struct {
		name string
		msg  []byte
	}{
		{"smb1_windows7", smb1Neg(hdrWin7, dialectBytes(dialectsWin7...))},
		{"smb1_ms09050_poc", ms09050PoC[4:]},
		{"smb1_samba", smb1Neg(hdrSamba, dialectBytes(dialectsSamba...))},
		{"smb2_windows10", smb2Neg311()},
		{"not_negotiate", smb1Raw(smb1H{cmd: 0x73, flags: 0x18}, 0, nil, 0, nil)},
	} {
		b.Run(k.name, func(b *testing.B) {
			var n SMBNegotiate
			b.ReportAllocs()
			b.SetBytes(int64(len(k.msg)))
			for b.Loop() {
				ParseSMBNegotiate(k.msg, &n)
			}
		})
	}
}

// FuzzSMBNegotiate: no panic, the invariants of checkSMBInvariants, and the same result from a
// fresh and a reused SMBNegotiate. The NBSS header parser runs on the same bytes.
func FuzzSMBNegotiate(f *testing.F) {
	for _, c := range smbCases() {
		f.Add(c.msg)
	}
	f.Add(ms09050PoC)
	f.Fuzz(func(t *testing.T, msg []byte) {
		var first SMBNegotiate
		ok := ParseSMBNegotiate(msg, &first)
		checkSMBInvariants(t, msg, ok, &first)
		again := first
		again.Anomalies.Add(SMBNegWordCount)
		again.NumDialects++
		if ok2 := ParseSMBNegotiate(msg, &again); ok2 != ok || again != first {
			t.Fatalf("second parse differs:\n got %v %+v\nwant %v %+v", ok2, again, ok, first)
		}
		if typ, l, ok := ParseNBSSHeader(msg); ok && (l < 0 || l > 0x1ffff || typ != msg[0]) {
			t.Fatalf("ParseNBSSHeader(% x) = %#x, %d", msg[:4], typ, l)
		} else if !ok && len(msg) >= NBSSHeaderLen {
			t.Fatalf("ParseNBSSHeader not ok on %d bytes", len(msg))
		}
	})
}
