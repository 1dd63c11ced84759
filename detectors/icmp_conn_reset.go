package detectors

import (
	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
)

// icmpConnReset detects ICMP attacks on TCP connections (CVE-2004-0790, MS05-019): a
// destination-unreachable error that quotes a connection the engine tracks as established
// makes a vulnerable stack reset it. As RFC 5927 section 4.1 advises, the quoted sequence number
// is checked against the sender's in-flight range [SND.UNA, SND.NXT]: outside it the error
// cannot be about a segment the host sent, so it is a blind attack (primary signature). A hard
// error (protocol or port unreachable) against an established connection is anomalous even
// inside it (hard_error): the peer just spoke on that port. "Fragmentation needed" and
// "packet too big" are judged by icmp-pmtu.
type icmpConnReset struct {
	sig, hardError *rules.Signature
}

func init() {
	register(Spec{
		Schema:   rules.Schema{Detector: "icmp-conn-reset", Extra: []string{"hard_error"}},
		Interest: decode.LayerQuoted,
		New: func(d *rules.Detector) Detector {
			return &icmpConnReset{sig: d.Sig(""), hardError: d.Sig("hard_error")}
		},
	})
}

func (d *icmpConnReset) Inspect(in *Input, out *Emitter) {
	p := in.P
	var hard bool
	switch {
	case p.Layers&decode.LayerICMPv4 != 0 && p.ICMP.Type == decode.ICMPv4Unreachable && p.ICMP.Code != decode.ICMPv4CodeFragNeeded:
		hard = p.ICMP.Code == decode.ICMPv4CodeProtoUnr || p.ICMP.Code == decode.ICMPv4CodePortUnr
	case p.Layers&decode.LayerICMPv6 != 0 && p.ICMP.Type == decode.ICMPv6Unreachable:
		hard = p.ICMP.Code == decode.ICMPv6CodePortUnr
	default:
		return
	}
	f, s, inFlight, ok := quotedConnection(in)
	if !ok {
		return
	}
	sig, check := d.sig, "sequence"
	if inFlight {
		if !hard {
			return // a soft error about a segment the host did send: routine
		}
		sig, check = d.hardError, "hard_error"
	}
	if !sig.Enabled {
		return
	}
	a := out.New(sig, in)
	a.FlowID = f.ID() // the alert is about the connection the error names
	icmpEvidence(a, p, check)
	connEvidence(&a.Evidence, f, s, inFlight)
	out.Emit(a)
}

// quotedConnection finds the established TCP connection an ICMP error quotes, the side that sent
// the quoted segment, and whether the quoted sequence number lies in that side's in-flight range
// [SND.UNA, SND.NXT] (inclusive: a quoted pure ACK carries SND.NXT). ok is false when there is
// no such connection or its sequence state cannot be judged.
func quotedConnection(in *Input) (f *flow.Flow, s *flow.TCPSide, inFlight, ok bool) {
	q := &in.P.Quoted
	if in.P.Layers&decode.LayerQuoted == 0 || q.Proto != 6 || !q.HasSeq || in.Flows == nil {
		return nil, nil, false, false
	}
	f, dir := in.Flows.Find(q.Src, q.Dst, q.SrcPort, q.DstPort, 6, in.P.VLAN, in.P.NumVLAN)
	if f == nil || f.State != flow.StateEstablished {
		return nil, nil, false, false
	}
	s = &f.TCP.Side[dir]
	if s.Flags&flow.SideSeqKnown == 0 {
		return nil, nil, false, false
	}
	lo := s.NextSeq
	if s.Flags&flow.SideAckKnown != 0 {
		lo = s.Una
	}
	return f, s, flow.SeqInRange(q.Seq, lo, s.NextSeq), true
}

// icmpEvidence starts the "icmp" evidence object: type, code, which check failed, and the
// quoted 5-tuple.
func icmpEvidence(a *alert.Alert, p *decode.Packet, check string) {
	e := &a.Evidence
	e.Reset("icmp")
	e.Uint("type", uint64(p.ICMP.Type))
	e.Uint("code", uint64(p.ICMP.Code))
	e.Str("check", check)
	addQuoted(e, p)
}

// connEvidence adds the state of the connection an ICMP error names.
func connEvidence(e *alert.Evidence, f *flow.Flow, s *flow.TCPSide, inFlight bool) {
	e.Uint("snd_una", uint64(s.Una))
	e.Uint("snd_nxt", uint64(s.NextSeq))
	e.Bool("seq_in_flight", inFlight)
	confidence := "high"
	if f.TCP.Uncertain() {
		confidence = "low"
	}
	e.Str("confidence", confidence)
}
