package sensor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/internal/testpackets"
	"github.com/ids-sensor/ids/metrics"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/source"
)

// memSource serves the packets of capture files from memory, round after round, then reports
// itself closed: the live back ends are tested against real interfaces in source/ and
// integration/; this isolates the worker.
type memSource struct {
	pkts   [][]byte
	infos  []capture.Info
	i      int
	rounds int // rounds left; then ErrClosed
	ts     int64
	closed atomic.Bool
}

func loadSource(t testing.TB, rounds int, globs ...string) *memSource {
	t.Helper()
	m := &memSource{rounds: rounds}
	for _, r := range testpackets.Load(t, globs...) {
		m.pkts = append(m.pkts, r.Data)
		m.infos = append(m.infos, r.Info)
	}
	return m
}

func (m *memSource) Next() ([]byte, capture.Info, error) {
	if m.closed.Load() || m.rounds == 0 {
		return nil, capture.Info{}, source.ErrClosed
	}
	data, info := m.pkts[m.i], m.infos[m.i]
	m.ts += 1000 // time moves on round after round, as it does live
	info.Timestamp = m.ts
	if m.i++; m.i == len(m.pkts) {
		m.i = 0
		m.rounds--
	}
	return data, info, nil
}

func (m *memSource) Stats() (source.Stats, error) { return source.Stats{}, nil }
func (m *memSource) Close() error                 { m.closed.Store(true); return nil }

