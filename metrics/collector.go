package metrics

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ids-sensor/ids/app"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/flow"
)

// Label values are fixed lists or small integers: never addresses or ports, so that the number
// of series is bounded whatever the traffic.
var (
	workerLabel = []string{"worker"}

	anomalyNames = func() []string {
		n := make([]string, decode.NumAnomalies)
		for i := range n {
			n[i] = decode.Anomaly(i).String()
		}
		return n
	}()

	appProtos = [...]struct {
		p    app.Proto
		name string
	}{{app.ProtoSMB, "smb"}, {app.ProtoRPC, "dcerpc"}, {app.ProtoNNTP, "nntp"}}
)

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descBuildInfo   = newDesc("ids_build_info", "Always 1; the labels say which build runs.", "version", "goversion")
	descCaptureInfo = newDesc("ids_capture_info", "Always 1; the labels say what the sensor captures from.", "backend", "interface")
	descStartTime   = newDesc("ids_start_time_seconds", "When the sensor started, in seconds since the Unix epoch.")
	descReady       = newDesc("ids_ready", "1 while the capture is open and the workers run, else 0.")
	descWorkers     = newDesc("ids_workers", "Capture workers configured.")

	descPackets      = newDesc("ids_capture_packets_total", "Packets the worker processed.", workerLabel...)
	descBytes        = newDesc("ids_capture_bytes_total", "Captured bytes the worker processed.", workerLabel...)
	descKernelPkts   = newDesc("ids_capture_kernel_packets_total", "Packets the kernel handed to the worker's capture socket.", workerLabel...)
	descCaptureDrops = newDesc("ids_capture_drops_total", "Packets lost before the worker saw them: reason kernel (buffer or ring full) or interface (NIC or driver).", "worker", "reason")
	descFreezes      = newDesc("ids_capture_ring_freezes_total", "AF_PACKET TPACKET_V3 ring queue freezes.", workerLabel...)

	descAnomalies        = newDesc("ids_decode_anomalies_total", "Malformed, truncated or unsupported packet features the decoders met, by anomaly.", "anomaly")
	descAnomaliesDropped = newDesc("ids_decode_anomalies_dropped_total", "Anomalies not recorded because a packet had too many.")

	descAlerts      = newDesc("ids_alerts_total", "Alerts detected, by signature; includes counts from rules sets replaced by a reload.", "detector", "signature", "sid", "severity")
	descAlertQDrops = newDesc("ids_alerts_queue_drops_total", "Alerts detected but not written because the alert queue was full.")
	descAlertsQd    = newDesc("ids_alerts_queued_total", "Alerts handed to the alert writer.")
	descAlertsOut   = newDesc("ids_alerts_written_total", "Alerts written to the output.")
	descAlertErrs   = newDesc("ids_alert_write_errors_total", "Alerts the output refused to write.")
	descSuppressed  = newDesc("ids_alerts_suppressed_total", "Detections kept from the output by a threshold or suppression of the rules (still counted in ids_alerts_total).")
	descThrEntries  = newDesc("ids_threshold_entries", "Threshold buckets in use, all workers.")
	descThrMax      = newDesc("ids_threshold_capacity", "Threshold buckets the workers can hold (threshold.max_entries summed over workers).")
	descThrEvicted  = newDesc("ids_threshold_evictions_total", "Threshold buckets evicted because the table was full (their windows start over).")

	descFlowsActive   = newDesc("ids_flows_active", "Flows tracked now, all workers.")
	descFlowsCapacity = newDesc("ids_flows_capacity", "Flows the workers' tables can hold, all workers.")
	descFlowsCreated  = newDesc("ids_flows_created_total", "Flows created.")
	descFlowsReused   = newDesc("ids_flows_reused_total", "Closed flows whose 5-tuple started a new connection.")
	descFlowsEvicted  = newDesc("ids_flows_evicted_total", "Flows evicted, by reason.", "reason")
	descFlowsFull     = newDesc("ids_flows_table_full_total", "Packets that got no flow because the table was full of younger flows.")

	descStreamHeld     = newDesc("ids_stream_held_bytes", "Out-of-order TCP bytes held for reassembly now.")
	descStreamMemcap   = newDesc("ids_stream_memcap_bytes", "Out-of-order TCP bytes the workers may hold (stream memcap summed over workers).")
	descStreamSegments = newDesc("ids_stream_segments_total", "TCP segments with payload offered to reassembly.")
	descStreamOOO      = newDesc("ids_stream_out_of_order_total", "TCP segments held, at least in part, until the hole before them closed.")
	descStreamGaps     = newDesc("ids_stream_gaps_total", "TCP stream gaps: data never seen, skipped by reassembly.")
	descStreamCapHits  = newDesc("ids_stream_cap_hits_total", "TCP segments not held because a cap was reached: memcap (all flows) or flow (one direction).", "cap")

	descDefragFrags      = newDesc("ids_defrag_fragments_total", "IP fragments offered to reassembly.")
	descDefragDone       = newDesc("ids_defrag_reassembled_total", "IP datagrams reassembled.")
	descDefragInProgress = newDesc("ids_defrag_datagrams_in_progress", "IP datagrams being reassembled now.")
	descDefragHeld       = newDesc("ids_defrag_held_bytes", "Memory holding IP fragments now, in bytes.")
	descDefragMemcap     = newDesc("ids_defrag_memcap_bytes", "Fragment memory the workers may hold (defrag memcap summed over workers).")
	descDefragDrops      = newDesc("ids_defrag_drops_total", "IP datagrams or fragments dropped by reassembly, by reason.", "reason")

	descAppConns   = newDesc("ids_app_connections_total", "Application-layer connections parsed, by protocol.", "protocol")
	descAppGaps    = newDesc("ids_app_gaps_total", "Stream gaps that made an application parser resynchronise.")
	descAppBufDrop = newDesc("ids_app_buffer_drops_total", "Application messages not assembled because every buffer was lent.")

	descLatency = newDesc("ids_processing_latency_seconds", "Per-packet processing time, sampled: a fraction of packets is timed, so the count is not the packet count.")

	descPanics      = newDesc("ids_panics_total", "Packets whose processing panicked (a bug; the worker carried on).")
	descReloads     = newDesc("ids_rules_reloads_total", "Rules reloads, by result (a failure keeps the old rules running).", "result")
	descLastReload  = newDesc("ids_rules_last_reload_timestamp_seconds", "When the rules were last reloaded successfully, in seconds since the Unix epoch; 0 if never.")
	descOutReopens  = newDesc("ids_output_reopens_total", "Times the alert output was reopened (log rotation).")
	allDescs        = []*prometheus.Desc{descBuildInfo, descCaptureInfo, descStartTime, descReady, descWorkers, descPackets, descBytes, descKernelPkts, descCaptureDrops, descFreezes, descAnomalies, descAnomaliesDropped, descAlerts, descAlertQDrops, descAlertsQd, descAlertsOut, descAlertErrs, descSuppressed, descThrEntries, descThrMax, descThrEvicted, descFlowsActive, descFlowsCapacity, descFlowsCreated, descFlowsReused, descFlowsEvicted, descFlowsFull, descStreamHeld, descStreamMemcap, descStreamSegments, descStreamOOO, descStreamGaps, descStreamCapHits, descDefragFrags, descDefragDone, descDefragInProgress, descDefragHeld, descDefragMemcap, descDefragDrops, descAppConns, descAppGaps, descAppBufDrop, descLatency, descPanics, descReloads, descLastReload, descOutReopens}
	defragDropNames = [...]string{"timeout", "table_full", "memcap", "too_large", "malformed", "truncated"}
)

