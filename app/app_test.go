package app

import (
	"net/netip"
	"testing"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// negotiates counts the SMB NEGOTIATE requests it is shown.
type negotiates struct{ n int }

func (c *negotiates) Inspect(*detectors.Input, *detectors.Emitter) {}
func (c *negotiates) InspectSMB(*detectors.Input, *decode.SMBNegotiate, []byte, *detectors.Emitter) {
	c.n++
}

// smbFlow opens a flow from a client to port 445 and lets the layer claim it.
func smbFlow(t *testing.T, l *Layer, tb *flow.Table, i int) *detectors.Input {
	p := &decode.Packet{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: 50000, DstPort: 445, Proto: 6, Layers: decode.LayerTCP}
	f, dir, _ := tb.Lookup(p, true)
	in := &detectors.Input{P: p, Flow: f, Dir: dir, Flows: tb}
	if !l.WantStream(in) {
		t.Fatal("port 445 not claimed")
	}
	return in
}

// negotiate is an NBSS message with an SMB1 NEGOTIATE offering NT LM 0.12.
func negotiate() []byte {
	smb := append([]byte("\xffSMB\x72"), make([]byte, 27)...)
	smb = append(smb, 0, 12, 0) // word count 0, byte count 12
	smb = append(smb, "\x02NT LM 0.12\x00"...)
	return append([]byte{0, 0, 0, byte(len(smb))}, smb...)
}

func TestSMBPieces(t *testing.T) {
	det := &negotiates{}
	tb := flow.New(flow.Config{Max: 200, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	l := New(tb.Max(), []detectors.Instance{{Name: "count", Detector: det}})
	var out detectors.Emitter
	msg := negotiate()

	// Whole, then in two pieces, then byte by byte: each seen once.
	in := smbFlow(t, l, tb, 0)
	l.StreamData(in, 0, msg, &out)
	l.StreamData(in, 0, msg[:20], &out)
	l.StreamData(in, 0, msg[20:], &out)
	for i := range msg {
		l.StreamData(in, 0, msg[i:i+1], &out)
	}
	if det.n != 3 {
		t.Errorf("%d negotiates seen, want 3", det.n)
	}
	if len(l.pool.free) != smbBuffers {
		t.Errorf("%d of %d buffers free after whole messages", len(l.pool.free), smbBuffers)
	}

	// Every buffer lent to a half-received message: the next one is dropped and counted, and
	// releasing the flows returns every buffer.
	ins := make([]*detectors.Input, smbBuffers+1)
	for i := range ins {
		ins[i] = smbFlow(t, l, tb, i+1)
		l.StreamData(ins[i], 0, msg[:10], &out)
	}
	if l.Stats.BufferDrops != 1 || len(l.pool.free) != 0 {
		t.Errorf("drops %d, free %d", l.Stats.BufferDrops, len(l.pool.free))
	}
	for _, in := range ins {
		l.Release(in.Flow)
	}
	if len(l.pool.free) != smbBuffers {
		t.Errorf("%d of %d buffers free after release", len(l.pool.free), smbBuffers)
	}
}

func TestSMBNotNetBIOS(t *testing.T) {
	det := &negotiates{}
	tb := flow.New(flow.Config{Max: 4, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	l := New(tb.Max(), []detectors.Instance{{Name: "count", Detector: det}})
	var out detectors.Emitter
	in := smbFlow(t, l, tb, 0)
	l.StreamData(in, 0, []byte("GET / HTTP/1.1\r\n\r\n"), &out)
	l.StreamData(in, 0, negotiate(), &out) // framing is lost for good: not parsed
	if det.n != 0 || !in.P.HasAnomaly(decode.NBSSUnknownType) {
		t.Errorf("seen %d, anomalies %v", det.n, in.P.Anomalies())
	}
}

func TestNoLayerWithoutDetectors(t *testing.T) {
	if New(16, nil) != nil {
		t.Error("a layer without application detectors")
	}
}