func testConfig(t testing.TB, set *rules.Set) Config {
	if set == nil {
		var err error
		if set, err = rules.Default(detectors.Schemas()); err != nil {
			t.Fatal(err)
		}
	}
	return Config{Rules: set, AlertQueue: 1 << 16, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func discardOutput(t testing.TB) *output {
	o, err := openOutput(filepath.Join(t.TempDir(), "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

const corpus = "../pcaps/*/*.pcap"

// TestWorkerDoesNotAllocate: the live packet path (read, engine, alert formatting into the
// queue, latency sampling, publishing counters) allocates nothing in steady state.
func TestWorkerDoesNotAllocate(t *testing.T) {
	src := loadSource(t, 1<<30, corpus)
	s := assemble(testConfig(t, nil), []source.Source{src}, discardOutput(t))
	w := s.workers[0]
	n := len(src.pkts)
	drain := func() { // what the writer goroutine does, minus the file
		for len(s.alerts.full) > 0 {
			s.alerts.free <- (<-s.alerts.full)[:0]
		}
	}
	for range 3 * n { // warm up: flows, buffers, the snapshot's slices
		w.step()
	}
	drain()
	allocs := testing.AllocsPerRun(5, func() {
		for range n {
			w.step()
		}
		w.publish()
		drain()
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pass over %d packets", allocs, n)
	}
	if s.alerts.queued.Load() == 0 {
		t.Error("no alert went through the queue: the test missed the alert path")
	}
}

// TestRunWritesEveryAlert: a run that ends (the source closes) writes every alert it detected,
// and the counters the metrics read agree.
func TestRunWritesEveryAlert(t *testing.T) {
	src := loadSource(t, 3, corpus)
	out := discardOutput(t)
	s := assemble(testConfig(t, nil), []source.Source{src}, out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	want := uint64(3 * len(src.pkts))
	for deadline := time.Now().Add(10 * time.Second); s.Totals().Packets < want; { // the worker ends when its source is exhausted
		if time.Now().After(deadline) {
			t.Fatalf("worker processed %d of %d packets in 10 s", s.Totals().Packets, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	tot := s.Totals()
	data, err := os.ReadFile(out.path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Count(string(data), "\n")
	if tot.Packets != uint64(3*len(src.pkts)) || tot.Alerts == 0 || tot.Alerts != uint64(lines) || tot.AlertsWritten != uint64(lines) {
		t.Errorf("packets %d (want %d), alerts detected %d, written %d, lines %d", tot.Packets, 3*len(src.pkts), tot.Alerts, tot.AlertsWritten, lines)
	}
}

// TestAlertQueueFullCountsDrops: with the writer behind, alerts beyond the queue are dropped
// and counted, and the worker does not wait.
func TestAlertQueueFullCountsDrops(t *testing.T) {
	cfg := testConfig(t, nil)
	cfg.AlertQueue = 2
	src := loadSource(t, 1, "../pcaps/land/attack-*.pcap")
	s := assemble(cfg, []source.Source{src}, discardOutput(t))
	w := s.workers[0]
	for w.step() {
	}
	w.publish()
	tot := s.Totals()
	if tot.Alerts < 3 || tot.AlertsQueued != 2 || tot.AlertsDropped != tot.Alerts-2 {
		t.Errorf("detected %d, queued %d, dropped %d; want 2 queued and the rest dropped", tot.Alerts, tot.AlertsQueued, tot.AlertsDropped)
	}
}

// TestReload: a rules file that does not load is rejected and the running rules stay; a good
// one is picked up by the worker at its next tick, and alert counts detected under the old
// rules stay in the totals (counters never go backwards).
func TestReload(t *testing.T) {
	cfg := testConfig(t, nil)
	var next *rules.Set
	cfg.Load = func() (*rules.Set, error) {
		if next == nil {
			return nil, errors.New("bad.yaml:3: land.severity: must be 1..4, got 9")
		}
		return next, nil
	}
	src := loadSource(t, 1, "../pcaps/land/attack-*.pcap")
	s := assemble(cfg, []source.Source{src}, discardOutput(t))
	w := s.workers[0]
	for w.step() {
	}
	w.publish()
	before := landAlerts(s)
	if before == 0 {
		t.Fatal("no LAND alert before the reload")
	}

	if err := s.Reload(); err == nil {
		t.Fatal("a rules file that does not load was accepted")
	}
	if s.rules.Load() != cfg.Rules {
		t.Fatal("a rejected reload replaced the running rules")
	}

	data, err := os.ReadFile("../rules/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "land:\n  enabled: true", "land:\n  enabled: false", 1)
	if next, err = rules.Parse("land-off.yaml", []byte(text), detectors.Schemas()); err != nil {
		t.Fatal(err)
	}
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	w.lastPublish = w.lastPublish.Add(-publishEvery)
	w.tick(w.lastPublish.Add(2 * publishEvery))
	if w.eng.Rules() != next {
		t.Fatal("the worker did not pick up the reloaded rules at its tick")
	}
	// Replay the LAND captures again: land is off now.
	src.rounds, src.closed = 1, atomic.Bool{}
	for w.step() {
	}
	w.publish()
	if got := landAlerts(s); got != before {
		t.Errorf("LAND alerts %d after the reload, want the %d from before it (land is now off)", got, before)
	}
	var m metrics.Sensor
	s.Gather(&m)
	if m.Reloads != 1 || m.ReloadFailures != 1 {
		t.Errorf("reloads %d, failures %d; want 1 and 1", m.Reloads, m.ReloadFailures)
	}
}

// landAlerts is what ids_alerts_total reports for sid 9200001: retired counts plus the
// workers' current ones.
func landAlerts(s *Sensor) uint64 {
	var m metrics.Sensor
	s.Gather(&m)
	var n uint64
	for k, v := range m.Retired {
		if k.SID == 9200001 {
			n += v
		}
	}
	for _, w := range m.Workers {
		for _, sig := range w.Engine.Rules.Signatures {
			if sig.SID == 9200001 {
				n += w.Engine.Stats.Alerts[sig.Index]
			}
		}
	}
	return n
}

// BenchmarkWorker measures the live per-packet path without the kernel: read from memory,
// engine, alert formatting, sampling and publishing.
func BenchmarkWorker(b *testing.B) {
	src := loadSource(b, 1<<30, corpus)
	s := assemble(testConfig(b, nil), []source.Source{src}, discardOutput(b))
	w := s.workers[0]
	go func() { // the writer's part: hand buffers back
		for buf := range s.alerts.full {
			s.alerts.free <- buf[:0]
		}
	}()
	for range len(src.pkts) {
		w.step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.step()
	}
	b.StopTimer()
	close(s.alerts.full)
}