// collector folds the per-worker copies a Gatherer hands it into metrics at scrape time.
type collector struct {
	g Gatherer

	// mu serialises scrapes: s and alerts are reused between them.
	mu     sync.Mutex
	s      Sensor
	alerts map[AlertKey]uint64
}

// NewCollector returns a Prometheus collector that reports what g gathers, on each scrape.
func NewCollector(g Gatherer) prometheus.Collector {
	return &collector{g: g, alerts: map[AlertKey]uint64{}}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// totals is the sum over workers of what the metrics report unlabelled.
type totals struct {
	anomalies        [decode.NumAnomalies]uint64
	anomaliesDropped uint64
	flows            flow.Stats
	flowMax          uint64
	streamSegments   uint64
	streamOOO        uint64
	streamGaps       uint64
	streamHeld       uint64
	streamMemcap     uint64
	streamMemcapHits uint64
	streamFlowCap    uint64
	defrag           [len(defragDropNames)]uint64
	defragFrags      uint64
	defragDone       uint64
	defragInProgress uint64
	defragHeld       uint64
	defragMemcap     uint64
	appFlows         [len(appProtos)]uint64
	appGaps          uint64
	appBufDrops      uint64
	latency          Histogram
	panics           uint64
	suppressed       uint64
	thrEvicted       uint64
	thrEntries       int
	thrMax           int
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.s
	c.g.Gather(s)

	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}

	gauge(descBuildInfo, 1, s.Version, runtime.Version())
	gauge(descCaptureInfo, 1, s.Backend, s.Interface)
	gauge(descStartTime, unixSeconds(s.StartTime))
	gauge(descReady, boolFloat(s.Ready))
	gauge(descWorkers, float64(len(s.Workers)))

	var t totals
	clear(c.alerts)
	for i := range s.Workers {
		w := &s.Workers[i]
		id := strconv.Itoa(w.ID)
		e := &w.Engine
		counter(descPackets, e.Stats.Packets, id)
		counter(descBytes, e.Stats.Bytes, id)
		counter(descKernelPkts, w.Capture.Received, id)
		counter(descCaptureDrops, w.Capture.Dropped, id, "kernel")
		counter(descCaptureDrops, w.Capture.IfDrops, id, "interface")
		counter(descFreezes, w.Capture.Freezes, id)
		t.add(w)
		c.addAlerts(e.Stats.Alerts, w)
	}
	for k, v := range s.Retired {
		c.alerts[k] += v
	}

	for i := 1; i < len(t.anomalies); i++ { // 0 is "none", never counted
		counter(descAnomalies, t.anomalies[i], anomalyNames[i])
	}
	counter(descAnomaliesDropped, t.anomaliesDropped)

	for k, v := range c.alerts {
		counter(descAlerts, v, k.Detector, k.Signature, strconv.FormatUint(uint64(k.SID), 10), strconv.Itoa(k.Severity))
	}
	counter(descAlertQDrops, s.AlertsDropped)
	counter(descAlertsQd, s.AlertsQueued)
	counter(descAlertsOut, s.AlertsWritten)
	counter(descAlertErrs, s.AlertWriteErrors)
	counter(descSuppressed, t.suppressed)
	gauge(descThrEntries, float64(t.thrEntries))
	gauge(descThrMax, float64(t.thrMax))
	counter(descThrEvicted, t.thrEvicted)

	gauge(descFlowsActive, float64(t.flows.Active))
	gauge(descFlowsCapacity, float64(t.flowMax))
	counter(descFlowsCreated, t.flows.Created)
	counter(descFlowsReused, t.flows.Reused)
	for i, r := range flow.EvictReasonNames {
		counter(descFlowsEvicted, t.flows.Evicted[i], r)
	}
	counter(descFlowsFull, t.flows.NoRoom)

	gauge(descStreamHeld, float64(t.streamHeld))
	gauge(descStreamMemcap, float64(t.streamMemcap))
	counter(descStreamSegments, t.streamSegments)
	counter(descStreamOOO, t.streamOOO)
	counter(descStreamGaps, t.streamGaps)
	counter(descStreamCapHits, t.streamMemcapHits, "memcap")
	counter(descStreamCapHits, t.streamFlowCap, "flow")

	counter(descDefragFrags, t.defragFrags)
	counter(descDefragDone, t.defragDone)
	gauge(descDefragInProgress, float64(t.defragInProgress))
	gauge(descDefragHeld, float64(t.defragHeld))
	gauge(descDefragMemcap, float64(t.defragMemcap))
	for i, r := range defragDropNames {
		counter(descDefragDrops, t.defrag[i], r)
	}

	for i, p := range appProtos {
		counter(descAppConns, t.appFlows[i], p.name)
	}
	counter(descAppGaps, t.appGaps)
	counter(descAppBufDrop, t.appBufDrops)

	ch <- prometheus.MustNewConstHistogram(descLatency, t.latency.Count, t.latency.Sum, cumulative(&t.latency))

	counter(descPanics, t.panics)
	counter(descReloads, s.Reloads, "success")
	counter(descReloads, s.ReloadFailures, "failure")
	gauge(descLastReload, unixSeconds(s.LastReload))
	counter(descOutReopens, s.OutputReopens)
}

