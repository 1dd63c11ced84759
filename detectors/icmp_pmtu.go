package detectors

import (
	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// icmpPMTU detects path-MTU attacks (CVE-2004-1060, MS05-019): an ICMPv4 "fragmentation needed"
// whose next-hop MTU is below min_mtu, or an ICMPv6 "packet too big" below min_mtu_v6. A stack
// that believes it shrinks every segment to a few bytes for that destination. A message with a
// plausible MTU that quotes an established TCP connection at a sequence number outside the
// sender's in-flight range cannot be about a segment the host sent: a spoofed PMTU message
// (seq_check, the RFC 5927 section 4.1 check). Evidence says which check failed.
type icmpPMTU struct {
	sig, sigV6, seqCheck *rules.Signature
	minMTU, minMTU6      uint32
}

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "icmp-pmtu",
			Extra:    []string{"v6", "seq_check"},
			Params: []rules.Param{
				{Name: "min_mtu", Min: 0, Max: 65535, Help: "IPv4 next-hop MTUs below this alert"},
				{Name: "min_mtu_v6", Min: 0, Max: 65535, Help: "IPv6 packet-too-big MTUs below this alert"},
			},
		},
		Interest: decode.LayerICMPv4 | decode.LayerICMPv6,
		New: func(d *rules.Detector) Detector {
			return &icmpPMTU{sig: d.Sig(""), sigV6: d.Sig("v6"), seqCheck: d.Sig("seq_check"),
				minMTU: uint32(d.Int("min_mtu")), minMTU6: uint32(d.Int("min_mtu_v6"))}
		},
	})
}

func (d *icmpPMTU) Inspect(in *Input, out *Emitter) {
	p := in.P
	var sig *rules.Signature
	var mtu, floor uint32
	switch {
	case p.Layers&decode.LayerICMPv4 != 0 && p.ICMP.Type == decode.ICMPv4Unreachable && p.ICMP.Code == decode.ICMPv4CodeFragNeeded:
		sig, mtu, floor = d.sig, uint32(p.ICMP.NextHopMTU()), d.minMTU
	case p.Layers&decode.LayerICMPv6 != 0 && p.ICMP.Type == decode.ICMPv6PacketTooBig:
		sig, mtu, floor = d.sigV6, p.ICMP.Rest, d.minMTU6
	default:
		return
	}
	check := "mtu"
	f, s, inFlight, known := quotedConnection(in)
	if mtu >= floor {
		if !known || inFlight {
			return
		}
		sig, check = d.seqCheck, "sequence"
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, in)
	icmpEvidence(a, p, check)
	a.Evidence.Uint("next_hop_mtu", uint64(mtu))
	if known {
		a.FlowID = f.ID()
		connEvidence(&a.Evidence, f, s, inFlight)
	}
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
