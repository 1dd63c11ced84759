// Package engine wires the pipeline for one worker: captured frame -> decode -> flow table and
// TCP state -> detectors -> alert sink, with the counters that describe the run. An Engine is
// not safe for concurrent use; run one per worker. Process allocates nothing in steady state.
package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
)

// Engine processes packets for one worker.
type Engine struct {
	rules *rules.Set
	pkt   decode.Packet
	flows *flow.Table
	dets  []detectors.Instance
	in    detectors.Input
	emit  detectors.Emitter
	sink  alert.Sink

	Stats Stats
}

// Stats counts what an Engine saw. Plain integers: one worker writes them, and readers fold
// them after the run (or, in the sensor, at scrape time).
type Stats struct {
	Packets          uint64
	Bytes            uint64                      // captured bytes
	Anomalies        [decode.NumAnomalies]uint64 // by code
	AnomaliesDropped uint64                      // beyond decode.MaxAnomalies in one packet
	Alerts           []uint64                    // by rules.Signature.Index
	AlertsTotal      uint64                      // detected, whether or not the sink took them
	WriteErrors      uint64                      // alerts the sink failed to write
	Panics           uint64                      // packets whose processing panicked (a bug)
	FirstPanic       string                      // what the first panic said, with its stack
	FirstWriteError  error                       // the first error the sink returned
}

// New builds an engine running the detectors that set enables, writing alerts to sink.
func New(set *rules.Set, sink alert.Sink) *Engine {
	st := &set.Settings
	e := &Engine{rules: set, dets: detectors.Build(set), sink: sink}
	e.flows = flow.New(flow.Config{
		Max:         st.FlowMax,
		TimeoutNew:  st.FlowTimeoutNew * 1e9,
		TimeoutEst:  st.FlowTimeoutEst * 1e9,
		TimeoutDone: st.FlowTimeoutClosed * 1e9,
	})
	e.in = detectors.Input{P: &e.pkt, Flows: e.flows}
	e.Stats.Alerts = make([]uint64, len(set.Signatures))
	e.emit.Out = e.onAlert
	return e
}

// Flows returns the engine's flow table (for its counters).
func (e *Engine) Flows() *flow.Table { return e.flows }

// Rules returns the rules the engine runs.
func (e *Engine) Rules() *rules.Set { return e.rules }

// Process decodes one captured frame and runs the interested detectors on it. data may be
// reused by the caller once Process returns.
func (e *Engine) Process(data []byte, info capture.Info) {
	defer e.recoverPanic()
	s := &e.Stats
	s.Packets++
	s.Bytes += uint64(len(data))
	p := &e.pkt
	p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
	for _, a := range p.Anomalies() {
		s.Anomalies[a]++
	}
	s.AnomaliesDropped += uint64(p.AnomaliesDropped)

	in := &e.in
	in.Num, in.Flow, in.Dir = s.Packets, nil, 0
	var f *flow.Flow
	if p.Layers&(decode.LayerTCP|decode.LayerUDP) != 0 && p.Layers&decode.LayerFragment == 0 {
		// A RST with no flow to end does not start one: stray resets (backscatter of floods
		// elsewhere) would fill the table with dead flows.
		create := p.Layers&decode.LayerUDP != 0 || p.TCP.Flags&decode.TCPRst == 0
		f, in.Dir, _ = e.flows.Lookup(p, create)
		in.Flow = f
	}

	// Detectors see the flow as it stood before this packet, then the packet is applied.
	for i := range e.dets {
		if d := &e.dets[i]; p.Layers&d.Interest != 0 {
			d.Inspect(in, &e.emit)
		}
	}
	if f != nil {
		if p.Layers&decode.LayerTCP != 0 {
			e.flows.TrackTCP(f, in.Dir, p)
		} else {
			e.flows.TrackUDP(f, in.Dir, p)
		}
	}
}

// recoverPanic keeps a bug on one packet from taking the sensor down: it is counted and its
// first occurrence kept for the summary (and for a regression test).
func (e *Engine) recoverPanic() {
	if r := recover(); r != nil {
		e.Stats.Panics++
		if e.Stats.FirstPanic == "" {
			e.Stats.FirstPanic = fmt.Sprintf("packet %d: %v\n%s", e.Stats.Packets, r, debug.Stack())
		}
	}
}

func (e *Engine) onAlert(a *alert.Alert) {
	s := &e.Stats
	s.AlertsTotal++
	s.Alerts[a.Sig.Index]++
	if err := e.sink.Write(a); err != nil {
		s.WriteErrors++
		if s.FirstWriteError == nil {
			s.FirstWriteError = err
		}
	}
}

// Flush flushes the alert sink.
func (e *Engine) Flush() error { return e.sink.Flush() }
