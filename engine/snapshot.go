package engine

import (
	"github.com/ids-sensor/ids/app"
	"github.com/ids-sensor/ids/defrag"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/stream"
)

// Snapshot is a copy of an engine's counters that another goroutine may read: the sensor's
// worker takes one between packets and the metrics scrape reads it.
type Snapshot struct {
	Stats   Stats // Alerts is indexed by Rules.Signatures[i].Index
	Rules   *rules.Set
	Flows   flow.Stats
	FlowMax int
	Defrag  defrag.Stats
	Stream  stream.Stats
	App     app.Stats // zero when no detector reads application messages

	ThresholdEntries int // threshold buckets in use
	ThresholdMax     int // threshold.max_entries
}

// SnapshotInto copies e's counters into s, reusing s's alert slice: no allocation once s has
// seen this rules set.
func (e *Engine) SnapshotInto(s *Snapshot) {
	alerts := s.Stats.Alerts[:0]
	s.Stats = e.Stats
	s.Stats.Alerts = append(alerts, e.Stats.Alerts...)
	s.Rules = e.rules
	s.Flows = e.flows.Stats
	s.FlowMax = e.flows.Max()
	s.ThresholdEntries, s.ThresholdMax = e.ThresholdEntries()
	s.Defrag = e.defrag.Stats
	s.Stream = e.reasm.Stats
	s.App = app.Stats{}
	if e.app != nil {
		s.App = e.app.Stats
	}
}
