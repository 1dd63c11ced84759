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
// fragment's counts. The connection-oriented path (TCP) comes with the DCE/RPC stream parser.
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
	fragmented := h.Flags1&decode.RPCCLFrag != 0
	off, worst, over := 0, -1, false
	for i := range d.strs {
		if !decode.ParseNDRString(h.Body, off, h.Little, 1, &d.strs[i], &as) {
			break
		}
		off = d.strs[i].End
		limit := d.maxName
		if i == 2 {
			limit = d.maxText
		}
		if n := max(d.strs[i].ActualCount, d.strs[i].MaxCount); n > limit && !over {
			worst, over = i, true
		}
	}
	for _, a := range as.List() {
		in.P.Record(a)
	}
	sig := d.sig
	if !over {
		if fragmented || !as.Has(decode.RPCNDRStringInvalid) {
			return // a later fragment holds the rest: counts past this one are expected
		}
		sig, worst = d.malformed, 0
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, in)
	e := &a.Evidence
	e.Reset("dcerpc")
	e.Str("interface", "msgsvc")
	e.Uint("opnum", uint64(h.Opnum))
	e.Str("argument", messengerArgs[worst])
	s := &d.strs[worst]
	e.Uint("max_count", uint64(s.MaxCount))
	e.Uint("offset", uint64(s.Offset))
	e.Uint("actual_count", uint64(s.ActualCount))
	e.Uint("stub_len", uint64(len(h.Body)))
	e.Bool("fragmented", fragmented)
	out.Emit(a)
}
