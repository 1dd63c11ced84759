// Package engine wires the pipeline for one worker: captured frame -> decode -> detectors ->
// alert sink, with the counters that describe the run. An Engine is not safe for concurrent use;
// run one per worker. Process allocates nothing unless an alert is written.
package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

// Engine processes packets for one worker.
type Engine struct {
	rules *rules.Set
	pkt   decode.Packet
	dets  []detectors.Instance
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
	e := &Engine{rules: set, dets: detectors.Build(set), sink: sink}
	e.Stats.Alerts = make([]uint64, len(set.Signatures))
	e.emit.Out = e.onAlert
	return e
}

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
	e.emit.PcapCnt = s.Packets
	for i := range e.dets {
		if d := &e.dets[i]; p.Layers&d.Interest != 0 {
			d.Inspect(p, &e.emit)
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
