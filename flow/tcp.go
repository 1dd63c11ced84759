package flow

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/stream"
)

// TCPSide is what one side of a connection has sent and been acknowledged, as seen on the wire.
type TCPSide struct {
	ISN     uint32
	NextSeq uint32 // SND.NXT: one past the highest sequence number sent (SYN and FIN count one)
	Una     uint32 // SND.UNA: the highest acknowledgment the peer sent for this side's data
	Window  uint32 // receive window this side last advertised, scaled
	WScale  uint8  // shift from this side's SYN, when SideWScale
	TTLMin  uint8  // range of TTL / hop limit over this side's non-RST packets: its baseline
	TTLMax  uint8
	Flags   uint16 // Side* bits
}

// TCPSide flags.
const (
	SideSYN      = 1 << iota // sent a SYN
	SideBareSYN              // sent a SYN without ACK (an opener)
	SideFIN                  // sent a FIN
	SideRST                  // sent a RST
	SideWScale               // its SYN offered window scaling
	SideSACKPerm             // its SYN offered SACK
	SideSeqKnown             // ISN/NextSeq are valid
	SideAckKnown             // Una is valid
	SideTTLKnown             // TTLMin/TTLMax are valid
)

// TCPConn is a TCP connection's state: both sides (index = flow direction) and what is uncertain.
type TCPConn struct {
	Side  [2]TCPSide
	Flags uint8 // Conn* bits
}

// TCPConn flags.
const (
	ConnHandshake    = 1 << iota // saw SYN, SYN+ACK and the ACK completing them
	ConnSimultaneous             // both sides sent a bare SYN (simultaneous open)
	ConnMidStream                // picked up without seeing the handshake: sequence state is inferred
	ConnGap                      // data was missing (capture loss before the sensor): windows may be stale
	ConnScaled                   // both SYNs offered window scaling, so windows are shifted
)

// Uncertain reports whether the connection's sequence state is inferred rather than observed
// from its start without loss: detectors lower their confidence on such connections.
func (c *TCPConn) Uncertain() bool { return c.Flags&(ConnMidStream|ConnGap) != 0 }

// seqLT and friends compare sequence numbers modulo 2^32 (RFC 793 section 3.3).
func seqLT(a, b uint32) bool { return int32(a-b) < 0 }
func seqGT(a, b uint32) bool { return int32(a-b) > 0 }

// SeqInRange reports whether lo <= x <= hi modulo 2^32.
func SeqInRange(x, lo, hi uint32) bool { return x-lo <= hi-lo }

