package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// dcomActivation detects MS03-026 (CVE-2003-0352), the hole Blaster used: the DCOM activation
// service copied the server name of a \\server\path string from an activation request into a
// fixed buffer. Both calls the 2003 worms used are judged: IRemoteActivation RemoteActivation
// (4d9f4ab8-7d1c-11cf-861e-0020af6e7c57, opnum 0, the path is pwszObjectName) and
// ISystemActivator RemoteCreateInstance (000001a0-0000-0000-c000-000000000046, opnum 4, the path
// sits inside the activation properties). A server name longer than max_server_name alerts.
type dcomActivation struct {
	sig   *rules.Signature
	limit int
}

// DCOM activation interfaces.
var (
	RemoteActivationIface = decode.MustUUID("4d9f4ab8-7d1c-11cf-861e-0020af6e7c57")
	SystemActivatorIface  = decode.MustUUID("000001a0-0000-0000-c000-000000000046")
)

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "dcom-activation",
			Params:   []rules.Param{{Name: "max_server_name", Min: 1, Max: 65535, Help: "characters allowed in the server name of an activation path"}},
		},
		App: true,
		New: func(d *rules.Detector) Detector {
			return &dcomActivation{sig: d.Sig(""), limit: int(d.Int("max_server_name"))}
		},
	})
}

// Inspect is not used: the detector reads RPC calls, not packets.
func (d *dcomActivation) Inspect(*Input, *Emitter) {}

func (d *dcomActivation) InspectRPC(in *Input, call *RPCCall, out *Emitter) {
	var name string
	switch {
	case call.Iface == RemoteActivationIface && call.Opnum == 0:
		name = "RemoteActivation"
	case call.Iface == SystemActivatorIface && call.Opnum == 4:
		name = "RemoteCreateInstance"
	default:
		return
	}
	n, off := longestUNCServer(call.Stub)
	if n <= d.limit || !d.sig.Enabled {
		return
	}
	a := out.New(d.sig, in)
	e := &a.Evidence
	e.Reset("dcerpc")
	e.Str("method", name)
	e.Uint("opnum", uint64(call.Opnum))
	e.Uint("server_name_len", uint64(n))
	e.Uint("path_offset", uint64(off))
	e.Uint("stub_len", uint64(len(call.Stub)))
	e.Uint("fragments", uint64(call.Frags))
	out.Emit(a)
}
