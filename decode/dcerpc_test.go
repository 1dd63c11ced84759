package decode

// Tests of the DCE/RPC PDU and NDR parsers (dcerpc.go, ndr.go): hand-built PDUs in both byte
// orders, every anomaly alone, every truncation, the shared real captures, allocations, a
// benchmark and a fuzz target.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/capture"
)

// Interface and transfer syntax UUIDs used in the tests.
var (
	uuidISystemActivator  = MustUUID("000001a0-0000-0000-c000-000000000046") // MS-DCOM 3.1.2.5.2.3
	uuidIRemoteActivation = MustUUID("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57") // MS-DCOM 1.9 (MS03-026)
	uuidMessenger         = MustUUID("5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc") // MS-MSRP (MS03-043)
	uuidQMComm            = MustUUID("fdb3a030-065f-11d1-bb9b-00a024ea5525") // MSMQ qmcomm (MS07-065)
	uuidNDR               = MustUUID("8a885d04-1ceb-11c9-9fe8-08002b104860") // NDR transfer syntax v2
	uuidNDR64             = MustUUID("71710533-beba-4937-8319-b5dbef9ccc36") // NDR64 transfer syntax v1
	uuidObject            = MustUUID("11223344-5566-7788-99aa-bbccddeeff00")
	uuidActivity          = MustUUID("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
)

// ---------------------------------------------------------------------------------------------
// Builders. rpcEnc is the byte order a PDU is built in (true: little-endian).

type rpcEnc bool

func (e rpcEnc) u16(v uint16) []byte {
	if e {
		return binary.LittleEndian.AppendUint16(nil, v)
	}
	return binary.BigEndian.AppendUint16(nil, v)
}

func (e rpcEnc) u32(v uint32) []byte {
	if e {
		return binary.LittleEndian.AppendUint32(nil, v)
	}
	return binary.BigEndian.AppendUint32(nil, v)
}

// uuid is u on the wire: its first three fields in e's byte order.
func (e rpcEnc) uuid(u UUID) []byte {
	b := slices.Clone(u[:])
	if e {
		slices.Reverse(b[0:4])
		slices.Reverse(b[4:6])
		slices.Reverse(b[6:8])
	}
	return b
}

// drep is packed_drep: integer order, ASCII, IEEE floats (C706 14.1).
func (e rpcEnc) drep() []byte {
	if e {
		return []byte{0x10, 0, 0, 0}
	}
	return []byte{0, 0, 0, 0}
}

func (e rpcEnc) String() string {
	if e {
		return "le"
	}
	return "be"
}

// put16 returns a copy of b with the 16-bit integer at off set to v.
func (e rpcEnc) put16(b []byte, off int, v uint16) []byte {
	b = slices.Clone(b)
	copy(b[off:], e.u16(v))
	return b
}

// rpcSetByte returns a copy of b with b[off] = v.
func rpcSetByte(b []byte, off int, v byte) []byte {
	b = slices.Clone(b)
	b[off] = v
	return b
}

// coPDU builds a connection-oriented PDU: the common header, body, then, when value is not nil,
// pad bytes of auth padding, the sec_trailer (NTLM, packet privacy) and value (MS-RPCE 2.2.2.11).
func coPDU(e rpcEnc, ptype, flags uint8, callID uint32, body []byte, pad int, value []byte) []byte {
	var tail []byte
	if value != nil {
		tail = cat(bytes.Repeat([]byte{0xaa}, pad), []byte{0x0a, 0x06, byte(pad), 0}, e.u32(0x1234), value)
	}
	n := rpcHeaderLen + len(body) + len(tail)
	return cat([]byte{5, 0, ptype, flags}, e.drep(), e.u16(uint16(n)), e.u16(uint16(len(value))), e.u32(callID), body, tail)
}

// bindCtx is one presentation context element of a bind.
type bindCtx struct {
	id           uint16
	iface        UUID
	major, minor uint16
	syntaxes     []UUID // transfer syntaxes (NDR when empty)
}

// bindBody is a bind or alter_context body: max_xmit_frag, max_recv_frag, assoc_group_id,
// p_cont_list (C706 12.6.4.3). n is n_context_elem (len(ctxs) when negative).
func bindBody(e rpcEnc, n int, ctxs ...bindCtx) []byte {
	if n < 0 {
		n = len(ctxs)
	}
	b := cat(e.u16(5840), e.u16(5840), e.u32(0x53f0), []byte{byte(n), 0, 0, 0})
	for _, c := range ctxs {
		ts := c.syntaxes
		if ts == nil {
			ts = []UUID{uuidNDR}
		}
		b = cat(b, e.u16(c.id), []byte{byte(len(ts)), 0}, e.uuid(c.iface), e.u32(uint32(c.minor)<<16|uint32(c.major)))
		for _, s := range ts {
			v := uint32(2)
			if s == uuidNDR64 {
				v = 1
			}
			b = cat(b, e.uuid(s), e.u32(v))
		}
	}
	return b
}

// requestBody is a request body: alloc_hint, p_cont_id, opnum, the object UUID when obj is not
// nil, then stub (C706 12.6.4.9).
func requestBody(e rpcEnc, ctx, opnum uint16, obj *UUID, stub []byte) []byte {
	b := cat(e.u32(uint32(len(stub))), e.u16(ctx), e.u16(opnum))
	if obj != nil {
		b = cat(b, e.uuid(*obj))
	}
	return cat(b, stub)
}

// clPDU builds a connectionless PDU (C706 12.5.1). bodyLen is the len field (len(body) when
// negative).
func clPDU(e rpcEnc, ptype, flags1 uint8, iface UUID, opnum uint16, body []byte, bodyLen int, authProto uint8, tail []byte) []byte {
	if bodyLen < 0 {
		bodyLen = len(body)
	}
	drep := e.drep()[:3]
	return cat([]byte{4, ptype, flags1, 0}, drep, []byte{0x01}, // serial_hi
		e.uuid(uuidObject), e.uuid(iface), e.uuid(uuidActivity),
		e.u32(0x3f5a2b1c), e.u32(1), e.u32(7), // server_boot, if_vers, seqnum
		e.u16(opnum), e.u16(0xffff), e.u16(0xffff), e.u16(uint16(bodyLen)), e.u16(0), // opnum, ihint, ahint, len, fragnum
		[]byte{authProto, 0x02}, // auth_proto, serial_lo
		body, tail)
}

// ndrStr is a conformant varying string of 1-byte characters: max_count, offset, actual_count,
// the bytes, padding to 4 (C706 14.3.4.2). Counts of -1 take len(s).
func ndrStr(e rpcEnc, s string, maxCount, offset, actual int64) []byte {
	if maxCount < 0 {
		maxCount = int64(len(s))
	}
	if actual < 0 {
		actual = int64(len(s))
	}
	b := cat(e.u32(uint32(maxCount)), e.u32(uint32(offset)), e.u32(uint32(actual)), []byte(s))
	return cat(b, zeros(NDRAlign(len(b), 4)-len(b)))
}

// ndrWStr is the same with 2-byte characters in e's byte order.
func ndrWStr(e rpcEnc, s string) []byte {
	b := cat(e.u32(uint32(len(s))), e.u32(0), e.u32(uint32(len(s))))
	for _, c := range []byte(s) {
		b = cat(b, e.u16(uint16(c)))
	}
	return cat(b, zeros(NDRAlign(len(b), 4)-len(b)))
}

// messengerStub is NetrSendMessage's [in] arguments (MS-MSRP 3.2.4.1): From, To, Text, each a
// top-level [string] char*, so a conformant varying string with no referent id.
func messengerStub(e rpcEnc, from, to, text string) []byte {
	return cat(ndrStr(e, from+"\x00", -1, 0, -1), ndrStr(e, to+"\x00", -1, 0, -1), ndrStr(e, text+"\x00", -1, 0, -1))
}

// ntlmVerifier is an NTLMSSP message signature (MS-NLMP 2.2.2.9.1): version 1, checksum,
// sequence number.
var ntlmVerifier = hx("01 00 00 00", "8e 2c 6a 51 9d 20 4e 30", "00 00 00 00")

// ---------------------------------------------------------------------------------------------
// Running a PDU through the parsers.

// rpcParsed is everything the parsers made of one input.
type rpcParsed struct {
	ok     bool // ParseRPCHeader or ParseRPCCL
	bodyOK bool // ParseRPCBind or ParseRPCRequest, by PTYPE
	h      RPCHeader
	bind   RPCBindPDU
	req    RPCRequestPDU
	cl     RPCCLHeader
	as     Anomalies
}

// parseRPC runs b through the connectionless parser (cl), or through the connection-oriented
// header parser and the body parser its PTYPE calls for.
func parseRPC(b []byte, cl bool, r *rpcParsed) {
	*r = rpcParsed{}
	if cl {
		r.ok = ParseRPCCL(b, &r.cl, &r.as)
		return
	}
	if r.ok = ParseRPCHeader(b, &r.h, &r.as); !r.ok {
		return
	}
	switch r.h.PType {
	case RPCBind, RPCAlterContext:
		r.bodyOK = ParseRPCBind(b, &r.h, &r.bind, &r.as)
	case RPCRequest:
		r.bodyOK = ParseRPCRequest(b, &r.h, &r.req, &r.as)
	}
}

type rpcCase struct {
	name   string
	cl     bool // a connectionless PDU
	b      []byte
	in     int // bytes given to the parsers; 0: all of b
	ok     bool
	bodyOK bool
	want   []Anomaly
	check  func(t *testing.T, r *rpcParsed)
}

func (c rpcCase) input() []byte {
	if c.in > 0 {
		return c.b[:c.in]
	}
	return c.b
}

func rpcWantContexts(want ...RPCContext) func(t *testing.T, r *rpcParsed) {
	return func(t *testing.T, r *rpcParsed) {
		t.Helper()
		if got := r.bind.Contexts[:r.bind.NumContexts]; !slices.Equal(got, want) {
			t.Errorf("contexts %+v, want %+v", got, want)
		}
	}
}

func rpcWantStub(stub []byte) func(t *testing.T, r *rpcParsed) {
	return func(t *testing.T, r *rpcParsed) {
		t.Helper()
		if !bytes.Equal(r.req.Stub, stub) {
			t.Errorf("stub % x, want % x", r.req.Stub, stub)
		}
	}
}

func rpcEqDeep(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: %+v, want %+v", what, got, want)
	}
}

