// Package app runs the application-layer parsers (decode/nntp.go, decode/smb.go,
// decode/dcerpc.go) over the reassembled byte streams of the connections that carry those
// protocols, and hands what they find to the detectors that inspect application messages.
//
// The engine offers it every TCP connection once (WantStream); it takes those on the protocols'
// ports (and, when a DCE/RPC detector is enabled, every other one until its client's first bytes
// show whether it carries DCE/RPC) and keeps each one's parser state in tables indexed by flow slot, preallocated for the
// flow table's size: nothing is allocated per packet or per connection.
package app

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// Proto is the application protocol the layer parses on a flow.
type Proto uint8

const (
	ProtoNone Proto = iota
	ProtoNNTP
	ProtoSMB
	ProtoRPC // DCE/RPC, connection-oriented
	protoCount
)

// Ports on which each protocol is parsed (server side).
const (
	portNNTP    = 119
	portNetBIOS = 139 // NetBIOS session service
	portSMB     = 445 // SMB direct hosting
)

// smbBuffers is how many SMB messages can be assembled from pieces at once.
const smbBuffers = 64

// Layer is the application layer of one engine (one worker).
type Layer struct {
	maxFlows int
	proto    []Proto            // by flow slot
	nntp     []decode.NNTPLines // by flow slot: the client direction's command lines
	smb      []smbState         // by flow slot: the client direction's framing
	pool     pool               // SMB messages assembled from pieces
	smbNeg   decode.SMBNegotiate
	nntpD    []detectors.NNTPDetector
	smbD     []detectors.SMBDetector

	rpc        []rpcState    // by flow slot: the client direction's DCE/RPC framing
	rpcPool    pool          // PDUs assembled from pieces, requests joined from fragments
	rpcCtx     []rpcCtxTable // presentation context tables, lent to connections
	rpcFreeCtx []int32
	rpcHdr     decode.RPCHeader
	rpcBind    decode.RPCBindPDU
	rpcReq     decode.RPCRequestPDU
	rpcCall    detectors.RPCCall
	rpcD       []detectors.RPCDetector

	Stats Stats
}

// Stats counts what the application layer did.
type Stats struct {
	Flows       [protoCount]uint64 // connections parsed, by protocol
	Gaps        uint64             // stream gaps that made a parser resynchronise
	BufferDrops uint64             // messages not assembled because every buffer was lent
}

// New builds the layer for a flow table of maxFlows entries, dispatching to the detectors in
// dets that inspect application messages. It returns nil when no detector needs it.
func New(maxFlows int, dets []detectors.Instance) *Layer {
	if !Reads(dets) {
		return nil
	}
	l := &Layer{maxFlows: maxFlows}
	l.Rebind(dets)
	return l
}

// Reads says whether any of dets reads application messages (whether New would build a layer).
func Reads(dets []detectors.Instance) bool {
	var l Layer
	l.bind(dets)
	return len(l.nntpD) > 0 || len(l.smbD) > 0 || len(l.rpcD) > 0
}

// Rebind hands the messages to a new set of detectors (a rules reload, or New), keeping every
// connection's parser state: a message being assembled is still inspected. State for a protocol
// no detector read before is allocated here; connections already under way stay as they were
// (a protocol nobody reads any more is parsed to the end of its connections, for nobody).
func (l *Layer) Rebind(dets []detectors.Instance) {
	l.bind(dets)
	if l.proto == nil {
		l.proto = make([]Proto, l.maxFlows)
	}
	if len(l.nntpD) > 0 && l.nntp == nil {
		l.nntp = make([]decode.NNTPLines, l.maxFlows)
	}
	if len(l.smbD) > 0 && l.smb == nil {
		l.smb = make([]smbState, l.maxFlows)
		l.pool = newPool(smbBuffers, smbMaxMessage)
	}
	if len(l.rpcD) > 0 && l.rpc == nil {
		l.rpc = make([]rpcState, l.maxFlows) // slots are reset by WantStream before use
		l.rpcPool = newPool(rpcBuffers, rpcBufSize)
		l.rpcCtx = make([]rpcCtxTable, rpcCtxPools)
		l.rpcFreeCtx = make([]int32, rpcCtxPools)
		for i := range l.rpcFreeCtx {
			l.rpcFreeCtx[i] = int32(rpcCtxPools - 1 - i)
		}
	}
}

