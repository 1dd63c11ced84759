package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// msmqOverflow detects MS07-065 (CVE-2007-3039): the Message Queuing service's RPC interface
// (qmcomm, fdb3a030-065f-11d1-bb9b-00a024ea5525, on TCP 2103/2105/2107 and wherever the
// endpoint mapper places it) copied string arguments, queue and machine names, into stack
// buffers. Any request to the interface carrying a wide string longer than max_string_len
// alerts, whatever the method: the arguments are found by their NDR encoding.
type msmqOverflow struct {
	sig   *rules.Signature
	limit uint32
}

// MSMQIface is the MSMQ queue manager's client interface (qmcomm).
var MSMQIface = decode.MustUUID("fdb3a030-065f-11d1-bb9b-00a024ea5525")

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "msmq-overflow",
			Params:   []rules.Param{{Name: "max_string_len", Min: 1, Max: 65535, Help: "UTF-16 characters allowed in a string argument"}},
		},
		App: true,
		New: func(d *rules.Detector) Detector {
			return &msmqOverflow{sig: d.Sig(""), limit: uint32(d.Int("max_string_len"))}
		},
	})
}

// Inspect is not used: the detector reads RPC calls, not packets.
func (d *msmqOverflow) Inspect(*Input, *Emitter) {}

func (d *msmqOverflow) InspectRPC(in *Input, call *RPCCall, out *Emitter) {
	if call.Iface != MSMQIface || !d.sig.Enabled {
		return
	}
	n, off := longestWideString(call.Stub, call.Little)
	if n <= d.limit {
		return
	}
	a := out.New(d.sig, in)
	e := &a.Evidence
	e.Reset("dcerpc")
	e.Str("interface", "qmcomm")
	e.Uint("opnum", uint64(call.Opnum))
	e.Uint("string_len", uint64(n))
	e.Uint("string_offset", uint64(off))
	e.Uint("stub_len", uint64(len(call.Stub)))
	e.Uint("fragments", uint64(call.Frags))
	out.Emit(a)
}
