package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// land detects the LAND attack (CVE-2005-0688, MS05-019): a TCP SYN whose source address and
// port equal its destination's, so the victim's stack answers and acknowledges itself. Only the
// packet's own headers count: an ICMP error quoting such a SYN is not one on the wire.
type land struct {
	sig, selfConnect *rules.Signature
}

func init() {
	register(Spec{
		Schema:   rules.Schema{Detector: "land", Extra: []string{"self_connect"}},
		Interest: decode.LayerTCP,
		New: func(d *rules.Detector) Detector {
			return &land{sig: d.Sig(""), selfConnect: d.Sig("self_connect")}
		},
	})
}

func (d *land) Inspect(in *Input, out *Emitter) {
	p := in.P
	if !p.TCP.SYN() || p.Src != p.Dst {
		return
	}
	sig := d.sig
	if p.SrcPort != p.DstPort {
		// A host connecting to its own address from another port: normal on captures taken on
		// that host (loopback), so its own signature, off by default.
		sig = d.selfConnect
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, in)
	a.Evidence.Reset("tcp")
	a.Evidence.Uint("seq", uint64(p.TCP.Seq))
	a.Evidence.Uint("ttl", uint64(p.TTL))
	a.Evidence.Uint("window", uint64(p.TCP.Window))
	out.Emit(a)
}