func rpcChecks(cs ...func(t *testing.T, r *rpcParsed)) func(t *testing.T, r *rpcParsed) {
	return func(t *testing.T, r *rpcParsed) {
		t.Helper()
		for _, c := range cs {
			c(t, r)
		}
	}
}

// rpcCases are the table cases in byte order e.
func rpcCases(e rpcEnc) []rpcCase {
	ff := uint8(RPCFirstFrag | RPCLastFrag)
	ctxSysAct := bindCtx{0, uuidISystemActivator, 0, 0, nil}
	ctxRemAct := bindCtx{0, uuidIRemoteActivation, 0, 0, nil}
	ctxMsgr := bindCtx{1, uuidMessenger, 1, 0, []UUID{uuidNDR, uuidNDR64}}
	ctxQM := bindCtx{2, uuidQMComm, 1, 0, nil}
	bind1 := coPDU(e, RPCBind, ff, 1, bindBody(e, -1, ctxSysAct), 0, nil)
	bind3 := coPDU(e, RPCBind, ff, 2, bindBody(e, -1, ctxRemAct, ctxMsgr, ctxQM), 0, nil)
	bindAuth := coPDU(e, RPCBind, ff|0x04, 3, bindBody(e, -1, ctxSysAct), 0,
		cat([]byte("NTLMSSP\x00"), hx("01 00 00 00 97 82 08 e2"), zeros(24))) // NTLM NEGOTIATE_MESSAGE
	var ctx17 []bindCtx
	var want16 []RPCContext
	for i := range 17 {
		ctx17 = append(ctx17, bindCtx{uint16(i), uuidQMComm, 1, 0, nil})
		if i < MaxRPCContexts {
			want16 = append(want16, RPCContext{uint16(i), uuidQMComm, 1, 0})
		}
	}

	stub := bytes.Repeat([]byte("MEOW"), 10) // 40 bytes
	stub13 := []byte("thirteen byte")
	req := coPDU(e, RPCRequest, ff, 7, requestBody(e, 1, 0, nil, stub), 0, nil)
	reqObj := coPDU(e, RPCRequest, ff|RPCObjectUUID, 8, requestBody(e, 0, 4, &uuidObject, stub), 0, nil)
	reqAuth := coPDU(e, RPCRequest, ff, 9, requestBody(e, 2, 3, nil, stub13), 3, ntlmVerifier)
	reqAuthObj := coPDU(e, RPCRequest, ff|RPCObjectUUID, 9, requestBody(e, 2, 3, &uuidObject, stub13), 3, ntlmVerifier)

	msgr := messengerStub(e, "ALICE", "BOB", "hello")
	cl := clPDU(e, 0, RPCCLIdempotent|RPCCLNoFack, uuidMessenger, 0, msgr, -1, 0, nil)

	return []rpcCase{
		// Binds.
		{name: "bind_1_context", b: bind1, ok: true, bodyOK: true, check: rpcChecks(
			rpcWantContexts(RPCContext{0, uuidISystemActivator, 0, 0}),
			func(t *testing.T, r *rpcParsed) {
				eq(t, "offered", r.bind.Offered, 1)
				eq(t, "max_xmit_frag", r.bind.MaxXmitFrag, 5840)
				eq(t, "max_recv_frag", r.bind.MaxRecvFrag, 5840)
				eq(t, "assoc_group", r.bind.AssocGroup, 0x53f0)
				eq(t, "header", r.h, RPCHeader{5, 0, RPCBind, ff, bool(e), uint16(len(bind1)), 0, 1})
			})},
		{name: "bind_3_contexts", b: bind3, ok: true, bodyOK: true, check: rpcWantContexts(
			RPCContext{0, uuidIRemoteActivation, 0, 0}, RPCContext{1, uuidMessenger, 1, 0}, RPCContext{2, uuidQMComm, 1, 0})},
		{name: "bind_minor_1", b: rpcSetByte(bind1, 1, 1), ok: true, bodyOK: true,
			check: rpcWantContexts(RPCContext{0, uuidISystemActivator, 0, 0})},
		{name: "bind_ntlm_auth", b: bindAuth, ok: true, bodyOK: true, check: rpcWantContexts(RPCContext{0, uuidISystemActivator, 0, 0})},
		{name: "bind_version_5_7", b: coPDU(e, RPCBind, ff, 1, bindBody(e, -1, bindCtx{3, uuidQMComm, 5, 7, nil}), 0, nil),
			ok: true, bodyOK: true, check: rpcWantContexts(RPCContext{3, uuidQMComm, 5, 7})},
		{name: "alter_context", b: coPDU(e, RPCAlterContext, ff, 4, bindBody(e, -1, bindCtx{1, uuidIRemoteActivation, 0, 0, nil}), 0, nil),
			ok: true, bodyOK: true, check: rpcWantContexts(RPCContext{1, uuidIRemoteActivation, 0, 0})},
		{name: "bind_no_contexts", b: coPDU(e, RPCBind, ff, 1, bindBody(e, -1), 0, nil), ok: true, bodyOK: true, check: rpcWantContexts()},
		{name: "bind_17_contexts", b: coPDU(e, RPCBind, ff, 1, bindBody(e, -1, ctx17...), 0, nil), ok: true, bodyOK: true,
			want: []Anomaly{RPCTooManyContexts}, check: rpcChecks(rpcWantContexts(want16...),
				func(t *testing.T, r *rpcParsed) { eq(t, "offered", r.bind.Offered, 17) })},
		{name: "bind_contexts_past_frag_length", b: coPDU(e, RPCBind, ff, 1, bindBody(e, 2, ctxRemAct), 0, nil), ok: true, bodyOK: true,
			want: []Anomaly{RPCFragLengthInvalid}, check: rpcWantContexts(RPCContext{0, uuidIRemoteActivation, 0, 0})},
		{name: "bind_transfer_syntaxes_past_frag_length", b: coPDU(e, RPCBind, ff, 1, rpcSetByte(bindBody(e, -1, ctxRemAct), 14, 2), 0, nil),
			ok: true, bodyOK: true, want: []Anomaly{RPCFragLengthInvalid}, check: rpcWantContexts(RPCContext{0, uuidIRemoteActivation, 0, 0})},
		{name: "bind_contexts_into_auth", b: coPDU(e, RPCBind, ff, 1, bindBody(e, 2, ctxRemAct), 0, zeros(40)), ok: true, bodyOK: true,
			want: []Anomaly{RPCAuthLengthInvalid}, check: rpcWantContexts(RPCContext{0, uuidIRemoteActivation, 0, 0})},
		{name: "bind_auth_over_fixed_fields", b: e.put16(bindAuth, 10, uint16(len(bindAuth)-16-8-4)), ok: true, bodyOK: true,
			want: []Anomaly{RPCAuthLengthInvalid}, check: rpcWantContexts()},
		{name: "bind_frag_length_below_fixed", b: e.put16(bind1, 8, 20), ok: true, want: []Anomaly{RPCFragLengthInvalid}},
		{name: "bind_bad_version", b: rpcSetByte(bind1, 0, 4), ok: true, bodyOK: true, want: []Anomaly{RPCBadVersion},
			check: rpcWantContexts(RPCContext{0, uuidISystemActivator, 0, 0})},
		{name: "bind_bad_minor", b: rpcSetByte(bind1, 1, 2), ok: true, bodyOK: true, want: []Anomaly{RPCBadVersion}},
		{name: "bind_truncated_in_second_context", b: bind3, in: len(bind3) - 60, ok: true, bodyOK: true,
			check: rpcWantContexts(RPCContext{0, uuidIRemoteActivation, 0, 0}, RPCContext{1, uuidMessenger, 1, 0})},
		{name: "bind_truncated_in_fixed", b: bind1, in: 27, ok: true},
		{name: "bind_ack_not_parsed", b: coPDU(e, RPCBindAck, ff, 1, zeros(40), 0, nil), ok: true},

		// Requests.
		{name: "request", b: req, ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub), func(t *testing.T, r *rpcParsed) {
			rpcEqDeep(t, "request", r.req, RPCRequestPDU{AllocHint: 40, ContextID: 1, Opnum: 0, Stub: r.req.Stub})
			eq(t, "call id", r.h.CallID, 7)
		})},
		{name: "request_object_uuid", b: reqObj, ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub), func(t *testing.T, r *rpcParsed) {
			rpcEqDeep(t, "request", r.req, RPCRequestPDU{AllocHint: 40, ContextID: 0, Opnum: 4, Object: uuidObject, HasObject: true, Stub: r.req.Stub})
		})},
		{name: "request_ntlm_auth_padding", b: reqAuth, ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub13), func(t *testing.T, r *rpcParsed) {
			rpcEqDeep(t, "request", r.req, RPCRequestPDU{AllocHint: 13, ContextID: 2, Opnum: 3, Stub: r.req.Stub,
				HasTrailer: true, AuthType: 0x0a, AuthLevel: 6, AuthPadLen: 3})
			eq(t, "auth length", r.h.AuthLen, 16)
		})},
		{name: "request_object_ntlm_auth_padding", b: reqAuthObj, ok: true, bodyOK: true, check: rpcWantStub(stub13)},
		{name: "request_auth_no_padding", b: coPDU(e, RPCRequest, ff, 9, requestBody(e, 2, 3, nil, stub), 0, ntlmVerifier),
			ok: true, bodyOK: true, check: rpcWantStub(stub)},
		{name: "request_auth_empty_stub", b: coPDU(e, RPCRequest, ff, 9, requestBody(e, 2, 3, nil, nil), 0, ntlmVerifier),
			ok: true, bodyOK: true, check: rpcWantStub(nil)},
		{name: "request_first_fragment", b: coPDU(e, RPCRequest, RPCFirstFrag, 10, requestBody(e, 0, 0, nil, stub), 0, nil),
			ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub), func(t *testing.T, r *rpcParsed) { eq(t, "flags", r.h.Flags, RPCFirstFrag) })},
		{name: "request_middle_fragment", b: coPDU(e, RPCRequest, 0, 10, requestBody(e, 0, 0, nil, stub), 0, nil),
			ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub), func(t *testing.T, r *rpcParsed) { eq(t, "flags", r.h.Flags, 0) })},
		{name: "request_last_fragment", b: coPDU(e, RPCRequest, RPCLastFrag, 10, requestBody(e, 0, 0, nil, stub), 0, nil),
			ok: true, bodyOK: true, check: rpcChecks(rpcWantStub(stub), func(t *testing.T, r *rpcParsed) { eq(t, "flags", r.h.Flags, RPCLastFrag) })},
		{name: "request_trailing_bytes_ignored", b: cat(req, hx("05 00 0b 03")), ok: true, bodyOK: true, check: rpcWantStub(stub)},
		{name: "request_bad_version", b: rpcSetByte(req, 0, 6), ok: true, bodyOK: true, want: []Anomaly{RPCBadVersion}, check: rpcWantStub(stub)},
		{name: "request_frag_length_below_header", b: e.put16(req, 8, 10), ok: true, want: []Anomaly{RPCFragLengthInvalid}},
		{name: "request_frag_length_below_fixed", b: e.put16(req, 8, 20), ok: true, want: []Anomaly{RPCFragLengthInvalid}},
		{name: "request_object_flag_without_room", b: coPDU(e, RPCRequest, ff|RPCObjectUUID, 8, requestBody(e, 0, 4, nil, nil), 0, nil),
			ok: true, want: []Anomaly{RPCFragLengthInvalid}},
		{name: "request_frag_length_short", b: e.put16(req, 8, 30), ok: true, bodyOK: true, check: rpcWantStub(stub[:6])},
		{name: "header_auth_length_past_body", b: e.put16(req, 10, uint16(len(req)-16-8+1)), ok: true, bodyOK: true,
			want: []Anomaly{RPCAuthLengthInvalid}, check: rpcWantStub(nil)},
		{name: "header_frag_length_zero", b: e.put16(reqAuth, 8, 0), ok: true, want: []Anomaly{RPCFragLengthInvalid}},
		{name: "request_auth_over_fixed_fields", b: e.put16(e.put16(req, 8, 40), 10, 16), ok: true, bodyOK: true,
			want: []Anomaly{RPCAuthLengthInvalid}, check: rpcWantStub(nil)},
		{name: "request_auth_pad_past_stub", b: rpcSetByte(reqAuth, len(reqAuth)-len(ntlmVerifier)-6, 17), ok: true, bodyOK: true,
			want: []Anomaly{RPCAuthLengthInvalid}, check: rpcWantStub(nil)},
		{name: "request_auth_pad_whole_stub", b: rpcSetByte(reqAuth, len(reqAuth)-len(ntlmVerifier)-6, 16), ok: true, bodyOK: true,
			check: rpcWantStub(nil)},
		{name: "request_bad_version_and_auth", b: rpcSetByte(e.put16(req, 10, 0xffff), 0, 4), ok: true, bodyOK: true,
			want: []Anomaly{RPCBadVersion, RPCAuthLengthInvalid}},
		{name: "request_truncated_in_stub", b: req, in: 50, ok: true, bodyOK: true, check: rpcWantStub(stub[:26])},
		{name: "request_truncated_in_trailer", b: reqAuth, in: len(reqAuth) - len(ntlmVerifier) - 2, ok: true, bodyOK: true,
			check: rpcWantStub(cat(stub13, hx("aa aa aa")))},
		{name: "request_truncated_in_object", b: reqObj, in: 39, ok: true},
		{name: "request_truncated_in_fixed", b: req, in: 23, ok: true},
		{name: "header_truncated", b: req, in: 15},
		{name: "empty", b: nil},

		// Connectionless.
		{cl: true, name: "cl_messenger_send_message", b: cl, ok: true, check: func(t *testing.T, r *rpcParsed) {
			h := r.cl
			eq(t, "iface", h.Iface, uuidMessenger)
			eq(t, "object", h.Object, uuidObject)
			eq(t, "activity", h.Activity, uuidActivity)
			eq(t, "ptype, flags", [4]uint8{h.Version, h.PType, h.Flags1, h.Flags2}, [4]uint8{4, 0, RPCCLIdempotent | RPCCLNoFack, 0})
			eq(t, "little", h.Little, bool(e))
			eq(t, "boot, version, seq", [3]uint32{h.ServerBoot, h.IfaceVer, h.SeqNum}, [3]uint32{0x3f5a2b1c, 1, 7})
			eq(t, "opnum, hints, len, frag", [5]uint16{h.Opnum, h.IHint, h.AHint, h.BodyLen, h.FragNum}, [5]uint16{0, 0xffff, 0xffff, uint16(len(msgr)), 0})
			eq(t, "serial", h.Serial, 0x0102)
			if !bytes.Equal(h.Body, msgr) {
				t.Errorf("body % x, want % x", h.Body, msgr)
			}
		}},
		{cl: true, name: "cl_body_length_past_datagram", b: clPDU(e, 0, 0, uuidMessenger, 0, msgr, len(msgr)+1, 0, nil), ok: true,
			want: []Anomaly{RPCCLBodyLengthInvalid}, check: func(t *testing.T, r *rpcParsed) { eq(t, "body", len(r.cl.Body), len(msgr)) }},
		{cl: true, name: "cl_body_length_short_of_datagram", b: clPDU(e, 0, 0, uuidMessenger, 0, msgr, 12, 0, nil), ok: true,
			want: []Anomaly{RPCCLBodyLengthInvalid}, check: func(t *testing.T, r *rpcParsed) { eq(t, "body", len(r.cl.Body), 12) }},
		{cl: true, name: "cl_auth_trailer_after_body", b: clPDU(e, 0, 0, uuidMessenger, 0, msgr, -1, 0x0a, cat([]byte{6, 0}, ntlmVerifier)), ok: true,
			check: func(t *testing.T, r *rpcParsed) { eq(t, "body", len(r.cl.Body), len(msgr)) }},
		{cl: true, name: "cl_empty_body", b: clPDU(e, 1, 0, uuidMessenger, 0, nil, -1, 0, nil), ok: true},
		{cl: true, name: "cl_header_truncated", b: cl, in: 79},
		{cl: true, name: "cl_datagram_truncated", b: cl, in: 90, ok: true, want: []Anomaly{RPCCLBodyLengthInvalid}},
		{cl: true, name: "cl_ptype_not_connectionless", b: rpcSetByte(cl, 1, RPCBind)},
		{cl: true, name: "cl_undefined_drep", b: rpcSetByte(cl, 4, 0x20)},
		{cl: true, name: "cl_undefined_float", b: rpcSetByte(cl, 5, 4)},
	}
}

