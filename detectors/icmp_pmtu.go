package detectors

import (
	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// icmpPMTU detects path-MTU attacks (CVE-2004-1060, MS05-019): an ICMPv4 "fragmentation needed"
// whose next-hop MTU is below min_mtu, or an ICMPv6 "packet too big" below min_mtu_v6. A stack
// that believes it shrinks every segment to a few bytes for that destination.
type icmpPMTU struct {
	sig, sigV6      *rules.Signature
	minMTU, minMTU6 uint32
}

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "icmp-pmtu",
			Extra:    []string{"v6"},
			Params: []rules.Param{
				{Name: "min_mtu", Min: 0, Max: 65535, Help: "IPv4 next-hop MTUs below this alert"},
				{Name: "min_mtu_v6", Min: 0, Max: 65535, Help: "IPv6 packet-too-big MTUs below this alert"},
			},
		},
		Interest: decode.LayerICMPv4 | decode.LayerICMPv6,
		New: func(d *rules.Detector) Detector {
			return &icmpPMTU{sig: d.Sig(""), sigV6: d.Sig("v6"),
				minMTU: uint32(d.Int("min_mtu")), minMTU6: uint32(d.Int("min_mtu_v6"))}
		},
	})
}

func (d *icmpPMTU) Inspect(p *decode.Packet, out *Emitter) {
	var sig *rules.Signature
	var mtu uint32
	switch {
	case p.Layers&decode.LayerICMPv4 != 0 && p.ICMP.Type == decode.ICMPv4Unreachable && p.ICMP.Code == decode.ICMPv4CodeFragNeeded:
		sig, mtu = d.sig, uint32(p.ICMP.NextHopMTU())
		if mtu >= d.minMTU {
			return
		}
	case p.Layers&decode.LayerICMPv6 != 0 && p.ICMP.Type == decode.ICMPv6PacketTooBig:
		sig, mtu = d.sigV6, p.ICMP.Rest
		if mtu >= d.minMTU6 {
			return
		}
	default:
		return
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, p)
	a.Evidence.Reset("icmp")
	a.Evidence.Uint("type", uint64(p.ICMP.Type))
	a.Evidence.Uint("code", uint64(p.ICMP.Code))
	a.Evidence.Uint("next_hop_mtu", uint64(mtu))
	addQuoted(&a.Evidence, p)
	out.Emit(a)
}

// addQuoted adds the 5-tuple an ICMP error quotes: the connection it claims to be about.
func addQuoted(e *alert.Evidence, p *decode.Packet) {
	if p.Layers&decode.LayerQuoted == 0 {
		return
	}
	q := &p.Quoted
	e.Addr("inner_src_ip", q.Src)
	e.Addr("inner_dest_ip", q.Dst)
	e.Uint("inner_proto", uint64(q.Proto))
	if q.HasPorts {
		e.Uint("inner_src_port", uint64(q.SrcPort))
		e.Uint("inner_dest_port", uint64(q.DstPort))
	}
	if q.HasSeq {
		e.Uint("inner_seq", uint64(q.Seq))
	}
}
