// Package engine wires the pipeline for one worker: captured frame -> decode -> flow table and
// TCP state -> detectors -> alert sink, with the counters that describe the run. An Engine is
// not safe for concurrent use; run one per worker. Process (a packet at a time) and Push (with
// one packet of lookahead, for read loops) allocate nothing in steady state.
package engine

import (
	"fmt"
	"runtime/debug"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/app"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/defrag"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/stream"
)

// Engine processes packets for one worker.
type Engine struct {
	rules      *rules.Set
	pkts       [2]decode.Packet // the pending packet (pkts[cur]) and the one decoded after it
	ahead      [2]flow.Ahead    // their flow lookups, begun by decodeAhead when hasAhead
	hasAhead   [2]bool
	cur        int
	pending    int  // len of the pending packet's frame, -1 when there is none
	inspecting bool // Push got past decoding (for recoverPush)
	flows      *flow.Table
	defrag     *defrag.Defragmenter
	reasm      *stream.Reassembler
	consumer   streamConsumer
	dets       []detectors.Instance
	streamDets []detectors.StreamDetector
	app        *app.Layer // nil when no detector reads application messages
	in         detectors.Input
	emit       detectors.Emitter
	sink       alert.Sink
	thr        thresholds

	Stats Stats
}

// Stats counts what an Engine saw. Plain integers: one worker writes them, and readers fold
// them after the run (or, in the sensor, at scrape time).
type Stats struct {
	Packets            uint64
	Bytes              uint64                      // captured bytes
	Anomalies          [decode.NumAnomalies]uint64 // by code
	AnomaliesDropped   uint64                      // beyond decode.MaxAnomalies in one packet
	Alerts             []uint64                    // by rules.Signature.Index
	AlertsTotal        uint64                      // detected, whether or not the sink took them
	AlertsSuppressed   uint64                      // detected, but kept from the sink by a threshold or suppression
	ThresholdEvictions uint64                      // threshold buckets dropped because threshold.max_entries were in use
	WriteErrors        uint64                      // alerts the sink failed to write
	Panics             uint64                      // packets whose processing panicked (a bug)
	FirstPanic         string                      // what the first panic said, with its stack
	FirstWriteError    error                       // the first error the sink returned
}

// New builds an engine running the detectors that set enables, writing alerts to sink.
func New(set *rules.Set, sink alert.Sink) *Engine {
	st := &set.Settings
	e := &Engine{sink: sink}
	e.thr.max = st.ThresholdMax
	if e.thr.max <= 0 {
		e.thr.max = rules.DefaultSettings.ThresholdMax
	}
	e.flows = flow.New(flow.Config{
		Max:         st.FlowMax,
		TimeoutNew:  st.FlowTimeoutNew * 1e9,
		TimeoutEst:  st.FlowTimeoutEst * 1e9,
		TimeoutDone: st.FlowTimeoutClosed * 1e9,
	})
	e.defrag = defrag.New(defrag.Config{
		MaxDatagrams: st.DefragMaxDatagrams,
		MaxBytes:     st.DefragMemcap,
		Timeout:      st.DefragTimeout * 1e9,
	})
	e.reasm = stream.New(stream.Config{Memcap: st.StreamMemcap, FlowCap: st.StreamFlowCap})
	e.consumer.e = e
	e.flows.OnEvict = e.releaseStreams
	e.pending = -1
	e.in = detectors.Input{P: &e.pkts[0], Flows: e.flows}
	e.emit.Out = e.onAlert
	e.SetRules(set)
	return e
}

// SetRules swaps in the detectors that set enables, keeping the flow table, defragmentation,
// TCP state and the application parsers' state: connections under way stay tracked, and a
// message being assembled across a rules reload is still inspected. The engine's limits
// (set.Settings) were fixed by New; changing them takes a restart. Per-signature counts start
// again at zero: the caller keeps the old ones. Threshold windows start afresh.
func (e *Engine) SetRules(set *rules.Set) {
	e.Drain() // the pending packet is inspected under the rules it arrived with
	e.rules = set
	e.dets = detectors.Build(set)
	// Flow.StreamFor holds indexes into streamDets, so their order must survive a reload: the
	// application layer is the only stream detector and stays at its index.
	e.streamDets = streamDetectors(e.dets)
	if e.app != nil {
		e.app.Rebind(e.dets)
	} else {
		e.app = app.New(e.flows.Max(), e.dets)
	}
	if e.app != nil {
		e.streamDets = append(e.streamDets, e.app)
	}
	e.Stats.Alerts = make([]uint64, len(set.Signatures))
	e.thr.reset(set)
}

