package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// ipFrag raises the fragment anomalies defragmentation finds on the fragment that caused them:
// overlaps whose bytes differ (teardrop, and the reassembly-ambiguity evasions of Ptacek and
// Newsham: hosts with different overlap policies see different packets), datagrams that would
// exceed 65535 bytes (ping of death), and first fragments too short to hold the transport
// header (RFC 1858), which hide ports and flags from filters. Overlaps with identical bytes are
// retransmissions: counted as anomalies, not alerted.
type ipFrag struct {
	overlap, tooLarge, tiny *rules.Signature
}

func init() {
	register(Spec{
		Schema:   rules.Schema{Detector: "ip-frag", Extra: []string{"too_large", "tiny"}},
		Interest: decode.LayerFragment,
		New: func(d *rules.Detector) Detector {
			return &ipFrag{overlap: d.Sig(""), tooLarge: d.Sig("too_large"), tiny: d.Sig("tiny")}
		},
	})
}

func (d *ipFrag) Inspect(in *Input, out *Emitter) {
	p := in.P
	for _, a := range p.Anomalies() {
		var sig *rules.Signature
		switch a {
		case decode.IPv4FragOverlapDiff, decode.IPv6FragOverlapDiff:
			sig = d.overlap
		case decode.IPv4FragTooLarge, decode.IPv6FragTooLarge:
			sig = d.tooLarge
		case decode.IPv4FragTiny, decode.IPv6FragTiny:
			sig = d.tiny
		default:
			continue
		}
		if !sig.Enabled {
			continue
		}
		al := out.New(sig, in)
		e := &al.Evidence
		e.Reset("ipv4")
		if p.IPVersion == 6 {
			e.Reset("ipv6")
		}
		e.Str("reason", a.String())
		e.Uint("frag_id", uint64(p.Frag.ID))
		e.Uint("frag_offset", uint64(p.Frag.Offset))
		e.Bool("more_fragments", p.Frag.More)
		e.Uint("proto", uint64(p.Proto))
		out.Emit(al)
	}
}