// addAlerts adds one worker's per-signature counts under the worker's own rules set (workers
// may run different sets for a moment during a reload), and gives every enabled signature a
// series, so that rate() works from its first alert.
func (c *collector) addAlerts(counts []uint64, w *Worker) {
	set := w.Engine.Rules
	if set == nil {
		return
	}
	for _, sig := range set.Signatures {
		var n uint64
		if sig.Index >= 0 && sig.Index < len(counts) {
			n = counts[sig.Index]
		}
		if n == 0 && !sig.Enabled {
			continue
		}
		c.alerts[AlertKey{Detector: sig.Detector, Signature: sig.Name, SID: sig.SID, Severity: sig.Severity}] += n
	}
}

func (t *totals) add(w *Worker) {
	e := &w.Engine
	for i, n := range e.Stats.Anomalies {
		t.anomalies[i] += n
	}
	t.anomaliesDropped += e.Stats.AnomaliesDropped
	t.panics += e.Stats.Panics
	t.suppressed += e.Stats.AlertsSuppressed
	t.thrEvicted += e.Stats.ThresholdEvictions
	t.thrEntries += e.ThresholdEntries
	t.thrMax += e.ThresholdMax

	f := &e.Flows
	t.flows.Active += f.Active
	t.flows.Created += f.Created
	t.flows.Reused += f.Reused
	t.flows.NoRoom += f.NoRoom
	for i, n := range f.Evicted {
		t.flows.Evicted[i] += n
	}
	t.flowMax += uint64(max(e.FlowMax, 0))

	st := &e.Stream
	t.streamSegments += st.Segments
	t.streamOOO += st.OutOfOrder
	t.streamGaps += st.Gaps
	t.streamHeld += st.HeldBytes
	t.streamMemcapHits += st.MemcapHits
	t.streamFlowCap += st.FlowCapHits

	d := &e.Defrag
	t.defragFrags += d.Fragments
	t.defragDone += d.Reassembled
	t.defragInProgress += d.InProgress
	t.defragHeld += d.BytesHeld
	for i, n := range [len(defragDropNames)]uint64{d.Timeouts, d.EvictedFull, d.MemcapDrops, d.TooLarge, d.Malformed, d.Truncated} {
		t.defrag[i] += n
	}

	if e.Rules != nil {
		t.streamMemcap += uint64(max(e.Rules.Settings.StreamMemcap, 0))
		t.defragMemcap += uint64(max(e.Rules.Settings.DefragMemcap, 0))
	}

	for i, p := range appProtos {
		t.appFlows[i] += e.App.Flows[p.p]
	}
	t.appGaps += e.App.Gaps
	t.appBufDrops += e.App.BufferDrops

	for i, n := range w.Latency.Counts {
		t.latency.Counts[i] += n
	}
	t.latency.Count += w.Latency.Count
	t.latency.Sum += w.Latency.Sum
}

// cumulative turns per-bucket counts into the cumulative counts Prometheus expects (+Inf is
// implied by the total count).
func cumulative(h *Histogram) map[float64]uint64 {
	b := make(map[float64]uint64, len(LatencyBuckets))
	var n uint64
	for i, le := range LatencyBuckets {
		n += h.Counts[i]
		b[le] = n
	}
	return b
}

// unixSeconds reports an unset time as 0, which dashboards read as "never".
func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
