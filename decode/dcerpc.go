package decode

// DCE/RPC PDUs (The Open Group C706, "DCE 1.1: Remote Procedure Call", chapter 12, with the
// Windows extensions of MS-RPCE 2.2): the connection-oriented PDUs carried over TCP (ncacn_ip_tcp,
// and named pipes over SMB) and the connectionless PDUs carried over UDP (ncadg_ip_udp).
//
// The parsers are pure and allocation-free: they fill a caller-owned struct, every slice they
// return is a view into the input, and they never read past it. A PDU given in part (a capture
// or a stream that has not delivered it all yet) is parsed as far as its bytes go; only what a
// PDU says about itself (lengths that contradict each other) is an anomaly, never a short input.
// Anomalies are added once each to the caller's list, which may already hold others.

import "encoding/binary"

// UUID is a DCE UUID (C706 appendix A) in canonical order: the 16 bytes of its textual form
// read left to right, so 5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc is 5a 7b 91 f8 ff 00 ... fc,
// whatever the byte order of the PDU it came from.
type UUID [16]byte

// ParseUUID reads a UUID from the wire: time_low (4 bytes), time_mid (2) and
// time_hi_and_version (2) are integers in the PDU's byte order (its drep), the last 8 bytes are
// octets. b shorter than 16 bytes gives the zero UUID.
func ParseUUID(b []byte, little bool) UUID {
	var u UUID
	if len(b) < 16 {
		return u
	}
	copy(u[:], b[:16])
	if little {
		u[0], u[1], u[2], u[3] = b[3], b[2], b[1], b[0]
		u[4], u[5] = b[5], b[4]
		u[6], u[7] = b[7], b[6]
	}
	return u
}

// MustUUID parses the textual form (C706 appendix A: 8-4-4-4-12 hex digits, either case), for
// constants. It panics on anything else.
func MustUUID(s string) UUID {
	var u UUID
	if len(s) != 36 {
		panic("decode: bad UUID " + s)
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if s[i] != '-' {
				panic("decode: bad UUID " + s)
			}
			i++
			continue
		}
		hi, ok1 := uuidHexDigit(s[i])
		lo, ok2 := uuidHexDigit(s[i+1])
		if !ok1 || !ok2 {
			panic("decode: bad UUID " + s)
		}
		u[j] = hi<<4 | lo
		j++
		i += 2
	}
	return u
}

func uuidHexDigit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// String returns the lower-case textual form. It allocates: for alert paths only.
func (u UUID) String() string {
	const digits = "0123456789abcdef"
	var s [36]byte
	j := 0
	for i, c := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = digits[c>>4], digits[c&0xf]
		j += 2
	}
	return string(s[:])
}

// ---------------------------------------------------------------------------------------------
// Connection-oriented PDUs (C706 12.6).

// Connection-oriented PTYPE values (C706 12.6.3.1; MS-RPCE 2.2.2.10 adds rpc_auth_3, MS-RPCH
// 2.2.3.6.1 the RTS PDU). Types 1 and 4-10 are connectionless only.
const (
	RPCRequest          = 0
	RPCResponse         = 2
	RPCFault            = 3
	RPCBind             = 11
	RPCBindAck          = 12
	RPCBindNak          = 13
	RPCAlterContext     = 14
	RPCAlterContextResp = 15
	RPCAuth3            = 16 // MS-RPCE 2.2.2.10
	RPCShutdown         = 17
	RPCCancel           = 18 // co_cancel
	RPCOrphaned         = 19
	RPCRTS              = 20 // MS-RPCH 2.2.3.6.1: RPC over HTTP tunnel control
)

// pfc_flags bits (C706 12.6.3.1) the parsers use.
const (
	RPCFirstFrag  = 0x01 // PFC_FIRST_FRAG: first fragment of a request or response
	RPCLastFrag   = 0x02 // PFC_LAST_FRAG: last fragment
	RPCObjectUUID = 0x80 // PFC_OBJECT_UUID: a request carries an object UUID after opnum
)

