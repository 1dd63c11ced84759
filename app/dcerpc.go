package app

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
)

// Connection-oriented DCE/RPC (C706 chapter 12, ncacn_ip_tcp): the client's byte stream is a
// sequence of PDUs, each a 16-byte common header whose frag_length covers the whole PDU. Binds
// and alter_contexts name the interfaces behind presentation context ids; requests name a
// context and an opnum and may be split into fragments (first-frag to last-frag, one call id)
// whose stubs are joined before the detectors see the call.
const (
	portEPM     = 135 // endpoint mapper, and the exploits' usual target
	portRPCHTTP = 593 // ncacn_http

	rpcBuffers  = 64       // PDUs being assembled plus requests being joined, at once
	rpcBufSize  = 64 << 10 // one PDU (frag_length is 16 bits) or one joined stub
	rpcCtxPools = 4096     // connections with presentation contexts, at once
	rpcHdrLen   = 16
)

// rpcCtxTable is one connection's presentation contexts.
type rpcCtxTable struct {
	ctx [decode.MaxRPCContexts]decode.RPCContext
	n   int
}

// rpcState is one connection's client-direction framing state.
type rpcState struct {
	hdr     [rpcHdrLen]byte
	hdrN    uint8
	probe   bool // the next header must look like DCE/RPC (content detection, after a gap)
	dead    bool // framing lost: stop
	skip    bool // the current PDU is not parsed (type of no interest, no buffer, after a gap)
	need    int  // bytes of the current PDU still to come
	buf     int32
	have    int   // bytes of the current PDU held in buf
	ctx     int32 // context table, -1 none
	ctxLost bool  // a bind found no table free: contexts are unknown, not absent
	join    int32 // buffer of the request being joined, -1 none
	joinLen int
	call    uint32 // its call id
	frags   int
	ctxID   uint16
	opnum   uint16
	over    bool // the join reached its cap
	seen    bool // a PDU header was read (the connection is counted)
}

func (st *rpcState) reset(probe bool) { *st = rpcState{probe: probe, buf: -1, ctx: -1, join: -1} }

// rpcRelease returns every buffer and table the connection holds.
func (l *Layer) rpcRelease(st *rpcState) {
	l.rpcDropPDU(st)
	l.rpcDropJoin(st)
	if st.ctx >= 0 {
		l.rpcFreeCtx = append(l.rpcFreeCtx, st.ctx)
		st.ctx = -1
	}
}

func (l *Layer) rpcDropPDU(st *rpcState) {
	if st.buf >= 0 {
		l.rpcPool.put(st.buf)
		st.buf = -1
	}
	st.have = 0
}

func (l *Layer) rpcDropJoin(st *rpcState) {
	if st.join >= 0 {
		l.rpcPool.put(st.join)
		st.join = -1
	}
	st.joinLen, st.frags, st.over = 0, 0, false
}

// rpcGap makes the connection give up the PDU and the request in progress after n lost bytes.
// A gap inside the current PDU's body leaves the next PDU's start known; any other leaves it
// unknown, and parsing resumes only if the bytes after the gap start like a PDU.
func (l *Layer) rpcGap(st *rpcState, n uint32) {
	l.rpcDropPDU(st)
	l.rpcDropJoin(st)
	if st.need > 0 && uint64(n) < uint64(st.need) && st.hdrN == 0 {
		st.need -= int(n)
		st.skip = true
		return
	}
	st.need, st.hdrN, st.skip, st.probe = 0, 0, false, true
}

