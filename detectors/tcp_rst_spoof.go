package detectors

import (
	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
)

// tcpRSTSpoof detects blind and forged TCP resets (CVE-2004-0230, MS05-019), judging each RST
// against the connection the way RFC 5961 section 3 does, from the sensor's vantage point:
//
//   - a RST whose sequence number lies between what the receiver has acknowledged and what the
//     sender has sent ([SND.UNA, SND.NXT] of the sender, as seen on the wire) is a normal close;
//   - one inside the receiver's window but past that range is a blind guess (primary signature);
//   - several RSTs with distinct sequence numbers on one connection within burst_window_ms walk
//     the window (burst), whether or not they land in it;
//   - a RST after which its alleged sender keeps talking on the connection was not sent by that
//     sender (ignored): this catches forgeries that look perfect, like a reset "refusing" a SYN
//     that the server then answers.
//
// A TTL outside the sender's baseline by more than ttl_tolerance raises confidence. Connections
// picked up mid-stream or with capture loss only alert on bursts and continuations. One alert
// per signature per connection per burst window.
type tcpRSTSpoof struct {
	sig, burst, ignored *rules.Signature
	burstCount          uint16
	burstWindow         int64
	ttlTolerance        int
}

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "tcp-rst-spoof",
			Extra:    []string{"burst", "ignored"},
			Params: []rules.Param{
				{Name: "burst_count", Min: 2, Max: 1000, Help: "RSTs with distinct sequence numbers that make a burst"},
				{Name: "burst_window_ms", Min: 1, Max: 600000, Help: "milliseconds a burst may span"},
				{Name: "ttl_tolerance", Min: 0, Max: 255, Help: "TTL distance from the sender's baseline that raises confidence"},
			},
		},
		Interest: decode.LayerTCP,
		New: func(d *rules.Detector) Detector {
			return &tcpRSTSpoof{sig: d.Sig(""), burst: d.Sig("burst"), ignored: d.Sig("ignored"),
				burstCount: uint16(d.Int("burst_count")), burstWindow: d.Int("burst_window_ms") * 1e6,
				ttlTolerance: int(d.Int("ttl_tolerance"))}
		},
	})
}

func (d *tcpRSTSpoof) Inspect(in *Input, out *Emitter) {
	f := in.Flow
	if f == nil || f.Key.Proto != 6 {
		return // a RST with no connection has nothing to be judged against
	}
	p := in.P
	rs := &f.App.RST
	if p.TCP.Flags&decode.TCPRst == 0 {
		d.continuation(in, out)
		return
	}
	s, r := &f.TCP.Side[in.Dir], &f.TCP.Side[1-in.Dir]
	seq := p.TCP.Seq

	// A burst window that has passed starts over.
	if rs.Count > 0 && p.TS-rs.First > d.burstWindow {
		rs.Count, rs.AlertedInWindow, rs.AlertedBurst = 0, false, false
	}
	if rs.Count == 0 {
		rs.First, rs.MinSeq, rs.MaxSeq, rs.Distinct = p.TS, seq, seq, 1
	} else if seq != rs.LastSeq {
		rs.Distinct++
		if flow.SeqInRange(seq, rs.MaxSeq, rs.MaxSeq+1<<31) {
			rs.MaxSeq = seq
		} else if !flow.SeqInRange(seq, rs.MinSeq, rs.MaxSeq) {
			rs.MinSeq = seq
		}
	}
	rs.Count++
	rs.LastSeq = seq
	rs.Pending[in.Dir] = true
	rs.PendingSeq[in.Dir], rs.PendingTTL[in.Dir], rs.PendingAt[in.Dir] = seq, p.TTL, in.Num

	if rs.Distinct >= d.burstCount && !rs.AlertedBurst && d.burst.Enabled {
		rs.AlertedBurst = true
		d.emit(in, out, d.burst, "burst", s, r)
		return
	}
	if s.Flags&flow.SideSeqKnown == 0 || f.TCP.Uncertain() || rs.AlertedInWindow || !d.sig.Enabled {
		return // no sequence state to judge against (e.g. a reply to a SYN), or not confident
	}
	lo, next := s.NextSeq, s.NextSeq
	if s.Flags&flow.SideAckKnown != 0 {
		lo = s.Una
	}
	if flow.SeqInRange(seq, lo, next) {
		return // at the expected place: a normal close
	}
	win := r.Window
	if r.Flags&flow.SideSeqKnown == 0 {
		win = 65535 // the receiver never spoke: assume the largest unscaled window
	}
	if flow.SeqInRange(seq, next, next+win) {
		rs.AlertedInWindow = true
		d.emit(in, out, d.sig, "in_window", s, r)
	}
}

// continuation checks a non-RST packet: if its sender "sent" a RST on this connection and is
// still talking (anything but a bare SYN starting over), that RST was forged.
func (d *tcpRSTSpoof) continuation(in *Input, out *Emitter) {
	rs := &in.Flow.App.RST
	if !rs.Pending[in.Dir] {
		return
	}
	rs.Pending[in.Dir] = false
	p := in.P
	if p.TCP.SYN() || !d.ignored.Enabled {
		return // the port is being reused for a new connection
	}
	s, r := &in.Flow.TCP.Side[in.Dir], &in.Flow.TCP.Side[1-in.Dir]
	a := out.New(d.ignored, in)
	d.evidence(a, in, "ignored", s, r, rs.PendingSeq[in.Dir], rs.PendingTTL[in.Dir])
	a.Evidence.Uint("rst_pcap_cnt", rs.PendingAt[in.Dir])
	out.Emit(a)
}

func (d *tcpRSTSpoof) emit(in *Input, out *Emitter, sig *rules.Signature, check string, s, r *flow.TCPSide) {
	a := out.New(sig, in)
	d.evidence(a, in, check, s, r, in.P.TCP.Seq, in.P.TTL)
	out.Emit(a)
}

func (d *tcpRSTSpoof) evidence(a *alert.Alert, in *Input, check string, s, r *flow.TCPSide, seq uint32, ttl uint8) {
	rs := &in.Flow.App.RST
	e := &a.Evidence
	e.Reset("tcp")
	e.Str("check", check)
	e.Uint("rst_seq", uint64(seq))
	if s.Flags&flow.SideSeqKnown != 0 {
		e.Uint("expected_seq", uint64(s.NextSeq))
		e.Uint("window", uint64(r.Window))
	}
	e.Uint("count", uint64(rs.Count))
	e.Uint("seq_spread", uint64(rs.MaxSeq-rs.MinSeq))
	e.Uint("ttl", uint64(ttl))
	confidence := "medium"
	if s.Flags&flow.SideTTLKnown != 0 {
		e.Uint("ttl_baseline_min", uint64(s.TTLMin))
		e.Uint("ttl_baseline_max", uint64(s.TTLMax))
		if int(ttl) < int(s.TTLMin)-d.ttlTolerance || int(ttl) > int(s.TTLMax)+d.ttlTolerance {
			confidence = "high"
		}
	}
	if in.Flow.TCP.Uncertain() {
		confidence = "low"
	}
	e.Str("confidence", confidence)
}