// MaxRPCFragLen is the largest fragment a connection-oriented PDU can describe: frag_length is a
// 16-bit field (C706 12.6.3.1), so no header can exceed it. The fragment size a connection
// actually negotiated (max_xmit_frag/max_recv_frag in bind and bind_ack, C706 12.6.1) is
// usually far smaller (Windows: 5840) and is the caller's to enforce.
const MaxRPCFragLen = 65535

const (
	rpcHeaderLen    = 16 // common header (C706 12.6.3.1)
	rpcSecTrailer   = 8  // sec_trailer before the auth_value (MS-RPCE 2.2.2.11)
	rpcBindFixedLen = rpcHeaderLen + 12
	rpcContextLen   = 24 // p_cont_elem_t up to its transfer syntaxes
	rpcSyntaxLen    = 20 // p_syntax_id_t: UUID and a 32-bit version
	rpcRequestLen   = rpcHeaderLen + 8
)

// RPCHeader is the 16-byte common header of a connection-oriented PDU (C706 12.6.3.1).
type RPCHeader struct {
	Major, Minor, PType, Flags uint8
	Little                     bool // integers are little-endian (packed_drep[0] bit 0x10)
	FragLen, AuthLen           uint16
	CallID                     uint32
}

// ParseRPCHeader reads the common header at the start of b: rpc_vers, rpc_vers_minor, PTYPE,
// pfc_flags, packed_drep (4), frag_length, auth_length, call_id (C706 12.6.3.1). The integer
// representation is the packed_drep[0] 0x10 bit (C706 14.1), tested as a bit as Wireshark does:
// any other high nibble reads as big-endian. ok is false, with h zeroed, when b holds fewer than 16 bytes. Otherwise h is
// filled and the header judged on its own: a version other than 5.0 or 5.1 (MS-RPCE 1.7) is
// RPCBadVersion; a frag_length below the header is RPCFragLengthInvalid; an auth_length
// whose verifier and 8-byte sec_trailer do not fit in the body is RPCAuthLengthInvalid.
func ParseRPCHeader(b []byte, h *RPCHeader, as *Anomalies) bool {
	*h = RPCHeader{}
	if len(b) < rpcHeaderLen {
		return false
	}
	h.Major, h.Minor, h.PType, h.Flags = b[0], b[1], b[2], b[3]
	h.Little = b[4]&0x10 != 0
	h.FragLen = rpcU16(b[8:], h.Little)
	h.AuthLen = rpcU16(b[10:], h.Little)
	h.CallID = rpcU32(b[12:], h.Little)
	if h.Major != 5 || h.Minor > 1 {
		rpcAnomaly(as, RPCBadVersion)
	}
	if h.FragLen < rpcHeaderLen {
		rpcAnomaly(as, RPCFragLengthInvalid)
	} else if h.AuthLen > 0 && int(h.AuthLen)+rpcSecTrailer > int(h.FragLen)-rpcHeaderLen {
		rpcAnomaly(as, RPCAuthLengthInvalid)
	}
	return true
}

// LooksLikeRPC reports whether b starts like a connection-oriented PDU, for content detection on
// ports not known to carry DCE/RPC: at least a whole header, version 5.0 or 5.1, a
// connection-oriented PTYPE, a packed_drep naming a defined integer (big or little endian),
// character (ASCII or EBCDIC) and floating-point (IEEE, VAX, Cray, IBM) format (C706 14.1), and
// a frag_length that covers the header.
func LooksLikeRPC(b []byte) bool {
	if len(b) < rpcHeaderLen || b[0] != 5 || b[1] > 1 || !rpcCOPType(b[2]) {
		return false
	}
	if b[4]&0xee != 0 || b[5] > 3 {
		return false
	}
	return rpcU16(b[8:], b[4]&0x10 != 0) >= rpcHeaderLen
}

func rpcCOPType(t uint8) bool {
	switch t {
	case RPCRequest, RPCResponse, RPCFault:
		return true
	}
	return t >= RPCBind && t <= RPCRTS
}

