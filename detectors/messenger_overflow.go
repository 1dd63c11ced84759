package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// messengerOverflow detects MS03-043 (CVE-2003-0717): the Messenger service's NetrSendMessage
// (interface 5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc, opnum 0) copied its [string] arguments (from,
// to, text) into fixed buffers. It judges connectionless DCE/RPC requests over UDP (unicast or
// broadcast, any port: the exploits sprayed UDP 135 and the ephemeral ports Messenger also
// listens on): a string longer than the rules' limit (primary), or NDR counts that disagree
// with each other or with the PDU (malformed). Fragmented requests are judged on their first
// fragment's counts. Over TCP (RPCDetector) the application layer frames the connection-oriented
// PDUs and joins a request's fragments; the same judgement applies to the whole stub.
type messengerOverflow struct {
	sig, malformed   *rules.Signature
	maxName, maxText uint32
	hdr              decode.RPCCLHeader
	strs             [3]decode.NDRString
}

// MessengerIface is the Messenger service's RPC interface (msgsvc).
var MessengerIface = decode.MustUUID("5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc")

// rpcCLMinLen is the connectionless header: a UDP payload shorter than it is not DCE/RPC.
const rpcCLMinLen = 80

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "messenger-overflow",
			Extra:    []string{"malformed"},
			Params: []rules.Param{
				{Name: "max_name_len", Min: 1, Max: 65535, Help: "bytes allowed in the from and to names"},
				{Name: "max_text_len", Min: 1, Max: 65535, Help: "bytes allowed in the message text"},
			},
		},
		Interest: decode.LayerUDP,
		New: func(d *rules.Detector) Detector {
			return &messengerOverflow{sig: d.Sig(""), malformed: d.Sig("malformed"),
				maxName: uint32(d.Int("max_name_len")), maxText: uint32(d.Int("max_text_len"))}
		},
	})
}

var messengerArgs = [3]string{"from", "to", "text"}

func (d *messengerOverflow) Inspect(in *Input, out *Emitter) {
	b := in.P.Payload
	if len(b) < rpcCLMinLen || b[0] != 4 || b[1] != 0 { // version 4, request: cheap filter first
		return
	}
	var as decode.Anomalies
	h := &d.hdr
	if !decode.ParseRPCCL(b, h, &as) || h.Iface != MessengerIface || h.Opnum != 0 || h.FragNum != 0 {
		return
	}
	for _, a := range as.List() {
		in.P.Record(a)
	}
	frag := h.Flags1&decode.RPCCLFrag != 0
	d.judge(in, h.Body, h.Little, frag, frag, out)
}

// InspectRPC judges NetrSendMessage requests over connection-oriented DCE/RPC (TCP), their
// fragments joined by the application layer.
func (d *messengerOverflow) InspectRPC(in *Input, call *RPCCall, out *Emitter) {
	if call.Iface != MessengerIface || call.Opnum != 0 {
		return
	}
	d.judge(in, call.Stub, call.Little, call.Truncated, call.Frags > 1, out)
}

// judge walks NetrSendMessage's three [string] arguments in stub. partial says the stub may
// lack the request's end (a first fragment, a join cut at its cap): counts running past it are
// then expected, not malformed. fragmented is reported as evidence.
func (d *messengerOverflow) judge(in *Input, stub []byte, little, partial, fragmented bool, out *Emitter) {
	off, worst, over, bad := 0, -1, false, -1
	for i := range d.strs {
		s := &d.strs[i]
		if !decode.ParseNDRString(stub, off, little, 1, s, nil) { // judged below, per string
			break
		}
		off = s.End
		limit := d.maxName
		if i == 2 {
			limit = d.maxText
		}
		if n := max(s.ActualCount, s.MaxCount); n > limit && !over {
			worst, over = i, true
		}
		if bad < 0 && uint64(s.Offset)+uint64(s.ActualCount) > uint64(s.MaxCount) {
			bad = i // counts that disagree with each other: malformed even in a partial stub
		}
		if bad < 0 && !partial && len(s.Data) < int(s.ActualCount) {
			bad = i // data past the end of a whole stub
		}
	}
	if bad >= 0 {
		in.P.Record(decode.RPCNDRStringInvalid) // a string cut by the end of a partial stub is not
	}
	sig := d.sig
	if !over {
		if bad < 0 {
			return
		}
		sig, worst = d.malformed, bad
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, in)
	e := &a.Evidence
	e.Reset("dcerpc")
	e.Str("interface", "msgsvc")
	e.Uint("opnum", 0)
	e.Str("argument", messengerArgs[worst])
	s := &d.strs[worst]
	e.Uint("max_count", uint64(s.MaxCount))
	e.Uint("offset", uint64(s.Offset))
	e.Uint("actual_count", uint64(s.ActualCount))
	e.Uint("stub_len", uint64(len(stub)))
	e.Bool("fragmented", fragmented)
	out.Emit(a)
}