func rpcBothOrders() []rpcCase {
	var out []rpcCase
	for _, e := range []rpcEnc{true, false} {
		for _, c := range rpcCases(e) {
			c.name = e.String() + "/" + c.name
			out = append(out, c)
		}
	}
	return out
}

func TestDCERPC(t *testing.T) {
	for _, c := range rpcBothOrders() {
		t.Run(c.name, func(t *testing.T) {
			in := c.input()
			var r rpcParsed
			parseRPC(in, c.cl, &r)
			if r.ok != c.ok || r.bodyOK != c.bodyOK {
				t.Errorf("ok %v, body ok %v; want %v, %v", r.ok, r.bodyOK, c.ok, c.bodyOK)
			}
			if got := r.as.List(); !slices.Equal(got, c.want) {
				t.Errorf("anomalies %v, want %v", got, c.want)
			}
			checkRPCViews(t, in, &r)
			if c.check != nil {
				c.check(t, &r)
			}
		})
	}
}

// checkRPCViews checks that every slice the parsers returned lies within in and that the stored
// contexts are within bounds.
func checkRPCViews(t *testing.T, in []byte, r *rpcParsed) {
	t.Helper()
	for _, v := range []struct {
		name string
		s    []byte
	}{{"stub", r.req.Stub}, {"cl body", r.cl.Body}} {
		if v.s != nil && offsetIn(in, v.s) < 0 {
			t.Fatalf("%s is not within the input", v.name)
		}
		if cap(v.s) != len(v.s) {
			t.Fatalf("%s: capacity %d beyond its length %d", v.name, cap(v.s), len(v.s))
		}
	}
	if n := r.bind.NumContexts; n < 0 || n > MaxRPCContexts || n > r.bind.Offered {
		t.Fatalf("NumContexts %d, Offered %d", n, r.bind.Offered)
	}
	if len(r.req.Stub) > int(r.h.FragLen) {
		t.Fatalf("stub of %d bytes in a fragment of %d", len(r.req.Stub), r.h.FragLen)
	}
}

