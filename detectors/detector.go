// Package detectors holds the detectors, one file each, behind one small interface and a
// registry. A detector declares its rules-file schema and the packet layers it wants; the engine
// calls Inspect only for packets carrying one of those layers. Inspect must not allocate on the
// no-alert path and must never keep the packet or its slices after returning.
package detectors

import (
	"sort"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
)

// Detector inspects decoded packets and reports what it finds through out.
type Detector interface {
	Inspect(in *Input, out *Emitter)
}

// StreamDetector is a detector that also reads TCP byte streams: an application-layer detector.
// The engine reassembles a connection only when one of these wants it, and hands it the bytes of
// each direction in order, as they become available.
type StreamDetector interface {
	Detector
	// WantStream is asked once per TCP flow, at its first packet.
	WantStream(in *Input) bool
	// StreamData receives the next in-order bytes of direction dir (0: from the initiator); b is
	// only valid during the call. in.P is the packet that made them available.
	StreamData(in *Input, dir int, b []byte, out *Emitter)
	// StreamGap reports n bytes of direction dir that will never arrive (capture loss, caps):
	// parsers must resynchronise.
	StreamGap(in *Input, dir int, n uint32, out *Emitter)
}

// NNTPDetector is a detector of NNTP client commands, fed by the application layer (app/).
type NNTPDetector interface {
	Detector
	// InspectNNTP sees every client command line: each one that ended, and each still open
	// line once it has grown past decode.NNTPMaxLine. in.P is the packet that carried its end.
	InspectNNTP(in *Input, cmd *decode.NNTPCommand, out *Emitter)
}

// SMBDetector is a detector of SMB NEGOTIATE requests, fed by the application layer.
type SMBDetector interface {
	Detector
	// InspectSMB sees each NEGOTIATE request (SMB1 or SMB2) a client sends, whole: msg is the
	// NetBIOS session message that carried it, n its parse (spans index msg).
	InspectSMB(in *Input, n *decode.SMBNegotiate, msg []byte, out *Emitter)
}

// RPCDetector inspects DCE/RPC requests, whole (fragments joined), fed by the application layer.
type RPCDetector interface {
	Detector
	// InspectRPC sees each request a client sends over a connection-oriented DCE/RPC stream,
	// once its last fragment has arrived. in.P is the packet that carried its end.
	InspectRPC(in *Input, call *RPCCall, out *Emitter)
}

// RPCCall is one DCE/RPC request as the application layer assembled it.
type RPCCall struct {
	Iface          decode.UUID // from the bound context (or the CL header)
	Major, Minor   uint16      // interface version
	Opnum          uint16
	Stub           []byte // joined stub, valid during the call
	Little         bool   // integers in the stub are little-endian
	Frags          int    // fragments joined
	Truncated      bool   // the join stopped at its cap: the stub lacks the request's end
	Connectionless bool
}

// Input is what a detector sees of one packet. Flow state is as it stood before this packet:
// a RST is judged against the connection it claims to end, not the one it ended.
type Input struct {
	P     *decode.Packet
	Flow  *flow.Flow  // the packet's TCP/UDP flow; nil when it has none
	Dir   int         // direction of P in Flow: 0 from the initiator
	Flows *flow.Table // every tracked flow, for the connections ICMP errors name
	Num   uint64      // 1-based packet number in the run (EVE pcap_cnt)

	// StreamDone is set by a stream detector, during StreamData or StreamGap, that wants no
	// more of this connection's bytes (not its protocol after all, or its framing is lost): the
	// engine stops reassembling it for that detector.
	StreamDone bool
}

// Spec registers a detector.
type Spec struct {
	Schema   rules.Schema                   // what the rules file holds for it
	Interest decode.Layer                   // Inspect runs for packets with any of these layers
	App      bool                           // it inspects application messages (NNTPDetector...), not packets
	New      func(*rules.Detector) Detector // builds it from validated settings
}

var registry []Spec

// register adds a detector; each detector file calls it from init.
func register(s Spec) { registry = append(registry, s) }

// Specs returns every registered detector, sorted by name.
func Specs() []Spec {
	out := append([]Spec(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Schema.Detector < out[j].Schema.Detector })
	return out
}

// Schemas returns the rules schema of every detector, for rules.Parse.
func Schemas() []rules.Schema {
	specs := Specs()
	out := make([]rules.Schema, len(specs))
	for i, s := range specs {
		out[i] = s.Schema
	}
	return out
}

// Instance is a detector built from a rules set.
type Instance struct {
	Name     string
	Interest decode.Layer
	Detector
}

// Build creates every detector the rules set enables.
func Build(set *rules.Set) []Instance {
	var out []Instance
	for _, s := range Specs() {
		cfg := set.Detector(s.Schema.Detector)
		if cfg == nil || !cfg.Enabled {
			continue
		}
		out = append(out, Instance{Name: cfg.Name, Interest: s.Interest, Detector: s.New(cfg)})
	}
	return out
}

// Emitter is how detectors raise alerts: New prepares an alert from the packet, the detector
// adds evidence, Emit hands it to the engine. One Emitter serves one worker.
type Emitter struct {
	Out func(*alert.Alert) // receives every emitted alert; must not keep it
	a   alert.Alert
}

// New starts an alert for sig about the input's packet, addressed by the packet's own headers.
func (e *Emitter) New(sig *rules.Signature, in *Input) *alert.Alert {
	p := in.P
	var id uint64
	if in.Flow != nil {
		id = in.Flow.ID()
	} else {
		id = flow.ID(p)
	}
	a := &e.a
	*a = alert.Alert{
		TS:      p.TS,
		FlowID:  id,
		PcapCnt: in.Num,
		Src:     p.Src,
		Dst:     p.Dst,
		Proto:   p.Proto,
		VLAN:    p.VLAN,
		NumVLAN: p.NumVLAN,
		Sig:     sig,
	}
	if p.Layers&(decode.LayerTCP|decode.LayerUDP) != 0 {
		a.SrcPort, a.DstPort, a.HasPorts = p.SrcPort, p.DstPort, true
	}
	return a
}

// Emit reports the alert started by New.
func (e *Emitter) Emit(a *alert.Alert) { e.Out(a) }