// Flows returns the engine's flow table (for its counters).
func (e *Engine) Flows() *flow.Table { return e.flows }

// Defrag returns the engine's IP defragmenter (for its counters).
func (e *Engine) Defrag() *defrag.Defragmenter { return e.defrag }

// App returns the engine's application layer (for its counters), nil when no detector uses it.
func (e *Engine) App() *app.Layer { return e.app }

// Reassembler returns the engine's TCP stream reassembler (for its counters).
func (e *Engine) Reassembler() *stream.Reassembler { return e.reasm }

// Rules returns the rules the engine runs.
func (e *Engine) Rules() *rules.Set { return e.rules }

// Process decodes one captured frame and runs the interested detectors on it. data may be
// reused by the caller once Process returns.
func (e *Engine) Process(data []byte, info capture.Info) {
	e.Push(data, info)
	e.Drain()
}

// Push is Process through a one-packet pipeline, for callers that read packets in a loop: it
// decodes this frame and starts loading the memory its flow lookup will need, then inspects
// the packet pushed before it, whose memory the previous Push started loading. The load of
// one packet's flow (a cache miss per packet once flows outnumber the cache) thus overlaps
// the inspection of another. data must stay valid until the following Push, Drain or Flush
// returns, as capture.File and the live sources keep the packet before their latest.
func (e *Engine) Push(data []byte, info capture.Info) {
	next := e.cur ^ 1
	e.inspecting = false
	defer e.recoverPush(next, len(data)) // one deferred call per packet: see recoverPush
	e.decodeAhead(next, data, info)
	e.inspecting = true
	if n := e.pending; n >= 0 {
		e.pending = -1
		e.inspectDecoded(n)
	}
	e.cur, e.pending = next, len(data)
}

// recoverPush keeps a bug on one packet from taking the sensor down (see notePanic) and leaves
// the pipeline as Push would have: the pending packet inspected, and the new one pending
// unless decoding it is what failed.
func (e *Engine) recoverPush(next, n int) {
	r := recover()
	if r == nil {
		return
	}
	if e.inspecting { // the previous packet failed, counted already; the new one is decoded
		e.notePanic(r, e.Stats.Packets)
		e.cur, e.pending = next, n
		return
	}
	num := e.Stats.Packets + 1 // the new packet's number, once the pending one is counted
	if e.pending >= 0 {
		num++
	}
	e.notePanic(r, num)
	e.Drain()
	e.Stats.Packets++
	e.Stats.Bytes += uint64(n)
}

// decodeAhead decodes a frame into pkts[k] and begins its flow lookup: the key and hash, and a
// prefetch of the index entry.
func (e *Engine) decodeAhead(k int, data []byte, info capture.Info) {
	p := &e.pkts[k]
	p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
	// A fragment's flow is known only once the datagram is whole.
	e.hasAhead[k] = p.Layers&(decode.LayerTCP|decode.LayerUDP) != 0 && p.Layers&decode.LayerFragment == 0
	if e.hasAhead[k] {
		e.flows.Prefetch(p, &e.ahead[k])
	}
}

// Drain inspects the packet Push left pending, if any: a live worker calls it when no packet
// follows within its poll interval, so that the last packet's alerts are not held back.
func (e *Engine) Drain() {
	n := e.pending
	if n < 0 {
		return
	}
	e.pending = -1
	defer e.recoverPanic()
	e.inspectDecoded(n)
}