// bind picks the detectors that read each protocol's messages.
func (l *Layer) bind(dets []detectors.Instance) {
	l.nntpD, l.smbD, l.rpcD = nil, nil, nil
	for _, d := range dets {
		if nd, ok := d.Detector.(detectors.NNTPDetector); ok {
			l.nntpD = append(l.nntpD, nd)
		}
		if sd, ok := d.Detector.(detectors.SMBDetector); ok {
			l.smbD = append(l.smbD, sd)
		}
		if rd, ok := d.Detector.(detectors.RPCDetector); ok {
			l.rpcD = append(l.rpcD, rd)
		}
	}
}

// Inspect is not used: the layer reads streams, not packets.
func (l *Layer) Inspect(*detectors.Input, *detectors.Emitter) {}

// WantStream picks the protocol a new TCP connection carries, by its server port, and resets
// that protocol's state for the flow's slot. Whatever the slot's previous flow held was freed by
// Release when that flow left (the engine calls it for every flow leaving the table or starting
// over), so slots need no initialisation: the tables stay untouched until used.
func (l *Layer) WantStream(in *detectors.Input) bool {
	f := in.Flow
	slot := f.Slot()
	server := in.P.DstPort // the initiator's first packet: the destination is the server
	if in.Dir == 1 {
		server = in.P.SrcPort
	}
	p := ProtoNone
	switch {
	case server == portNNTP && len(l.nntpD) > 0:
		p = ProtoNNTP
		l.nntp[slot] = decode.NNTPLines{} // a new connection: its first byte starts a line
	case (server == portNetBIOS || server == portSMB) && len(l.smbD) > 0:
		p = ProtoSMB
		l.smb[slot].reset(server == portSMB)
	case len(l.rpcD) > 0:
		// DCE/RPC on its ports, and on any other whose client starts like it (decided at the
		// first client header; a connection that does not is dropped then).
		p = ProtoRPC
		l.rpc[slot].reset(server != portEPM && server != portRPCHTTP)
	}
	l.proto[slot] = p
	if p != ProtoNone && p != ProtoRPC { // DCE/RPC counts at its first header (rpcHeader)
		l.Stats.Flows[p]++
	}
	return p != ProtoNone
}

// StreamData parses the next bytes of direction dir of in.Flow.
func (l *Layer) StreamData(in *detectors.Input, dir int, b []byte, out *detectors.Emitter) {
	slot := in.Flow.Slot()
	switch l.proto[slot] {
	case ProtoNNTP:
		if dir == 0 {
			l.nntpData(in, &l.nntp[slot], b, out)
		}
	case ProtoSMB:
		if dir == 0 {
			l.smbData(in, &l.smb[slot], b, out)
			in.StreamDone = l.smb[slot].dead
		}
	case ProtoRPC:
		st := &l.rpc[slot]
		if dir != 0 || st.dead {
			return
		}
		l.rpcData(in, st, b, out)
		if st.dead {
			l.rpcRelease(st)
			in.StreamDone = true // not DCE/RPC after all, or its framing is lost
		}
	}
}

// StreamGap makes the flow's parser resynchronise after lost bytes.
func (l *Layer) StreamGap(in *detectors.Input, dir int, n uint32, out *detectors.Emitter) {
	slot := in.Flow.Slot()
	l.Stats.Gaps++
	switch l.proto[slot] {
	case ProtoNNTP:
		if dir == 0 {
			l.nntp[slot].Reset()
		}
	case ProtoSMB:
		if dir == 0 { // the framing is lost: stop rather than misread lengths
			l.smbRelease(&l.smb[slot])
			l.smb[slot].dead = true
			in.StreamDone = true
		}
	case ProtoRPC:
		if dir == 0 && !l.rpc[slot].dead {
			l.rpcGap(&l.rpc[slot], n)
			in.StreamDone = l.rpc[slot].dead
		}
	}
}

// Release frees what a flow leaving the table holds.
func (l *Layer) Release(f *flow.Flow) {
	slot := f.Slot()
	if l.proto[slot] == ProtoSMB {
		l.smbRelease(&l.smb[slot])
	}
	if l.proto[slot] == ProtoRPC {
		l.rpcRelease(&l.rpc[slot])
	}
	l.proto[slot] = ProtoNone
}
