package decode

import (
	"bytes"
	"encoding/binary"
)

// NetBIOS session service message types (RFC 1002 4.3.1). On TCP 139 every SMB message travels
// in a session message. TCP 445 (direct TCP, MS-SMB2 2.1) keeps the 4-byte header, always with
// type 0, but its length has 24 bits (the flags byte is the length's high byte).
const (
	NBSSMessage   = 0x00 // SESSION MESSAGE: carries one SMB message
	NBSSRequest   = 0x81 // SESSION REQUEST (called and calling NetBIOS names)
	NBSSPositive  = 0x82 // POSITIVE SESSION RESPONSE
	NBSSNegative  = 0x83 // NEGATIVE SESSION RESPONSE
	NBSSRetarget  = 0x84 // RETARGET SESSION RESPONSE
	NBSSKeepAlive = 0x85 // SESSION KEEP ALIVE
)

// NBSSHeaderLen is the size of the session service header (RFC 1002 4.3.1).
const NBSSHeaderLen = 4

// ParseNBSSHeader reads a session service header (RFC 1002 4.3.1): type, flags, length. Bit 0 of
// flags (the E bit) is bit 16 of the length, so a message holds at most 131071 bytes; the other
// flag bits are reserved and ignored here. ok is false when b holds fewer than 4 bytes. On TCP
// 445 a message may be longer: there the length is b[1]<<16 | b[2]<<8 | b[3] (MS-SMB2 2.1).
func ParseNBSSHeader(b []byte) (typ uint8, length int, ok bool) {
	if len(b) < NBSSHeaderLen {
		return 0, 0, false
	}
	return b[0], int(b[1]&1)<<16 | int(binary.BigEndian.Uint16(b[2:4])), true
}

// ValidNBSSType reports whether t is a session packet type RFC 1002 4.3.1 defines; any other
// type is NBSSUnknownType.
func ValidNBSSType(t uint8) bool {
	switch t {
	case NBSSMessage, NBSSRequest, NBSSPositive, NBSSNegative, NBSSRetarget, NBSSKeepAlive:
		return true
	}
	return false
}

// Span locates bytes inside a message without copying.
type Span struct{ Off, Len uint32 }

// Of returns the bytes s locates in msg, nil when s does not lie within msg. The result's
// capacity ends with it, so appending to it cannot overwrite msg.
func (s Span) Of(msg []byte) []byte {
	end := uint64(s.Off) + uint64(s.Len)
	if end > uint64(len(msg)) {
		return nil
	}
	return msg[s.Off:end:end]
}

// Limits on what an SMB NEGOTIATE request may make the parser keep.
const (
	MaxSMBDialects  = 16 // SMB1 dialect strings kept in SMBNegotiate.Dialects (all are counted)
	MaxSMB2Dialects = 16 // SMB2 dialect codes kept in SMBNegotiate.SMB2Dialects
	// SMBTooManyDialects is the SMB1 dialect count above which a request is SMBNegTooManyDialects.
	// No client offers more than about a dozen (Windows 7: 8; Samba's smbclient: 12, from
	// "PC NETWORK PROGRAM 1.0" to "SMB 2.???"); 64 leaves room for anything legitimate.
	SMBTooManyDialects = 64
)

// SMB header layout and codes.
const (
	smb1HeaderLen = 32 // SMB_Header (MS-CIFS 2.2.3.1)
	smb2HeaderLen = 64 // SMB2 Packet Header (MS-SMB2 2.2.1)

	smbComNegotiate = 0x72 // SMB_COM_NEGOTIATE (MS-CIFS 2.2.2.1)
	smbFlagsReply   = 0x80 // SMB_FLAGS_REPLY in SMB_Header.Flags (MS-CIFS 2.2.3.1)
	smbDialectFmt   = 0x02 // BufferFormat of each dialect entry (MS-CIFS 2.2.4.52.1)

	smb2ComNegotiate     = 0x0000 // SMB2 NEGOTIATE (MS-SMB2 2.2.1.2)
	smb2FlagsServerToRed = 0x1    // SMB2_FLAGS_SERVER_TO_REDIR: a response (MS-SMB2 2.2.1.2)
	smb2NegReqSize       = 36     // NEGOTIATE request StructureSize; Dialects start there (MS-SMB2 2.2.3)
)

