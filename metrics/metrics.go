// Package metrics exposes the sensor's counters to Prometheus. Workers never touch Prometheus
// types: each keeps plain counters and publishes a copy now and then; a scrape gathers those
// copies and folds them into metrics (per-worker counters folded at scrape time), so counting
// costs the packet path neither locks nor allocations.
package metrics

import (
	"time"

	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/source"
)

// LatencyBuckets are the upper bounds, in seconds, of the sampled per-packet processing
// latency histogram.
var LatencyBuckets = [...]float64{100e-9, 250e-9, 500e-9, 1e-6, 2.5e-6, 5e-6, 10e-6, 25e-6, 100e-6, 1e-3, 10e-3}

// Histogram is a fixed-bucket latency histogram a worker fills without allocating.
type Histogram struct {
	Counts [len(LatencyBuckets) + 1]uint64 // per bucket, not cumulative; the last is +Inf
	Count  uint64
	Sum    float64 // seconds
}

// Observe records one latency in seconds.
func (h *Histogram) Observe(seconds float64) {
	i := 0
	for i < len(LatencyBuckets) && seconds > LatencyBuckets[i] {
		i++
	}
	h.Counts[i]++
	h.Count++
	h.Sum += seconds
}

// Worker is one worker's published counters.
type Worker struct {
	ID      int
	Engine  engine.Snapshot
	Capture source.Stats
	Latency Histogram
}

// AlertKey names one alert counter series.
type AlertKey struct {
	Detector  string
	Signature string // rules.Signature.Name
	SID       uint32
	Severity  int
}

// Sensor is everything a scrape reports.
type Sensor struct {
	Version   string
	Backend   string
	Interface string
	StartTime time.Time
	Ready     bool // capture open and workers running
	Workers   []Worker
	// Retired holds the alert counts that workers detected under rules sets since replaced by a
	// reload, so that counters never go backwards.
	Retired map[AlertKey]uint64

	AlertsQueued     uint64 // handed to the alert writer
	AlertsWritten    uint64 // written to the output
	AlertsDropped    uint64 // the bounded alert queue was full: detected but not written
	AlertWriteErrors uint64 // the output refused a write
	Reloads          uint64 // successful rules reloads
	ReloadFailures   uint64 // rejected rules files (the old rules kept running)
	LastReload       time.Time
	OutputReopens    uint64
}

// Gatherer is the sensor as the metrics endpoint sees it.
type Gatherer interface {
	// Gather fills s with a copy of the sensor's current counters, reusing s's slices.
	Gather(s *Sensor)
}
