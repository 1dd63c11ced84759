package sensor

import (
	"errors"
	"sync"
	"time"

	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/metrics"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/source"
)

const (
	// publishEvery is how often a worker copies its counters for the metrics scrape and looks
	// for reloaded rules; checked every clockEvery packets and on every idle poll.
	publishEvery = 100 * time.Millisecond
	clockEvery   = 256
	// sampleEvery: one packet in this many has its processing time measured for the latency
	// histogram, so that reading the clock costs nothing measurable. (What is timed is one
	// engine.Push: this packet's decoding and the previous packet's inspection.)
	sampleEvery = 1024
)

// worker owns one capture source and one engine: its flows, reassembly and detector state.
// Nothing on its packet path is shared with another goroutine.
type worker struct {
	id  int
	s   *Sensor
	src source.Source
	eng *engine.Engine
	lat metrics.Histogram

	n           uint64 // packets read
	lastPublish time.Time
	errs        uint64 // capture errors other than timeouts

	mu  sync.Mutex // guards pub, written by publish and read by Gather
	pub metrics.Worker
}

// run reads and processes packets until the sensor stops, then publishes its final counters.
func (w *worker) run() {
	defer w.s.wg.Done()
	defer w.src.Close()
	for !w.s.stopping.Load() && w.step() {
	}
	w.eng.Flush()
	w.publish()
}

// step reads and processes one packet, or handles a timeout or error; false once the source
// is closed. Nothing here allocates: the engine, the sink and the publishing reuse their memory.
func (w *worker) step() bool {
	data, info, err := w.src.Next()
	if err != nil {
		if errors.Is(err, source.ErrClosed) {
			return false
		}
		if !errors.Is(err, source.ErrTimeout) {
			w.captureError(err)
		}
		w.eng.Drain() // no packet follows for now: the one Push holds is inspected
		w.tick(time.Now())
		return true
	}
	w.n++
	if w.n%sampleEvery == 0 {
		t0 := time.Now()
		w.eng.Push(data, info)
		w.lat.Observe(time.Since(t0).Seconds())
	} else {
		w.eng.Push(data, info) // the source keeps the previous packet intact, as Push needs
	}
	if w.n%clockEvery == 0 {
		w.tick(time.Now())
	}
	return true
}

// tick publishes counters and picks up reloaded rules, at most every publishEvery.
func (w *worker) tick(now time.Time) {
	if now.Sub(w.lastPublish) < publishEvery {
		return
	}
	w.lastPublish = now
	if set := w.s.rules.Load(); set != w.eng.Rules() {
		w.swapRules(set)
	}
	w.publish()
}

func (w *worker) publish() {
	cs, err := w.src.Stats()
	w.mu.Lock()
	w.eng.SnapshotInto(&w.pub.Engine)
	if err == nil {
		w.pub.Capture = cs
	}
	w.pub.Latency = w.lat
	w.mu.Unlock()
}

// swapRules moves the engine to set. The alert counts of the old rules are retired into the
// sensor's totals in the same critical section that clears them, so no scrape sees them twice
// or not at all.
func (w *worker) swapRules(set *rules.Set) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.eng.SnapshotInto(&w.pub.Engine)
	w.s.retire(&w.pub.Engine)
	w.eng.SetRules(set)
	w.eng.SnapshotInto(&w.pub.Engine)
}

// captureError logs the first capture error and then one in 1000: a flapping interface must not
// flood the log, nor spin the CPU.
func (w *worker) captureError(err error) {
	w.errs++
	if w.errs == 1 || w.errs%1000 == 0 {
		w.s.log.Error("capture", "worker", w.id, "err", err, "errors", w.errs)
	}
	time.Sleep(10 * time.Millisecond)
}

// gather copies the worker's published counters into dst, reusing dst's alert slice.
func (w *worker) gather(dst *metrics.Worker) {
	w.mu.Lock()
	defer w.mu.Unlock()
	alerts := dst.Engine.Stats.Alerts[:0]
	*dst = w.pub
	dst.Engine.Stats.Alerts = append(alerts, w.pub.Engine.Stats.Alerts...)
}
