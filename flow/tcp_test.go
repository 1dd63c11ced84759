package flow

import (
	"testing"

	"github.com/ids-sensor/ids/decode"
)

// seg is one TCP segment of a test conversation.
type seg struct {
	fromClient bool
	flags      uint16
	seq, ack   uint32
	win        uint16
	n          int // payload bytes
	ttl        uint8
	opts       decode.TCPOptions
}

func feed(t *testing.T, segs ...seg) (*Table, *Flow) {
	t.Helper()
	tb := New(Config{Max: 4, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	var f *Flow
	for i, s := range segs {
		p := pkt("192.0.2.10", "198.51.100.20", 40000, 80, 6, int64(i))
		if !s.fromClient {
			p = pkt("198.51.100.20", "192.0.2.10", 80, 40000, 6, int64(i))
		}
		p.TCP = decode.TCP{Seq: s.seq, Ack: s.ack, Flags: s.flags, Window: s.win, SegLen: s.n, Opt: s.opts}
		p.TTL = s.ttl
		var dir int
		f, dir, _ = tb.Lookup(p, true)
		tb.TrackTCP(f, dir, p)
	}
	return tb, f
}

const (
	syn = decode.TCPSyn
	ack = decode.TCPAck
	fin = decode.TCPFin
	rst = decode.TCPRst
	psh = decode.TCPPsh
)

func TestHandshakeAndData(t *testing.T) {
	ws := decode.TCPOptions{Has: decode.TCPOptWScale | decode.TCPOptSACKPermitted, WScale: 7}
	_, f := feed(t,
		seg{true, syn, 100, 0, 65535, 0, 64, ws},
		seg{false, syn | ack, 900, 101, 28960, 0, 120, decode.TCPOptions{Has: decode.TCPOptWScale, WScale: 2}},
		seg{true, ack, 101, 901, 502, 0, 64, decode.TCPOptions{}},
		seg{true, psh | ack, 101, 901, 502, 300, 63, decode.TCPOptions{}},
		seg{false, ack, 901, 401, 1000, 1400, 122, decode.TCPOptions{}},
	)
	c, s := &f.TCP.Side[0], &f.TCP.Side[1]
	if f.State != StateEstablished || f.TCP.Flags&ConnHandshake == 0 || f.TCP.Uncertain() {
		t.Errorf("state %d flags %b", f.State, f.TCP.Flags)
	}
	if c.ISN != 100 || c.NextSeq != 401 || c.Una != 401 || s.ISN != 900 || s.NextSeq != 2301 || s.Una != 901 {
		t.Errorf("client %+v server %+v", *c, *s)
	}
	// Windows after the handshake are scaled by the sender's own shift (RFC 7323).
	if c.Window != 502<<7 || s.Window != 1000<<2 || f.TCP.Flags&ConnScaled == 0 {
		t.Errorf("windows %d %d", c.Window, s.Window)
	}
	if c.TTLMin != 63 || c.TTLMax != 64 || s.TTLMin != 120 || s.TTLMax != 122 {
		t.Errorf("ttl client %d-%d server %d-%d", c.TTLMin, c.TTLMax, s.TTLMin, s.TTLMax)
	}
	if c.Flags&SideSACKPerm == 0 || s.Flags&SideSACKPerm != 0 {
		t.Errorf("sack %b %b", c.Flags, s.Flags)
	}
}

func TestNoScalingUnlessBothOffer(t *testing.T) {
	_, f := feed(t,
		seg{true, syn, 100, 0, 65535, 0, 64, decode.TCPOptions{Has: decode.TCPOptWScale, WScale: 7}},
		seg{false, syn | ack, 900, 101, 28960, 0, 64, decode.TCPOptions{}},
		seg{true, ack, 101, 901, 502, 0, 64, decode.TCPOptions{}},
	)
	if f.TCP.Flags&ConnScaled != 0 || f.TCP.Side[0].Window != 502 {
		t.Errorf("scaled %b window %d", f.TCP.Flags, f.TCP.Side[0].Window)
	}
}

func TestSimultaneousOpen(t *testing.T) {
	_, f := feed(t,
		seg{true, syn, 100, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, syn, 900, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, syn | ack, 100, 901, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, syn | ack, 900, 101, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, ack, 101, 901, 1000, 0, 64, decode.TCPOptions{}},
	)
	if f.TCP.Flags&ConnSimultaneous == 0 || f.State != StateEstablished {
		t.Errorf("flags %b state %d", f.TCP.Flags, f.State)
	}
}

func TestMidStreamAndGap(t *testing.T) {
	_, f := feed(t,
		seg{true, psh | ack, 5000, 9000, 1000, 100, 64, decode.TCPOptions{}},
		seg{false, ack, 9000, 5100, 1000, 0, 64, decode.TCPOptions{}},
	)
	if f.TCP.Flags&ConnMidStream == 0 || f.State != StateEstablished || !f.TCP.Uncertain() {
		t.Errorf("mid-stream: flags %b state %d", f.TCP.Flags, f.State)
	}
	_, f = feed(t,
		seg{true, syn, 100, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, syn | ack, 900, 101, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, ack, 101, 901, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, ack, 1901, 101, 1000, 500, 64, decode.TCPOptions{}}, // 1000 bytes never seen
	)
	if f.TCP.Flags&ConnGap == 0 || f.TCP.Side[1].NextSeq != 2401 {
		t.Errorf("gap: flags %b next %d", f.TCP.Flags, f.TCP.Side[1].NextSeq)
	}
	// An acknowledgment of data never seen is loss in the other direction.
	_, f = feed(t,
		seg{true, syn, 100, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, syn | ack, 900, 101, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, ack, 101, 5901, 1000, 0, 64, decode.TCPOptions{}},
	)
	if f.TCP.Flags&ConnGap == 0 || f.TCP.Side[1].NextSeq != 5901 {
		t.Errorf("ack gap: flags %b next %d", f.TCP.Flags, f.TCP.Side[1].NextSeq)
	}
}

func TestCloseAndReuse(t *testing.T) {
	tb, f := feed(t,
		seg{true, syn, 100, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, syn | ack, 900, 101, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, ack, 101, 901, 1000, 0, 64, decode.TCPOptions{}},
		seg{true, fin | ack, 101, 901, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, fin | ack, 901, 102, 1000, 0, 64, decode.TCPOptions{}},
	)
	if f.State != StateDone || f.TCP.Side[0].NextSeq != 102 || f.TCP.Side[1].NextSeq != 902 {
		t.Fatalf("after FINs: state %d next %d/%d", f.State, f.TCP.Side[0].NextSeq, f.TCP.Side[1].NextSeq)
	}
	id := f.ID()
	// A new SYN with a new ISN on the closed 5-tuple, from the former server: a new connection.
	p := pkt("198.51.100.20", "192.0.2.10", 80, 40000, 6, 100)
	p.TCP = decode.TCP{Seq: 77777, Flags: syn, Window: 1000}
	g, dir, _ := tb.Lookup(p, true)
	tb.TrackTCP(g, dir, p)
	if g != f || f.State != StateNew || f.ID() == id || f.TCP.Side[0].ISN != 77777 || tb.Stats.Reused != 1 {
		t.Errorf("reuse: state %d id changed %v isn %d reused %d", f.State, f.ID() != id, f.TCP.Side[0].ISN, tb.Stats.Reused)
	}
	// RST closes.
	_, f = feed(t,
		seg{true, syn, 100, 0, 1000, 0, 64, decode.TCPOptions{}},
		seg{false, rst | ack, 0, 101, 0, 0, 64, decode.TCPOptions{}},
	)
	if f.State != StateDone || f.TCP.Side[1].Flags&SideRST == 0 {
		t.Errorf("rst: state %d", f.State)
	}
}

func TestSeqArithmeticWraps(t *testing.T) {
	if !SeqInRange(5, 0xfffffff0, 10) || SeqInRange(11, 0xfffffff0, 10) || !seqGT(3, 0xffffff00) || seqLT(3, 0xffffff00) {
		t.Error("wraparound comparisons")
	}
}