// MaxRPCContexts is the number of presentation contexts ParseRPCBind keeps. Windows clients
// offer one to three per bind (an interface with NDR, with NDR64, and the bind-time feature
// negotiation context); more is RPCTooManyContexts.
const MaxRPCContexts = 16

// RPCContext is one presentation context element of a bind or alter_context: its id and the
// abstract syntax (the interface) it proposes (C706 12.6.3.1 p_cont_elem_t).
type RPCContext struct {
	ID           uint16
	Iface        UUID
	Major, Minor uint16 // interface version
}

// RPCBindPDU is a bind or alter_context PDU (C706 12.6.4.3, 12.6.4.1).
type RPCBindPDU struct {
	Contexts    [MaxRPCContexts]RPCContext
	NumContexts int // elements stored in Contexts
	Offered     int // n_context_elem as the PDU states it

	MaxXmitFrag, MaxRecvFrag uint16
	AssocGroup               uint32
}

// ParseRPCBind parses a bind or alter_context PDU, header included (pdu holds h.FragLen bytes, or
// fewer when only part has arrived): max_xmit_frag, max_recv_frag, assoc_group_id, then the
// p_cont_list_t (C706 12.6.4.3, 12.6.3.1): n_context_elem (1), reserved (3), then per element
// p_cont_id (2), n_transfer_syn (1), reserved (1), the abstract syntax (UUID, then a 32-bit
// version whose low half is the major version) and n_transfer_syn transfer syntaxes of 20 bytes.
//
// ok is false, with out zeroed, when h is not a bind or alter_context or the 28 fixed bytes are
// not there; a frag_length too short for them is RPCFragLengthInvalid, a verifier overlapping
// them RPCAuthLengthInvalid. An element is stored when its first 24 bytes (through the abstract syntax) are
// present; parsing stops at the first element that does not fit whole. Elements beyond
// MaxRPCContexts are walked but not stored (RPCTooManyContexts). Elements running past the
// PDU's own length are RPCFragLengthInvalid, or RPCAuthLengthInvalid when they run into its
// auth verifier; running past the bytes given is not an anomaly.
func ParseRPCBind(pdu []byte, h *RPCHeader, out *RPCBindPDU, as *Anomalies) bool {
	*out = RPCBindPDU{}
	if h.PType != RPCBind && h.PType != RPCAlterContext {
		return false
	}
	frag, body := rpcLimits(h)
	if frag < rpcBindFixedLen {
		rpcAnomaly(as, RPCFragLengthInvalid)
	} else if h.AuthLen > 0 && body < rpcBindFixedLen {
		rpcAnomaly(as, RPCAuthLengthInvalid) // the verifier overlaps the fixed fields
	}
	have := min(len(pdu), frag)
	if have < rpcBindFixedLen {
		return false
	}
	le := h.Little
	out.MaxXmitFrag = rpcU16(pdu[16:], le)
	out.MaxRecvFrag = rpcU16(pdu[18:], le)
	out.AssocGroup = rpcU32(pdu[20:], le)
	out.Offered = int(pdu[24])
	if out.Offered > MaxRPCContexts {
		rpcAnomaly(as, RPCTooManyContexts)
	}
	end := min(have, body)
	off := rpcBindFixedLen
	for i := 0; i < out.Offered; i++ {
		n := 0
		if off+rpcContextLen <= end {
			n = int(pdu[off+2])
		}
		size := rpcContextLen + n*rpcSyntaxLen
		if off+size > end {
			// Not whole: an anomaly only when the PDU itself leaves no room for it.
			switch {
			case off+size > frag:
				rpcAnomaly(as, RPCFragLengthInvalid)
			case off+size > body:
				rpcAnomaly(as, RPCAuthLengthInvalid)
			}
			if off+rpcContextLen > end {
				break
			}
		}
		if out.NumContexts < MaxRPCContexts {
			c := &out.Contexts[out.NumContexts]
			c.ID = rpcU16(pdu[off:], le)
			c.Iface = ParseUUID(pdu[off+4:], le)
			v := rpcU32(pdu[off+20:], le)
			c.Major, c.Minor = uint16(v), uint16(v>>16)
			out.NumContexts++
		}
		if off+size > end {
			break
		}
		off += size
	}
	return true
}