// rpcData frames client bytes into PDUs and parses binds, alter_contexts and requests.
func (l *Layer) rpcData(in *detectors.Input, st *rpcState, b []byte, out *detectors.Emitter) {
	for len(b) > 0 && !st.dead {
		if st.need == 0 {
			if st.hdrN == 0 && len(b) >= rpcHdrLen {
				if !l.rpcHeader(in, st, b[:rpcHdrLen]) {
					return
				}
				if frag := st.need; frag <= len(b) { // the whole PDU in one piece: parse it in place
					st.need = 0
					if !st.skip {
						l.rpcPDU(in, st, b[:frag], out)
					}
					b = b[frag:]
					continue
				}
				// Assembled from pieces: the header joins the body below.
				n := copy(st.hdr[:], b)
				b = b[n:]
				l.rpcBegin(st)
				continue
			}
			n := copy(st.hdr[st.hdrN:], b)
			st.hdrN += uint8(n)
			b = b[n:]
			if int(st.hdrN) < rpcHdrLen {
				return
			}
			st.hdrN = 0
			if !l.rpcHeader(in, st, st.hdr[:]) {
				return
			}
			l.rpcBegin(st)
			if st.need == 0 && !st.skip { // a PDU of just a header
				l.rpcPDU(in, st, st.hdr[:], out)
			}
			continue
		}
		chunk := b[:min(len(b), st.need)]
		b = b[len(chunk):]
		st.need -= len(chunk)
		if st.skip || st.buf < 0 {
			continue
		}
		st.have += copy(l.rpcPool.bytes(st.buf)[st.have:], chunk)
		if st.need == 0 {
			l.rpcPDU(in, st, l.rpcPool.bytes(st.buf)[:st.have], out)
			l.rpcDropPDU(st)
		}
	}
}

// rpcHeader starts a PDU from its 16 header bytes: st.need becomes its frag_length (the
// caller subtracts the header). false when the stream is not DCE/RPC framed, after which the
// connection is no longer parsed.
func (l *Layer) rpcHeader(in *detectors.Input, st *rpcState, hb []byte) bool {
	if st.probe {
		if !decode.LooksLikeRPC(hb) {
			st.dead = true
			return false
		}
		st.probe = false
	}
	if !st.seen {
		st.seen = true
		l.Stats.Flows[ProtoRPC]++
	}
	var as decode.Anomalies
	h := &l.rpcHdr
	decode.ParseRPCHeader(hb, h, &as)
	for _, a := range as.List() {
		in.P.Record(a)
	}
	if h.FragLen < rpcHdrLen {
		st.dead = true
		return false
	}
	st.need = int(h.FragLen)
	st.skip = h.Major != 5 || h.PType != decode.RPCRequest && h.PType != decode.RPCBind && h.PType != decode.RPCAlterContext
	return true
}

// rpcBegin readies the assembly of a PDU whose header is in st.hdr and whose body comes in
// pieces: a buffer when the PDU is parsed, or a drop counted when the pool is exhausted.
func (l *Layer) rpcBegin(st *rpcState) {
	st.need -= rpcHdrLen
	if st.skip || st.need == 0 {
		return
	}
	if st.buf = l.rpcPool.get(); st.buf < 0 {
		l.Stats.BufferDrops++
		st.skip = true
		if l.rpcHdr.PType == decode.RPCRequest {
			l.rpcDropJoin(st) // a fragment of the request is missing: give the request up
		}
		return
	}
	st.have = copy(l.rpcPool.bytes(st.buf), st.hdr[:])
}

// rpcPDU parses one whole PDU (header included).
func (l *Layer) rpcPDU(in *detectors.Input, st *rpcState, pdu []byte, out *detectors.Emitter) {
	h := &l.rpcHdr
	var hs decode.Anomalies // recorded with the header
	decode.ParseRPCHeader(pdu, h, &hs)
	as := hs
	switch h.PType {
	case decode.RPCBind, decode.RPCAlterContext:
		if decode.ParseRPCBind(pdu, h, &l.rpcBind, &as) {
			l.rpcBound(st, &l.rpcBind)
		}
	case decode.RPCRequest:
		if decode.ParseRPCRequest(pdu, h, &l.rpcReq, &as) {
			l.rpcRequest(in, st, h, &l.rpcReq, out)
		}
	}
	for _, a := range as.List() {
		if !hs.Has(a) {
			in.P.Record(a)
		}
	}
}