// TestDCERPCEveryAnomalyAlone: each code the parsers raise is raised alone by some case.
func TestDCERPCEveryAnomalyAlone(t *testing.T) {
	alone := map[Anomaly]bool{}
	for _, c := range rpcBothOrders() {
		if len(c.want) == 1 {
			alone[c.want[0]] = true
		}
	}
	for _, c := range ndrCases(true) {
		if len(c.want) == 1 {
			alone[c.want[0]] = true
		}
	}
	for _, a := range []Anomaly{RPCBadVersion, RPCFragLengthInvalid, RPCAuthLengthInvalid, RPCTooManyContexts, RPCNDRStringInvalid, RPCCLBodyLengthInvalid} {
		if !alone[a] {
			t.Errorf("no case raises exactly %s", a)
		}
	}
}

// TestDCERPCTruncated feeds every prefix of every case. A connection-oriented PDU cut short is
// never an anomaly it did not have whole, and what is parsed from a prefix agrees with the
// whole; a connectionless datagram cut short is RPCCLBodyLengthInvalid (the datagram is the
// PDU).
func TestDCERPCTruncated(t *testing.T) {
	for _, c := range rpcBothOrders() {
		full := c.input()
		var whole, r rpcParsed
		parseRPC(full, c.cl, &whole)
		cl := c.cl
		for n := range len(full) {
			in := full[:n]
			parseRPC(in, cl, &r)
			checkRPCViews(t, in, &r)
			for _, a := range r.as.List() {
				if !whole.as.Has(a) && !(cl && a == RPCCLBodyLengthInvalid) {
					t.Fatalf("%s cut to %d: anomaly %s, whole %v", c.name, n, a, whole.as.List())
				}
			}
			if !cl && r.ok != (n >= rpcHeaderLen) {
				t.Fatalf("%s cut to %d: ok %v", c.name, n, r.ok)
			}
			if cl && r.ok != (whole.ok && n >= rpcCLHeaderLen) {
				t.Fatalf("%s cut to %d: cl ok %v", c.name, n, r.ok)
			}
			if r.bodyOK && !whole.bodyOK {
				t.Fatalf("%s cut to %d: body parsed, not whole", c.name, n)
			}
			if got, want := r.bind.Contexts[:r.bind.NumContexts], whole.bind.Contexts[:min(r.bind.NumContexts, whole.bind.NumContexts)]; !slices.Equal(got, want) {
				t.Fatalf("%s cut to %d: contexts %v, whole %v", c.name, n, got, want)
			}
			if s, w := r.req.Stub, whole.req.Stub; !bytes.HasPrefix(s, w) && !bytes.HasPrefix(w, s) {
				t.Fatalf("%s cut to %d: stub % x, whole % x", c.name, n, s, w)
			}
			if b, w := r.cl.Body, whole.cl.Body; !bytes.HasPrefix(w, b) {
				t.Fatalf("%s cut to %d: cl body % x, whole % x", c.name, n, b, w)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// UUIDs and content detection.

func TestUUID(t *testing.T) {
	const text = "5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc"
	u := MustUUID(text)
	eq(t, "canonical bytes", u, UUID(hx("5a 7b 91 f8 ff 00 11 d0 a9 b2 00 c0 4f b6 e6 fc")))
	eq(t, "String", u.String(), text)
	eq(t, "upper case", MustUUID(strings.ToUpper(text)), u)
	eq(t, "little-endian wire", ParseUUID(hx("f8 91 7b 5a 00 ff d0 11 a9 b2 00 c0 4f b6 e6 fc"), true), u)
	eq(t, "big-endian wire", ParseUUID(hx("5a 7b 91 f8 ff 00 11 d0 a9 b2 00 c0 4f b6 e6 fc 99"), false), u)
	eq(t, "short", ParseUUID(hx("5a 7b 91 f8 ff 00 11 d0 a9 b2 00 c0 4f b6 e6"), false), UUID{})
	eq(t, "zero", UUID{}.String(), "00000000-0000-0000-0000-000000000000")
	for _, e := range []rpcEnc{true, false} {
		for _, v := range []UUID{uuidISystemActivator, uuidIRemoteActivation, uuidMessenger, uuidQMComm, uuidNDR64} {
			eq(t, "round trip "+e.String(), ParseUUID(e.uuid(v), bool(e)), v)
			eq(t, "text round trip", MustUUID(v.String()), v)
		}
	}
	for _, bad := range []string{"", text[:35], text + "0", "5a7b91f8-ff00-11d0-a9b2_00c04fb6e6fc", "5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fg",
		"{5a7b91f8-ff00-11d0-a9b2-00c04fb6e6f}", "5a7b91f8ff00-11d0-a9b2-00c04fb6e6fc-"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("MustUUID(%q) did not panic", bad)
				}
			}()
			MustUUID(bad)
		}()
	}
}

func TestLooksLikeRPC(t *testing.T) {
	for _, e := range []rpcEnc{true, false} {
		bind := coPDU(e, RPCBind, 3, 1, bindBody(e, -1, bindCtx{0, uuidISystemActivator, 0, 0, nil}), 0, nil)
		for _, c := range []struct {
			name string
			b    []byte
			want bool
		}{
			{"bind", bind, true},
			{"bind_5_1", rpcSetByte(bind, 1, 1), true},
			{"header_only", bind[:16], true},
			{"request", coPDU(e, RPCRequest, 3, 1, requestBody(e, 0, 0, nil, nil), 0, nil), true},
			{"orphaned", coPDU(e, RPCOrphaned, 3, 1, nil, 0, nil), true},
			{"rts", coPDU(e, RPCRTS, 3, 1, zeros(4), 0, nil), true},
			{"ebcdic_vax", rpcSetByte(rpcSetByte(bind, 4, bind[4]|1), 5, 1), true},
			{"short", bind[:15], false},
			{"version_4", rpcSetByte(bind, 0, 4), false},
			{"minor_2", rpcSetByte(bind, 1, 2), false},
			{"cl_ptype_ping", rpcSetByte(bind, 2, 1), false},
			{"cl_ptype_ack", rpcSetByte(bind, 2, 7), false},
			{"ptype_21", rpcSetByte(bind, 2, 21), false},
			{"drep_integer_2", rpcSetByte(bind, 4, 0x20), false},
			{"drep_char_2", rpcSetByte(bind, 4, bind[4]|2), false},
			{"drep_float_4", rpcSetByte(bind, 5, 4), false},
			{"frag_length_15", e.put16(bind, 8, 15), false},
			{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		} {
			if got := LooksLikeRPC(c.b); got != c.want {
				t.Errorf("%s/%s: %v, want %v", e, c.name, got, c.want)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// NDR.

type ndrCase struct {
	name     string
	stub     []byte
	off      int
	charSize int
	ok       bool
	want     []Anomaly
	s        NDRString // Data compared by content
}

func ndrCases(e rpcEnc) []ndrCase {
	hello := ndrStr(e, "hello\x00", -1, 0, -1)
	return []ndrCase{
		{name: "consistent", stub: hello, charSize: 1, ok: true, s: NDRString{6, 0, 6, []byte("hello\x00"), 18}},
		{name: "misaligned_offset", stub: cat(zeros(4), hello), off: 1, charSize: 1, ok: true, s: NDRString{6, 0, 6, []byte("hello\x00"), 22}},
		{name: "max_larger", stub: ndrStr(e, "hi\x00", 64, 0, -1), charSize: 1, ok: true, s: NDRString{64, 0, 3, []byte("hi\x00"), 15}},
		{name: "wide", stub: ndrWStr(e, "hi\x00"), charSize: 2, ok: true, s: NDRString{3, 0, 3, cat(e.u16('h'), e.u16('i'), e.u16(0)), 18}},
		{name: "empty", stub: ndrStr(e, "", 0, 0, 0), charSize: 1, ok: true, s: NDRString{0, 0, 0, nil, 12}},
		{name: "offset_plus_actual_past_max", stub: ndrStr(e, "hello\x00", 4, 0, -1), charSize: 1, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{4, 0, 6, []byte("hello\x00"), 18}},
		{name: "offset_past_max", stub: ndrStr(e, "hello\x00", 6, 1, -1), charSize: 1, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{6, 1, 6, []byte("hello\x00"), 18}},
		{name: "offset_wraps_32_bits", stub: ndrStr(e, "h", 0xffffffff, 0xffffffff, 1), charSize: 1, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{0xffffffff, 0xffffffff, 1, []byte("h"), 13}},
		{name: "actual_past_stub", stub: ndrStr(e, "hello\x00", 1000, 0, 1000)[:18], charSize: 1, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{1000, 0, 1000, []byte("hello\x00"), 18}},
		{name: "both_disagree", stub: ndrStr(e, "AAAA", 2, 0, 0xffffffff)[:16], charSize: 2, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{2, 0, 0xffffffff, []byte("AAAA"), 16}},
		{name: "counts_only", stub: ndrStr(e, "", 5, 0, 5), charSize: 1, ok: true,
			want: []Anomaly{RPCNDRStringInvalid}, s: NDRString{5, 0, 5, nil, 12}},
		{name: "counts_truncated", stub: hello[:11], charSize: 1},
		{name: "aligned_past_end", stub: hello[:13], off: 1, charSize: 1},
		{name: "bad_char_size", stub: hello, charSize: 3},
		{name: "negative_offset", stub: hello, off: -4, charSize: 1},
	}
}

func TestNDRString(t *testing.T) {
	for _, e := range []rpcEnc{true, false} {
		for _, c := range ndrCases(e) {
			var s NDRString
			var as Anomalies
			ok := ParseNDRString(c.stub, c.off, bool(e), c.charSize, &s, &as)
			name := e.String() + "/" + c.name
			if ok != c.ok {
				t.Errorf("%s: ok %v, want %v", name, ok, c.ok)
			}
			if got := as.List(); !slices.Equal(got, c.want) {
				t.Errorf("%s: anomalies %v, want %v", name, got, c.want)
			}
			if s.MaxCount != c.s.MaxCount || s.Offset != c.s.Offset || s.ActualCount != c.s.ActualCount || s.End != c.s.End || !bytes.Equal(s.Data, c.s.Data) {
				t.Errorf("%s: %+v, want %+v", name, s, c.s)
			}
			if s.Data != nil && (offsetIn(c.stub, s.Data) < 0 || cap(s.Data) != len(s.Data)) {
				t.Errorf("%s: Data not a clipped view of the stub", name)
			}
		}
	}
}

func TestNDRPrimitives(t *testing.T) {
	for _, c := range [][3]int{{0, 4, 0}, {1, 4, 4}, {4, 4, 4}, {5, 8, 8}, {7, 2, 8}, {3, 1, 3}, {3, 0, 3}, {9, 8, 16}} {
		eq(t, "NDRAlign", NDRAlign(c[0], c[1]), c[2])
	}
	b := hx("01 02 03 04 05 06 07 08")
	for _, c := range []struct {
		off    int
		little bool
		v      uint32
		ok     bool
	}{{0, true, 0x04030201, true}, {0, false, 0x01020304, true}, {4, false, 0x05060708, true}, {1, true, 0x05040302, true},
		{5, true, 0, false}, {-1, true, 0, false}, {8, true, 0, false}} {
		v, ok := NDRUint32(b, c.off, c.little)
		if v != c.v || ok != c.ok {
			t.Errorf("NDRUint32(%d, %v) = %#x, %v; want %#x, %v", c.off, c.little, v, ok, c.v, c.ok)
		}
	}
	stub := hx("ff ff", "00 00", "00 00 02 00", "00 00 00 00")
	for _, c := range []struct {
		off, next int
		little    bool
		ref       uint32
		ok        bool
	}{{1, 8, true, 0x00020000, true}, {4, 8, false, 0x00000200, true}, {8, 12, true, 0, true}, {9, 0, true, 0, false}, {-2, 0, true, 0, false}} {
		ref, next, ok := NDRPointer(stub, c.off, c.little)
		if ref != c.ref || next != c.next || ok != c.ok {
			t.Errorf("NDRPointer(%d) = %#x, %d, %v; want %#x, %d, %v", c.off, ref, next, ok, c.ref, c.next, c.ok)
		}
	}
}

// messengerStrings parses NetrSendMessage's three strings from a stub, each after the last.
func messengerStrings(stub []byte, little bool, out *[3]NDRString, as *Anomalies) int {
	off := 0
	for i := range out {
		if !ParseNDRString(stub, off, little, 1, &out[i], as) {
			return i
		}
		off = out[i].End
	}
	return len(out)
}

// TestMessengerSendMessage parses the MS03-043 shape end to end: a connectionless request to
// the Messenger interface, opnum 0, whose stub is three [string] char* arguments.
func TestMessengerSendMessage(t *testing.T) {
	for _, e := range []rpcEnc{true, false} {
		long := strings.Repeat("A", 3000)
		for _, c := range []struct {
			name  string
			stub  []byte
			want  []Anomaly
			texts [3]string
		}{
			{"consistent", messengerStub(e, "ALICE", "BOB", "hello"), nil, [3]string{"ALICE\x00", "BOB\x00", "hello\x00"}},
			{"consistent_long", messengerStub(e, "ALICE", "BOB", long), nil, [3]string{"ALICE\x00", "BOB\x00", long + "\x00"}},
			{"offset_plus_actual_past_max", cat(ndrStr(e, "ALICE\x00", -1, 0, -1), ndrStr(e, "BOB\x00", -1, 0, -1), ndrStr(e, long, 16, 0, -1)),
				[]Anomaly{RPCNDRStringInvalid}, [3]string{"ALICE\x00", "BOB\x00", long}},
			{"actual_past_stub", cat(ndrStr(e, "ALICE\x00", -1, 0, -1), ndrStr(e, "BOB\x00", -1, 0, -1), ndrStr(e, "hi", 4000, 0, 4000)),
				[]Anomaly{RPCNDRStringInvalid}, [3]string{"ALICE\x00", "BOB\x00", "hi\x00\x00"}},
		} {
			pdu := clPDU(e, 0, RPCCLIdempotent, uuidMessenger, 0, c.stub, -1, 0, nil)
			var h RPCCLHeader
			var as Anomalies
			if !ParseRPCCL(pdu, &h, &as) || h.Iface != uuidMessenger || h.Opnum != 0 || len(as.List()) != 0 {
				t.Fatalf("%s/%s: header %v %v %v", e, c.name, h.Iface, h.Opnum, as.List())
			}
			var s [3]NDRString
			if n := messengerStrings(h.Body, h.Little, &s, &as); n != 3 {
				t.Fatalf("%s/%s: %d strings", e, c.name, n)
			}
			for i := range s {
				if string(s[i].Data) != c.texts[i] {
					t.Errorf("%s/%s: string %d %q, want %q", e, c.name, i, s[i].Data, c.texts[i])
				}
			}
			if got := as.List(); !slices.Equal(got, c.want) {
				t.Errorf("%s/%s: anomalies %v, want %v", e, c.name, got, c.want)
			}
			// Every cut of the stub: the strings present agree with the whole.
			for n := range len(c.stub) {
				var cut [3]NDRString
				var cas Anomalies
				k := messengerStrings(c.stub[:n], bool(e), &cut, &cas)
				for i := range k {
					if !strings.HasPrefix(c.texts[i], string(cut[i].Data)) || cut[i].End > n {
						t.Fatalf("%s/%s cut to %d: string %d %q", e, c.name, n, i, cut[i].Data)
					}
				}
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The shared real captures.

// TestDCERPCCaptures parses the DCE/RPC in the shared captures of benign traffic (see
// SOURCES.md there): connection-oriented PDUs at the start of TCP payloads (TCP 135 and
// dynamic endpoints), PDUs ending an SMB2 payload (named pipes: WRITE/READ/IOCTL carry one
// PDU as their last bytes), and connectionless PDUs over UDP. None may raise an anomaly.
func TestDCERPCCaptures(t *testing.T) {
	dir, all := corpusDir()
	var files []string
	for _, f := range all {
		b := filepath.Base(f)
		if m, _ := filepath.Match("dcerpc-*.pcap*", b); m || strings.HasPrefix(b, "dcom-") && strings.HasSuffix(b, ".pcapng") ||
			strings.HasPrefix(b, "smb-win-") && strings.HasSuffix(b, ".pcap") {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		msg := "no DCE/RPC captures (dcerpc-*.pcap*, dcom-*.pcapng, smb-win-*.pcap) in " + dir + "; set IDS_SHARED_PCAPS"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var total rpcCounts
	for _, f := range files {
		c := scanRPCCapture(t, f, true)
		t.Logf("%-58s CO %4d (bind/alter %3d, request %3d)  in SMB %3d  CL %3d", filepath.Base(f), c.co, c.bind, c.req, c.embedded, c.cl)
		total.add(c)
	}
	t.Logf("total: %d connection-oriented PDUs at TCP payload start and %d ending SMB payloads (%d bind/alter_context with %d contexts, "+
		"%d requests, %d with a sec_trailer, %d of them single-fragment with alloc_hint = stub length), %d connectionless",
		total.co, total.embedded, total.bind, total.contexts, total.req, total.authReq, total.hintExact, total.cl)
	// The captures hold 855, 266, 48, 509, 387, 387 and 26 of these.
	if total.co < 800 || total.embedded < 250 || total.bind < 45 || total.req < 480 || total.authReq < 350 || total.hintExact < 350 || total.cl < 26 {
		t.Errorf("too few PDUs found: %+v", total)
	}

	// Content detection on everything else: informational (these may contain binary data that
	// happens to look like a PDU header), and no panics.
	var other rpcCounts
	for _, f := range all {
		if !slices.Contains(files, f) {
			other.add(scanRPCCapture(t, f, false))
		}
	}
	t.Logf("other captures: %d payloads taken for connection-oriented PDUs (%d with anomalies), %d in SMB, %d connectionless",
		other.co, other.anomalous, other.embedded, other.cl)
}

type rpcCounts struct{ co, bind, contexts, req, authReq, hintExact, embedded, cl, anomalous int }

func (c *rpcCounts) add(o rpcCounts) {
	c.co += o.co
	c.bind += o.bind
	c.contexts += o.contexts
	c.req += o.req
	c.authReq += o.authReq
	c.embedded += o.embedded
	c.cl += o.cl
	c.hintExact += o.hintExact
	c.anomalous += o.anomalous
}

// scanRPCCapture counts the PDUs of one capture; strict: any anomaly is an error.
func scanRPCCapture(t *testing.T, path string, strict bool) rpcCounts {
	t.Helper()
	f, err := capture.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	name := filepath.Base(path)
	var c rpcCounts
	var p Packet
	var r rpcParsed
	check := func(i int, what string, pdu []byte) {
		parseRPC(pdu, false, &r)
		checkRPCViews(t, pdu, &r)
		if len(r.as.List()) > 0 {
			c.anomalous++
			if strict {
				t.Errorf("%s packet %d: %s: anomalies %v, header %+v", name, i, what, r.as.List(), r.h)
			}
		}
		switch {
		case r.bodyOK && r.h.PType == RPCRequest:
			c.req++
			if r.req.HasTrailer {
				c.authReq++
			}
			// A single-fragment request's alloc_hint is its stub length (Windows and Samba
			// both set it): this checks that padding and verifier were cut exactly.
			if r.h.Flags&3 == 3 && r.req.HasTrailer && r.req.AllocHint != 0 {
				if int(r.req.AllocHint) == len(r.req.Stub) {
					c.hintExact++
				} else if strict {
					t.Errorf("%s packet %d: alloc_hint %d, stub %d bytes (pad %d)", name, i, r.req.AllocHint, len(r.req.Stub), r.req.AuthPadLen)
				}
			}
		case r.bodyOK:
			c.bind++
			c.contexts += r.bind.NumContexts
		}
	}
	for i := 1; ; i++ {
		data, info, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
		pl := p.Payload
		switch {
		case p.Has(LayerTCP) && LooksLikeRPC(pl):
			// One or more whole PDUs, the last possibly continued in the next segment.
			for rest := pl; LooksLikeRPC(rest); {
				var h RPCHeader
				ParseRPCHeader(rest, &h, nil)
				check(i, "tcp", rest[:min(int(h.FragLen), len(rest))])
				c.co++
				if int(h.FragLen) >= len(rest) {
					break
				}
				rest = rest[h.FragLen:]
			}
		case p.Has(LayerTCP) && (p.SrcPort == 445 || p.DstPort == 445 || p.SrcPort == 139 || p.DstPort == 139):
			for j := 1; j+rpcHeaderLen <= len(pl); j++ {
				var h RPCHeader
				if pl[j] == 5 && LooksLikeRPC(pl[j:]) && ParseRPCHeader(pl[j:], &h, nil) && j+int(h.FragLen) == len(pl) {
					check(i, "smb", pl[j:])
					c.embedded++
					break
				}
			}
		case p.Has(LayerUDP) && len(pl) > 0 && pl[0] == 4:
			var as Anomalies
			var h RPCCLHeader
			if ParseRPCCL(pl, &h, &as) {
				c.cl++
				if len(as.List()) > 0 && strict {
					t.Errorf("%s packet %d: connectionless anomalies %v (len %d, %d bytes after the header)", name, i, as.List(), h.BodyLen, len(pl)-rpcCLHeaderLen)
				}
			}
		}
	}
	return c
}

// ---------------------------------------------------------------------------------------------
// Allocations, benchmark, fuzzing.

// rpcAll is what every parser made of one input (runAllRPC), for the fuzz target.
type rpcAll struct {
	h    RPCHeader
	bind RPCBindPDU
	req  RPCRequestPDU
	cl   RPCCLHeader
	s    [6]NDRString
	ref  [3]uint32
	as   [4]Anomalies
	ok   [12]bool
	u    UUID
}

var ndrOffsets = [3]int{0, 5, 24}

func runAllRPC(b []byte, r *rpcAll) {
	*r = rpcAll{}
	r.ok[0] = ParseRPCHeader(b, &r.h, &r.as[0])
	h := r.h
	h.PType = RPCBind
	r.ok[1] = ParseRPCBind(b, &h, &r.bind, &r.as[1])
	h.PType = RPCRequest
	r.ok[2] = ParseRPCRequest(b, &h, &r.req, &r.as[1])
	r.ok[3] = ParseRPCCL(b, &r.cl, &r.as[2])
	little := len(b) > 4 && b[4]&0x10 != 0
	for i, off := range ndrOffsets {
		r.ok[4+2*i] = ParseNDRString(b, off, little, 1, &r.s[2*i], &r.as[3])
		r.ok[5+2*i] = ParseNDRString(b, off, !little, 2, &r.s[2*i+1], &r.as[3])
		r.ref[i], _, _ = NDRPointer(b, off+1, little)
	}
	r.u = ParseUUID(b, little)
}

func TestDCERPCAllocs(t *testing.T) {
	var inputs [][]byte
	for _, c := range rpcBothOrders() {
		inputs = append(inputs, c.input())
	}
	for _, e := range []rpcEnc{true, false} {
		for _, c := range ndrCases(e) {
			inputs = append(inputs, c.stub)
		}
		inputs = append(inputs, messengerStub(e, "ALICE", "BOB", "hello"))
	}
	var r rpcAll
	var p rpcParsed
	var s [3]NDRString
	var as Anomalies
	allocs := testing.AllocsPerRun(20, func() {
		for _, in := range inputs {
			runAllRPC(in, &r)
			parseRPC(in, len(in) > 0 && in[0] == 4, &p)
			messengerStrings(in, true, &s, &as)
			LooksLikeRPC(in)
			NDRUint32(in, 4, true)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pass over %d inputs", allocs, len(inputs))
	}
}

func BenchmarkDCERPC(b *testing.B) {
	e := rpcEnc(true)
	bind3 := coPDU(e, RPCBind, 3, 2, bindBody(e, -1, bindCtx{0, uuidIRemoteActivation, 0, 0, nil},
		bindCtx{1, uuidMessenger, 1, 0, []UUID{uuidNDR, uuidNDR64}}, bindCtx{2, uuidQMComm, 1, 0, nil}), 0, nil)
	reqAuth := coPDU(e, RPCRequest, 3, 9, requestBody(e, 2, 3, nil, make([]byte, 1000)), 0, ntlmVerifier)
	stub := messengerStub(e, "ALICE", "BOB", strings.Repeat("hello ", 20))
	cl := clPDU(e, 0, RPCCLIdempotent, uuidMessenger, 0, stub, -1, 0, nil)
	var h RPCHeader
	var as Anomalies
	run := func(name string, n int, f func()) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				as = Anomalies{}
				f()
			}
		})
	}
	run("looks_like", len(bind3), func() { LooksLikeRPC(bind3) })
	run("header", 16, func() { ParseRPCHeader(bind3, &h, &as) })
	var bind RPCBindPDU
	run("bind_3_contexts", len(bind3), func() { ParseRPCHeader(bind3, &h, &as); ParseRPCBind(bind3, &h, &bind, &as) })
	var req RPCRequestPDU
	run("request_ntlm", len(reqAuth), func() { ParseRPCHeader(reqAuth, &h, &as); ParseRPCRequest(reqAuth, &h, &req, &as) })
	var clh RPCCLHeader
	var s [3]NDRString
	run("cl_messenger_3_strings", len(cl), func() { ParseRPCCL(cl, &clh, &as); messengerStrings(clh.Body, clh.Little, &s, &as) })
}

// FuzzDCERPC feeds any bytes to every parser: no panic, every view within the input, at most
// MaxRPCContexts contexts stored, and the same result twice.
func FuzzDCERPC(f *testing.F) {
	for _, c := range rpcBothOrders() {
		f.Add(c.input())
	}
	for _, e := range []rpcEnc{true, false} {
		for _, c := range ndrCases(e) {
			f.Add(c.stub)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r, again rpcAll
		runAllRPC(data, &r)
		for _, v := range [][]byte{r.req.Stub, r.cl.Body, r.s[0].Data, r.s[1].Data, r.s[2].Data, r.s[3].Data, r.s[4].Data, r.s[5].Data} {
			if v != nil && (offsetIn(data, v) < 0 || cap(v) != len(v)) {
				t.Fatalf("view outside the input or not clipped")
			}
		}
		for i, s := range r.s {
			if len(s.Data) > 0 && offsetIn(data, s.Data)+len(s.Data) != s.End || s.End > len(data) {
				t.Fatalf("string %d: End %d, data at %d+%d", i, s.End, offsetIn(data, s.Data), len(s.Data))
			}
		}
		if n := r.bind.NumContexts; n > MaxRPCContexts || n > r.bind.Offered || n < 0 {
			t.Fatalf("NumContexts %d, Offered %d", n, r.bind.Offered)
		}
		if r.ok[2] && len(r.req.Stub) > int(r.h.FragLen) {
			t.Fatalf("stub of %d bytes in a fragment of %d", len(r.req.Stub), r.h.FragLen)
		}
		if r.ok[0] != (len(data) >= rpcHeaderLen) {
			t.Fatalf("header ok %v for %d bytes", r.ok[0], len(data))
		}
		runAllRPC(data, &again)
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("not deterministic")
		}
		// The body parsers depend only on the first frag_length bytes.
		if r.ok[0] && r.h.FragLen >= rpcHeaderLen && int(r.h.FragLen) < len(data) {
			runAllRPC(data[:r.h.FragLen], &again)
			if !reflect.DeepEqual(r.bind, again.bind) || r.as[1] != again.as[1] || r.ok[1] != again.ok[1] || r.ok[2] != again.ok[2] ||
				!bytes.Equal(r.req.Stub, again.req.Stub) {
				t.Fatalf("bytes past frag_length changed the body")
			}
		}
	})
}