// SMBNegotiate is an SMB1 or SMB2 NEGOTIATE request as ParseSMBNegotiate found it. Spans index
// the message it was parsed from.
type SMBNegotiate struct {
	Version uint8 // 1: SMB1 ("\xffSMB"), 2: SMB2 ("\xfeSMB")

	// SMB1 (MS-CIFS 2.2.3.1 header, MS-CIFS 2.2.4.52.1 request).
	Flags   uint8
	Flags2  uint16
	PIDHigh uint16 // header offset 12: the field MS09-050's srv2.sys used as an array index
	PIDLow  uint16
	TID     uint16
	UID     uint16
	MID     uint16

	WordCount   uint8                // 0 in a well-formed request
	ByteCount   uint16               // as claimed
	NumDialects int                  // dialect entries seen, all of them
	Dialects    [MaxSMBDialects]Span // the first MaxSMBDialects dialect strings (without 0x02 and NUL)
	SMB2Dialect Span                 // the first dialect starting "SMB 2." (zero Len when none)

	// SMB2 (MS-SMB2 2.2.3).
	StructureSize   uint16                  // 36 in a well-formed request
	DialectCount    uint16                  // as claimed
	SMB2Dialects    [MaxSMB2Dialects]uint16 // the first dialect codes present (0x0202 ... 0x0311)
	NumSMB2Dialects int                     // entries of SMB2Dialects filled

	Anomalies Anomalies
}

// Reset clears n for the next message.
func (n *SMBNegotiate) Reset() { *n = SMBNegotiate{} }

// OffersSMB2 reports whether n is an SMB1 NEGOTIATE offering an "SMB 2." dialect ("SMB 2.002" or
// the "SMB 2.???" wildcard, MS-SMB2 3.3.5.3.1): the request srv2.sys takes over, and so the only
// one in which MS09-050 (CVE-2009-3103) is reachable.
func (n *SMBNegotiate) OffersSMB2() bool { return n.Version == 1 && n.SMB2Dialect.Len != 0 }

// ParseSMBNegotiate parses msg, an SMB message as carried in one NBSS session message (starting at
// the protocol id). It returns false, with out reset, when msg is not an SMB1 or SMB2 NEGOTIATE
// request (another command, a response, not SMB at all: nothing to judge), except that an SMB
// message too short for its header (a protocol id, or a prefix of one, followed by fewer than 32
// or 64 bytes in all) returns true with only Version set and SMBHeaderTruncated: its command is
// not known. It never reads past msg and allocates nothing.
//
// Anomalies, each at most once, in the order found. SMB1: SMBNegWordCount (WordCount not 0; the
// words are skipped), SMBNegByteCountOverrun (WordCount, ByteCount or the bytes it claims run
// past msg; the dialects present are parsed), NBSSLengthMismatch (bytes after the byte area),
// SMBNegDialectFormat (an entry not starting 0x02: parsing stops), SMBNegDialectUnterm (no NUL
// before the end of the byte area; not raised when msg itself ends first, which is an overrun),
// SMBNegTooManyDialects (more than SMBTooManyDialects; counting goes on). SMB2:
// SMB2NegStructureSize, SMB2NegDialectCountZero, SMB2NegDialectsOverrun (the dialects, or the
// fixed body before them, run past msg; those present are kept).
func ParseSMBNegotiate(msg []byte, out *SMBNegotiate) bool {
	out.Reset()
	if len(msg) == 0 {
		return false
	}
	var ver uint8
	switch msg[0] {
	case 0xff:
		ver = 1
	case 0xfe:
		ver = 2
	default:
		return false
	}
	if k := min(len(msg), 4); string(msg[1:k]) != "SMB"[:k-1] {
		return false
	}
	if ver == 1 && len(msg) < smb1HeaderLen || ver == 2 && len(msg) < smb2HeaderLen {
		out.Version = ver
		out.anomaly(SMBHeaderTruncated)
		return true
	}
	if ver == 1 {
		return out.parseSMB1(msg)
	}
	return out.parseSMB2(msg)
}

