package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// ipv4Options detects the MS05-019 "IP validation" attack (CVE-2005-0048): IPv4 headers whose
// options or header length a receiving stack cannot parse safely. The decoder validates every
// option against its definition; this detector raises what it found. Well-formed options never
// alert; well-formed source routing has its own, lower signature.
type ipv4Options struct {
	sig, sourceRoute *rules.Signature
}

func init() {
	register(Spec{
		Schema:   rules.Schema{Detector: "ipv4-options", Extra: []string{"source_route"}},
		Interest: decode.LayerIPv4Opts,
		New: func(d *rules.Detector) Detector {
			return &ipv4Options{sig: d.Sig(""), sourceRoute: d.Sig("source_route")}
		},
	})
}

func (d *ipv4Options) Inspect(in *Input, out *Emitter) {
	p := in.P
	h := &p.IPv4
	reason := h.Opts.Bad
	switch {
	case p.HasAnomaly(decode.IPv4HlenTooSmall):
		reason = decode.IPv4HlenTooSmall
	case p.HasAnomaly(decode.IPv4IplenSmallerThan):
		reason = decode.IPv4IplenSmallerThan
	}
	if reason != decode.AnomalyNone {
		if !d.sig.Enabled {
			return
		}
		a := out.New(d.sig, in)
		a.Evidence.Reset("ipv4")
		a.Evidence.Str("reason", reason.String())
		a.Evidence.Uint("header_len", uint64(h.HeaderLen))
		a.Evidence.Uint("total_len", uint64(h.TotalLen))
		if h.Opts.Bad != decode.AnomalyNone {
			a.Evidence.Uint("option_type", uint64(h.Opts.BadType))
			a.Evidence.Uint("option_len", uint64(h.Opts.BadLen))
			a.Evidence.Uint("option_offset", uint64(h.Opts.BadOff))
			if reason == decode.IPv4OptInvalidPtr {
				a.Evidence.Uint("option_pointer", uint64(h.Opts.BadPtr))
			}
		}
		out.Emit(a)
		return
	}
	if h.Opts.Present&(decode.OptLooseRoute|decode.OptStrictRoute) != 0 && d.sourceRoute.Enabled {
		a := out.New(d.sourceRoute, in)
		a.Evidence.Reset("ipv4")
		a.Evidence.Bool("loose", h.Opts.Present&decode.OptLooseRoute != 0)
		a.Evidence.Bool("strict", h.Opts.Present&decode.OptStrictRoute != 0)
		out.Emit(a)
	}
}