// RPCRequestPDU is a request PDU (C706 12.6.4.9).
type RPCRequestPDU struct {
	AllocHint        uint32
	ContextID, Opnum uint16
	Object           UUID
	HasObject        bool
	Stub             []byte // stub data: the body without auth padding, sec_trailer and auth_value

	// The sec_trailer (MS-RPCE 2.2.2.11), when auth_length > 0 and the trailer was present.
	HasTrailer          bool
	AuthType, AuthLevel uint8
	AuthPadLen          uint8 // padding bytes removed from the end of Stub
}

// ParseRPCRequest parses a request PDU, header included (pdu holds h.FragLen bytes, or fewer):
// alloc_hint (4), p_cont_id (2), opnum (2), the object UUID (16) when pfc_flags has
// PFC_OBJECT_UUID, then the stub data (C706 12.6.4.9). With auth_length > 0 the PDU ends with
// the 8-byte sec_trailer (auth_type, auth_level, auth_pad_length, reserved, auth_context_id)
// and auth_length bytes of auth_value, and the last auth_pad_length bytes of the stub area are
// padding (MS-RPCE 2.2.2.11): Stub excludes all three.
//
// ok is false, with out zeroed, when h is not a request or its fixed fields are not all
// present; fixed fields beyond frag_length are RPCFragLengthInvalid. A verifier that overlaps
// the fixed fields, or an auth_pad_length larger than the stub area, is RPCAuthLengthInvalid
// (Stub is then empty). When pdu stops before the sec_trailer, Stub is all the bytes present up
// to where the trailer starts (it may include padding).
func ParseRPCRequest(pdu []byte, h *RPCHeader, out *RPCRequestPDU, as *Anomalies) bool {
	*out = RPCRequestPDU{}
	if h.PType != RPCRequest {
		return false
	}
	fixed := rpcRequestLen
	if h.Flags&RPCObjectUUID != 0 {
		fixed += 16
	}
	if int(h.FragLen) < fixed {
		rpcAnomaly(as, RPCFragLengthInvalid)
	}
	frag, body := rpcLimits(h)
	have := min(len(pdu), frag)
	if have < fixed {
		return false
	}
	le := h.Little
	out.AllocHint = rpcU32(pdu[16:], le)
	out.ContextID = rpcU16(pdu[20:], le)
	out.Opnum = rpcU16(pdu[22:], le)
	if fixed > rpcRequestLen {
		out.Object, out.HasObject = ParseUUID(pdu[24:], le), true
	}
	end := body
	if h.AuthLen > 0 {
		switch {
		case body < fixed:
			rpcAnomaly(as, RPCAuthLengthInvalid)
			end = fixed
		case body+rpcSecTrailer <= have:
			out.HasTrailer = true
			out.AuthType, out.AuthLevel, out.AuthPadLen = pdu[body], pdu[body+1], pdu[body+2]
			if pad := int(out.AuthPadLen); pad > body-fixed {
				rpcAnomaly(as, RPCAuthLengthInvalid)
				end = fixed
			} else {
				end = body - pad
			}
		}
	}
	end = min(end, have)
	out.Stub = pdu[fixed:end:end]
	return true
}

// rpcLimits returns where a PDU described by h ends (frag_length) and where its body ends: at
// the sec_trailer when auth_length is set (MS-RPCE 2.2.2.11), otherwise at frag_length.
// An auth_length that does not fit puts the body end before the header, so that callers see
// the verifier overlapping whatever they parse.
func rpcLimits(h *RPCHeader) (frag, body int) {
	frag = int(h.FragLen)
	body = frag
	if h.AuthLen > 0 {
		body = frag - int(h.AuthLen) - rpcSecTrailer
	}
	return frag, body
}

// ---------------------------------------------------------------------------------------------
// Connectionless PDUs (C706 12.5).

