package engine

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
)

// pusher feeds an engine through Push, copying each frame into one of two buffers taken in
// turn: a frame lives exactly as long as Push's contract says, as with a capture file or a live
// source, so an engine that read one later would see another packet's bytes.
type pusher struct {
	e    *Engine
	bufs [2][]byte
	n    int
}

func (p *pusher) push(data []byte, info capture.Info) {
	b := append(p.bufs[p.n&1][:0], data...)
	p.bufs[p.n&1] = b
	p.n++
	p.e.Push(b, info)
}

// Push through the one-packet pipeline, with Drain at irregular points as a live worker's
// timeouts call it, gives exactly what Process gives packet by packet: the same alerts in the
// same order and the same counters, with each frame overwritten as soon as Push's contract
// allows (pusher).
func TestPushMatchesProcess(t *testing.T) {
	recs := load(t, "pcaps/*/*.pcap*")
	var want, got bytes.Buffer
	ref := New(defaultRules(t), alert.NewEVE(&want))
	for _, r := range recs {
		ref.Process(r.data, r.info)
	}
	ref.Flush()

	e := New(defaultRules(t), alert.NewEVE(&got))
	in := pusher{e: e}
	for i, r := range recs {
		in.push(r.data, r.info)
		if i%7 == 3 || i%11 == 0 {
			e.Drain()
		}
	}
	e.Flush()

	if ref.Stats.AlertsTotal == 0 || ref.Stats.Packets != uint64(len(recs)) {
		t.Fatalf("reference run: %d alerts over %d packets of %d", ref.Stats.AlertsTotal, ref.Stats.Packets, len(recs))
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("alerts differ: Push wrote %d bytes, Process %d", got.Len(), want.Len())
	}
	a, b := e.Stats, ref.Stats
	if a.Packets != b.Packets || a.Bytes != b.Bytes || a.Anomalies != b.Anomalies || a.AlertsTotal != b.AlertsTotal || a.Panics != 0 {
		t.Errorf("counters differ: Push %+v\nProcess %+v", a, b)
	}
	if fa, fb := e.Flows().Stats, ref.Flows().Stats; fa != fb {
		t.Errorf("flow counters differ: Push %+v\nProcess %+v", fa, fb)
	}
}

// A detector that panics under Push costs that packet only: the next is still inspected, every
// packet is counted, and the first panic names its packet.
func TestPushRecoversPanics(t *testing.T) {
	e := New(defaultRules(t), alert.NewEVE(io.Discard))
	e.dets = append(e.dets, detectors.Instance{Name: "boom", Interest: ^decode.Layer(0), Detector: panicker{}})
	land := load(t, "pcaps/land/attack-ipv4.pcap")
	in := pusher{e: e}
	for range 3 {
		in.push(land[0].data, land[0].info)
	}
	e.Flush()
	if s := e.Stats; s.Packets != 3 || s.Panics != 3 || !strings.HasPrefix(s.FirstPanic, "packet 1: boom") {
		t.Errorf("packets %d, panics %d, first %.40q", s.Packets, s.Panics, s.FirstPanic)
	}
}