// inspectDecoded runs everything after decoding on the pending packet, pkts[cur], whose frame
// was n bytes.
func (e *Engine) inspectDecoded(n int) {
	s := &e.Stats
	s.Packets++
	s.Bytes += uint64(n)
	p := &e.pkts[e.cur]
	e.in.P = p
	e.in.Num = s.Packets

	if p.Layers&decode.LayerFragment != 0 {
		// Defragmentation records its anomalies on the fragment; header-level detectors see
		// the fragment, transport-level ones wait for the datagram an end host would see.
		datagram := e.defrag.Add(p)
		e.countAnomalies()
		e.inspect(p.Layers&^transportLayers, nil, 0)
		if datagram == nil {
			return
		}
		p.DecodeDatagram(datagram)
		// The datagram's IPv4 header is the first fragment's, already inspected.
		e.inspectPacket(p.Layers &^ decode.LayerIPv4Opts)
		return
	}
	e.inspectPacket(p.Layers)
}

// transportLayers are what a fragment may carry only in part.
const transportLayers = decode.LayerTCP | decode.LayerUDP | decode.LayerICMPv4 | decode.LayerICMPv6 | decode.LayerQuoted

// inspectPacket finds the packet's flow, runs the detectors interested in layers, applies the
// packet to the flow's state, reassembles the flow's streams for the detectors reading them,
// and counts the packet's anomalies (reassembly records some).
func (e *Engine) inspectPacket(layers decode.Layer) {
	p := e.in.P
	defer e.countAnomalies()
	var f *flow.Flow
	var dir int
	if layers&(decode.LayerTCP|decode.LayerUDP) != 0 {
		// A RST with no flow to end does not start one: stray resets (backscatter of floods
		// elsewhere) would fill the table with dead flows.
		create := layers&decode.LayerUDP != 0 || p.TCP.Flags&decode.TCPRst == 0
		if e.hasAhead[e.cur] {
			f, dir, _ = e.flows.LookupAhead(p, &e.ahead[e.cur], create)
		} else {
			f, dir, _ = e.flows.Lookup(p, create)
		}
	}
	// Detectors see the flow as it stood before this packet, then the packet is applied.
	e.inspect(layers, f, dir)
	if f == nil {
		return
	}
	if layers&decode.LayerUDP != 0 {
		e.flows.TrackUDP(f, dir, p)
		return
	}
	dir = e.flows.TrackTCP(f, dir, p)
	if f.StreamFor&streamDecided == 0 {
		f.StreamFor = e.wantStream(f, dir)
	}
	if f.StreamFor != streamDecided {
		e.reassemble(f, dir)
	}
}

func (e *Engine) inspect(layers decode.Layer, f *flow.Flow, dir int) {
	in := &e.in
	in.Flow, in.Dir = f, dir
	for i := range e.dets {
		if d := &e.dets[i]; layers&d.Interest != 0 {
			d.Inspect(in, &e.emit)
		}
	}
}

func (e *Engine) countAnomalies() {
	p, s := e.in.P, &e.Stats
	for _, a := range p.Anomalies() {
		s.Anomalies[a]++
	}
	s.AnomaliesDropped += uint64(p.AnomaliesDropped)
}

// recoverPanic keeps a bug in inspecting the packet just counted from taking the sensor down.
func (e *Engine) recoverPanic() {
	if r := recover(); r != nil {
		e.notePanic(r, e.Stats.Packets)
	}
}

// notePanic counts a recovered panic and keeps the first one's message and stack for the
// summary (and for a regression test).
func (e *Engine) notePanic(r any, num uint64) {
	e.Stats.Panics++
	if e.Stats.FirstPanic == "" {
		e.Stats.FirstPanic = fmt.Sprintf("packet %d: %v\n%s", num, r, debug.Stack())
	}
}

// onAlert counts every detection; those that the signature's thresholds and suppressions let
// through go to the sink.
func (e *Engine) onAlert(a *alert.Alert) {
	s := &e.Stats
	s.AlertsTotal++
	s.Alerts[a.Sig.Index]++
	if (a.Sig.Threshold != nil || len(a.Sig.Suppress) > 0) && !e.thr.pass(a, s) {
		s.AlertsSuppressed++
		return
	}
	if err := e.sink.Write(a); err != nil {
		s.WriteErrors++
		if s.FirstWriteError == nil {
			s.FirstWriteError = err
		}
	}
}

// Flush inspects the pending packet and flushes the alert sink.
func (e *Engine) Flush() error {
	e.Drain()
	return e.sink.Flush()
}