// parseSMB1 parses an SMB_COM_NEGOTIATE request (MS-CIFS 2.2.4.52.1): WordCount 0, ByteCount,
// then dialect entries, each 0x02 and a NUL-terminated OEM string. msg holds the whole header.
func (n *SMBNegotiate) parseSMB1(msg []byte) bool {
	if msg[4] != smbComNegotiate || msg[9]&smbFlagsReply != 0 {
		return false
	}
	le := binary.LittleEndian
	n.Version = 1
	n.Flags = msg[9]
	n.Flags2 = le.Uint16(msg[10:12])
	n.PIDHigh = le.Uint16(msg[12:14])
	n.TID = le.Uint16(msg[24:26])
	n.PIDLow = le.Uint16(msg[26:28])
	n.UID = le.Uint16(msg[28:30])
	n.MID = le.Uint16(msg[30:32])

	// SMB_Parameters (MS-CIFS 2.2.3.2): WordCount then its words, which a NEGOTIATE request
	// does not have; ByteCount follows them whatever WordCount says.
	if len(msg) == smb1HeaderLen {
		n.anomaly(SMBNegByteCountOverrun) // no WordCount, no ByteCount
		return true
	}
	n.WordCount = msg[smb1HeaderLen]
	if n.WordCount != 0 {
		n.anomaly(SMBNegWordCount)
	}
	bcOff := smb1HeaderLen + 1 + 2*int(n.WordCount)
	if bcOff+2 > len(msg) {
		n.anomaly(SMBNegByteCountOverrun) // the words or ByteCount itself run past the message
		return true
	}
	n.ByteCount = le.Uint16(msg[bcOff : bcOff+2])
	start := bcOff + 2
	end := start + int(n.ByteCount)
	cut := end > len(msg)
	if cut {
		n.anomaly(SMBNegByteCountOverrun)
		end = len(msg)
	} else if end < len(msg) {
		// A NEGOTIATE request has no AndX chain, so its NBSS message ends with its byte area.
		n.anomaly(NBSSLengthMismatch)
	}
	n.parseDialects(msg, start, end, cut)
	return true
}

// parseDialects walks the dialect entries in msg[start:end] (SMB_Data.Bytes, MS-CIFS 2.2.3.3).
// cut says the area was cut short by the end of the message (SMBNegByteCountOverrun): a string
// running to that end is then not also reported as unterminated.
func (n *SMBNegotiate) parseDialects(msg []byte, start, end int, cut bool) {
	for i := start; i < end; {
		if msg[i] != smbDialectFmt {
			n.anomaly(SMBNegDialectFormat) // the rest cannot be delimited
			return
		}
		s, e := i+1, end
		if j := bytes.IndexByte(msg[s:end], 0); j >= 0 {
			e = s + j
			i = e + 1
		} else {
			if !cut {
				n.anomaly(SMBNegDialectUnterm)
			}
			i = end
		}
		n.addDialect(msg, s, e)
	}
}

// addDialect counts the dialect string msg[s:e] and keeps it if there is room.
func (n *SMBNegotiate) addDialect(msg []byte, s, e int) {
	sp := Span{Off: uint32(s), Len: uint32(e - s)}
	if n.NumDialects < MaxSMBDialects {
		n.Dialects[n.NumDialects] = sp
	}
	n.NumDialects++
	if n.NumDialects == SMBTooManyDialects+1 {
		n.anomaly(SMBNegTooManyDialects)
	}
	if n.SMB2Dialect.Len == 0 && e-s >= 6 && string(msg[s:s+6]) == "SMB 2." {
		n.SMB2Dialect = sp
	}
}

// parseSMB2 parses an SMB2 NEGOTIATE request (MS-SMB2 2.2.3): StructureSize 36, DialectCount,
// SecurityMode, Reserved, Capabilities, ClientGuid, 8 bytes of ClientStartTime or negotiate
// context fields, then DialectCount 2-byte dialects. msg holds the whole header.
func (n *SMBNegotiate) parseSMB2(msg []byte) bool {
	le := binary.LittleEndian
	if le.Uint16(msg[12:14]) != smb2ComNegotiate || le.Uint32(msg[16:20])&smb2FlagsServerToRed != 0 {
		return false
	}
	n.Version = 2
	body := msg[smb2HeaderLen:]
	// Fields the message does not reach stay zero and are judged only by the overrun check.
	if len(body) >= 2 {
		n.StructureSize = le.Uint16(body[0:2])
		if n.StructureSize != smb2NegReqSize {
			n.anomaly(SMB2NegStructureSize)
		}
	}
	if len(body) >= 4 {
		n.DialectCount = le.Uint16(body[2:4])
		if n.DialectCount == 0 {
			n.anomaly(SMB2NegDialectCountZero)
		}
	}
	if smb2NegReqSize+2*int(n.DialectCount) > len(body) {
		n.anomaly(SMB2NegDialectsOverrun)
	}
	have := 0
	if len(body) > smb2NegReqSize {
		have = (len(body) - smb2NegReqSize) / 2
	}
	k := min(int(n.DialectCount), have, MaxSMB2Dialects)
	for i := range k {
		off := smb2NegReqSize + 2*i
		n.SMB2Dialects[i] = le.Uint16(body[off : off+2])
	}
	n.NumSMB2Dialects = k
	return true
}

// anomaly records a once per message.
func (n *SMBNegotiate) anomaly(a Anomaly) {
	if !n.Anomalies.Has(a) {
		n.Anomalies.Add(a)
	}
}