// TrackTCP updates f's TCP state with p, sent in direction dir, and moves the flow between
// states. RSTs change only flags and state: their sequence numbers are judged by detectors
// against the state as it stood. It returns p's direction, which changes when p starts a new
// connection on a closed flow's 5-tuple.
func (t *Table) TrackTCP(f *Flow, dir int, p *decode.Packet) int {
	tcp := &p.TCP
	fl := tcp.Flags
	if f.State == StateDone && fl&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn && tcp.Seq != f.TCP.Side[dir].ISN {
		t.Reuse(f, dir, p.TS) // a new connection on a closed flow's 5-tuple
		dir = 0
	}
	c := &f.TCP
	s, r := &c.Side[dir], &c.Side[1-dir]
	f.Pkts[dir]++
	f.Bytes[dir] += uint64(tcp.SegLen)

	if fl&decode.TCPRst != 0 {
		s.Flags |= SideRST
		t.SetState(f, StateDone)
		return dir
	}
	s.observeTTL(p.TTL)

	end := tcp.Seq + uint32(tcp.SegLen)
	if fl&decode.TCPSyn != 0 {
		end++
		s.ISN = tcp.Seq
		s.Flags |= SideSYN
		if tcp.Opt.Has&decode.TCPOptWScale != 0 {
			s.Flags |= SideWScale
			s.WScale = min(tcp.Opt.WScale, 14) // RFC 7323: larger shifts are treated as 14
		}
		if tcp.Opt.Has&decode.TCPOptSACKPermitted != 0 {
			s.Flags |= SideSACKPerm
		}
		if fl&decode.TCPAck == 0 {
			s.Flags |= SideBareSYN
			if r.Flags&SideBareSYN != 0 {
				c.Flags |= ConnSimultaneous
			}
		}
		if s.Flags&SideWScale != 0 && r.Flags&SideWScale != 0 {
			c.Flags |= ConnScaled
		}
	}
	if fl&decode.TCPFin != 0 {
		end++
		s.Flags |= SideFIN
	}

	switch {
	case s.Flags&SideSeqKnown == 0:
		if fl&decode.TCPSyn == 0 {
			c.Flags |= ConnMidStream // first we see of this side is not its SYN
		}
		s.NextSeq = end
		s.Flags |= SideSeqKnown
	case seqGT(tcp.Seq, s.NextSeq):
		c.Flags |= ConnGap // bytes between NextSeq and Seq never passed the sensor
		s.NextSeq = end
	case seqGT(end, s.NextSeq):
		s.NextSeq = end
	}

	if fl&decode.TCPAck != 0 {
		if r.Flags&SideAckKnown == 0 || seqGT(tcp.Ack, r.Una) {
			r.Una = tcp.Ack
			r.Flags |= SideAckKnown
		}
		if r.Flags&SideSeqKnown != 0 && seqGT(tcp.Ack, r.NextSeq) {
			c.Flags |= ConnGap // acknowledges data of r's the sensor never saw
			r.NextSeq = tcp.Ack
		}
	}

	s.Window = uint32(tcp.Window)
	if c.Flags&ConnScaled != 0 && fl&decode.TCPSyn == 0 {
		s.Window <<= s.WScale // RFC 7323: SYN windows are never scaled
	}

	// Established once both sides have spoken and an ACK follows the handshake. A flow closed
	// by a RST that keeps going (the RST was forged) is established again.
	switch {
	case s.Flags&SideFIN != 0 && r.Flags&SideFIN != 0:
		t.SetState(f, StateDone)
	case f.State != StateEstablished && f.Pkts[0] > 0 && f.Pkts[1] > 0 && fl&decode.TCPAck != 0 &&
		(fl&decode.TCPSyn == 0 || c.Flags&ConnMidStream != 0):
		if c.Side[0].Flags&SideSYN != 0 && c.Side[1].Flags&SideSYN != 0 {
			c.Flags |= ConnHandshake
		}
		t.SetState(f, StateEstablished)
	}
	return dir
}

// Reuse starts a new conversation on a closed flow's entry: a new id and clean state, with the
// sender of the packet in direction dir as the new initiator.
func (t *Table) Reuse(f *Flow, dir int, now int64) {
	if t.OnEvict != nil {
		t.OnEvict(f)
	}
	f.Stream, f.StreamFor = [2]stream.Half{}, 0
	if dir == 1 {
		f.aIsClient = !f.aIsClient
	}
	f.TCP, f.App, f.Pkts, f.Bytes = TCPConn{}, AppState{}, [2]uint64{}, [2]uint64{}
	f.First = now // a new connection: a new ID
	t.SetState(f, StateNew)
	t.Stats.Reused++
}

func (s *TCPSide) observeTTL(ttl uint8) {
	if s.Flags&SideTTLKnown == 0 {
		s.TTLMin, s.TTLMax = ttl, ttl
		s.Flags |= SideTTLKnown
		return
	}
	s.TTLMin = min(s.TTLMin, ttl)
	s.TTLMax = max(s.TTLMax, ttl)
}

// TrackUDP counts p and marks the flow established once both directions have been seen.
func (t *Table) TrackUDP(f *Flow, dir int, p *decode.Packet) {
	f.Pkts[dir]++
	f.Bytes[dir] += uint64(len(p.Payload))
	if f.State == StateNew && f.Pkts[0] > 0 && f.Pkts[1] > 0 {
		t.SetState(f, StateEstablished)
	}
}