// rpcCLHeaderLen is the connectionless header (C706 12.5): rpc_vers, ptype, flags1, flags2,
// drep (3), serial_hi, object, if_id, act_id, server_boot, if_vers, seqnum, opnum, ihint, ahint,
// len, fragnum, auth_proto, serial_lo.
const rpcCLHeaderLen = 80

// Connectionless flags1 bits (C706 12.5).
const (
	RPCCLLastFrag   = 0x02 // lastfrag
	RPCCLFrag       = 0x04 // frag: the PDU is a fragment of a larger call
	RPCCLNoFack     = 0x08 // nofack
	RPCCLMaybe      = 0x10 // maybe semantics
	RPCCLIdempotent = 0x20 // idempotent
	RPCCLBroadcast  = 0x40 // broadcast
)

// RPCCLHeader is a connectionless PDU's header and a view of its body (C706 12.5).
type RPCCLHeader struct {
	Version, PType, Flags1, Flags2 uint8
	Little                         bool
	Object, Iface, Activity        UUID
	ServerBoot, IfaceVer, SeqNum   uint32
	Opnum, IHint, AHint            uint16
	BodyLen, FragNum               uint16
	AuthProto                      uint8
	Body                           []byte
	Serial                         uint16 // serial_hi<<8 | serial_lo
}

// ParseRPCCL parses a UDP payload as a connectionless PDU. ok is false, with h zeroed, when b
// does not start like one: fewer than 80 bytes, rpc_vers other than 4, a PTYPE that is not a
// connectionless one (0-10, C706 chapter 12's table of PDUs), or an undefined drep (C706 14.1).
// A wrong version is not judged here: on UDP it cannot be told from other protocols, so
// RPCBadVersion for connectionless PDUs is the caller's, on ports known to carry them. Body is the len
// bytes after the header, or those present; a len beyond the datagram, or short of it while no
// auth trailer follows (auth_proto 0; MS-RPCE 2.2.3.4), is RPCCLBodyLengthInvalid.
func ParseRPCCL(b []byte, h *RPCCLHeader, as *Anomalies) bool {
	*h = RPCCLHeader{}
	if len(b) < rpcCLHeaderLen || b[0] != 4 || b[1] > 10 || b[4]&0xee != 0 || b[5] > 3 {
		return false
	}
	le := b[4]&0x10 != 0
	h.Version, h.PType, h.Flags1, h.Flags2, h.Little = b[0], b[1], b[2], b[3], le
	h.Object = ParseUUID(b[8:], le)
	h.Iface = ParseUUID(b[24:], le)
	h.Activity = ParseUUID(b[40:], le)
	h.ServerBoot = rpcU32(b[56:], le)
	h.IfaceVer = rpcU32(b[60:], le)
	h.SeqNum = rpcU32(b[64:], le)
	h.Opnum = rpcU16(b[68:], le)
	h.IHint = rpcU16(b[70:], le)
	h.AHint = rpcU16(b[72:], le)
	h.BodyLen = rpcU16(b[74:], le)
	h.FragNum = rpcU16(b[76:], le)
	h.AuthProto = b[78]
	h.Serial = uint16(b[7])<<8 | uint16(b[79])
	present := len(b) - rpcCLHeaderLen
	n := int(h.BodyLen)
	if n > present || (n < present && h.AuthProto == 0) {
		rpcAnomaly(as, RPCCLBodyLengthInvalid)
	}
	n = min(n, present)
	h.Body = b[rpcCLHeaderLen : rpcCLHeaderLen+n : rpcCLHeaderLen+n]
	return true
}

// ---------------------------------------------------------------------------------------------

func rpcU16(b []byte, little bool) uint16 {
	if little {
		return binary.LittleEndian.Uint16(b)
	}
	return binary.BigEndian.Uint16(b)
}

func rpcU32(b []byte, little bool) uint32 {
	if little {
		return binary.LittleEndian.Uint32(b)
	}
	return binary.BigEndian.Uint32(b)
}

// rpcAnomaly adds a to as unless it is already there (or as is nil).
func rpcAnomaly(as *Anomalies, a Anomaly) {
	if as != nil && !as.Has(a) {
		as.Add(a)
	}
}