// rpcBound records the contexts a bind or alter_context proposes (an id proposed again takes
// the new interface), up to decode.MaxRPCContexts per connection.
func (l *Layer) rpcBound(st *rpcState, b *decode.RPCBindPDU) {
	if b.NumContexts == 0 {
		return
	}
	if st.ctx < 0 {
		n := len(l.rpcFreeCtx)
		if n == 0 {
			st.ctxLost = true
			l.Stats.BufferDrops++
			return
		}
		st.ctx = l.rpcFreeCtx[n-1]
		l.rpcFreeCtx = l.rpcFreeCtx[:n-1]
		l.rpcCtx[st.ctx].n = 0
	}
	t := &l.rpcCtx[st.ctx]
	for i := range b.Contexts[:b.NumContexts] {
		c := &b.Contexts[i]
		j := 0
		for j < t.n && t.ctx[j].ID != c.ID {
			j++
		}
		if j == len(t.ctx) {
			continue // the table is full
		}
		t.ctx[j] = *c
		if j == t.n {
			t.n++
		}
	}
}

// rpcLookup finds a context id; ok is false when the connection never bound it.
func (l *Layer) rpcLookup(st *rpcState, id uint16) (*decode.RPCContext, bool) {
	if st.ctx < 0 {
		return nil, false
	}
	t := &l.rpcCtx[st.ctx]
	for i := range t.ctx[:t.n] {
		if t.ctx[i].ID == id {
			return &t.ctx[i], true
		}
	}
	return nil, false
}

// rpcRequest joins a request's fragments and shows the whole request to the detectors.
func (l *Layer) rpcRequest(in *detectors.Input, st *rpcState, h *decode.RPCHeader, r *decode.RPCRequestPDU, out *detectors.Emitter) {
	first, last := h.Flags&decode.RPCFirstFrag != 0, h.Flags&decode.RPCLastFrag != 0
	if first {
		l.rpcDropJoin(st) // a new call abandons one left unfinished
		if _, ok := l.rpcLookup(st, r.ContextID); !ok {
			if !st.ctxLost {
				in.P.Record(decode.RPCContextUnknown)
			}
			return
		}
		st.call, st.ctxID, st.opnum = h.CallID, r.ContextID, r.Opnum
		if last { // a request in one fragment: judged in place
			l.rpcDeliver(in, st, h, r.Stub, 1, false, out)
			return
		}
		if st.join = l.rpcPool.get(); st.join < 0 {
			l.Stats.BufferDrops++
			return
		}
	} else if st.join < 0 || h.CallID != st.call {
		return // the first fragment was not seen, or its request was given up
	}
	st.frags++
	dst := l.rpcPool.bytes(st.join)
	n := copy(dst[st.joinLen:], r.Stub)
	st.joinLen += n
	if n < len(r.Stub) && !st.over {
		st.over = true
		in.P.Record(decode.RPCFragJoinOverflow)
	}
	if last {
		l.rpcDeliver(in, st, h, dst[:st.joinLen], st.frags, st.over, out)
		l.rpcDropJoin(st)
	}
}

func (l *Layer) rpcDeliver(in *detectors.Input, st *rpcState, h *decode.RPCHeader, stub []byte, frags int, over bool, out *detectors.Emitter) {
	c, ok := l.rpcLookup(st, st.ctxID)
	if !ok {
		return
	}
	call := &l.rpcCall
	*call = detectors.RPCCall{Iface: c.Iface, Major: c.Major, Minor: c.Minor, Opnum: st.opnum,
		Stub: stub, Little: h.Little, Frags: frags, Truncated: over}
	for _, d := range l.rpcD {
		d.InspectRPC(in, call, out)
	}
	call.Stub = nil
}
