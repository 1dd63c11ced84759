// Package sensor runs the engine on live traffic: one worker per capture source, each with its
// own engine (flows, reassembly, detector state), a bounded queue to the one goroutine that
// writes alerts, and the Prometheus endpoint. It handles the operator's signals: stop (drain and
// flush), reload the rules, reopen the alert file.
package sensor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/metrics"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/source"
)

// Config says what the sensor captures and where its alerts and metrics go.
type Config struct {
	Source      source.Config
	Rules       *rules.Set
	Load        func() (*rules.Set, error) // loads the rules again, for Reload
	Output      string                     // alert file, appended to; "" or "-" for standard output
	Fast        bool                       // fast.log lines instead of EVE JSON
	AlertQueue  int                        // alert lines that may wait for the writer
	MetricsAddr string                     // "" for no metrics endpoint
	User        string                     // drop to this user once capture and outputs are open
	Version     string
	Log         *slog.Logger
}

// Sensor is a running live capture.
type Sensor struct {
	cfg        Config
	log        *slog.Logger
	workers    []*worker
	rules      atomic.Pointer[rules.Set]
	alerts     *alertQueue
	out        *output
	reopenCh   chan chan error
	writerDone chan struct{}
	writerWG   sync.WaitGroup // the alert writer; Wait returns once the output is closed
	wg         sync.WaitGroup // workers
	stopping   atomic.Bool
	ready      atomic.Bool
	start      time.Time

	metricsLn  net.Listener
	metricsSrv *http.Server

	mu             sync.Mutex // guards retired and the reload counters
	retired        map[metrics.AlertKey]uint64
	reloads        uint64
	reloadFailures uint64
	lastReload     time.Time
}

// New opens the capture, the alert output and the metrics listener, then drops privileges if
// asked: everything that needs them is done here.
func New(cfg Config) (*Sensor, error) {
	srcs, err := source.Open(cfg.Source)
	if err != nil {
		return nil, err
	}
	closeAll := func() {
		for _, src := range srcs {
			src.Close()
		}
	}
	out, err := openOutput(cfg.Output)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("alert output: %w", err)
	}
	var ln net.Listener
	if cfg.MetricsAddr != "" {
		if ln, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			closeAll()
			out.close()
			return nil, fmt.Errorf("--metrics-addr: %w", err)
		}
	}
	if cfg.User != "" {
		if err := dropPrivileges(cfg.User, out); err != nil {
			closeAll()
			out.close()
			if ln != nil {
				ln.Close()
			}
			return nil, fmt.Errorf("--user %s: %w", cfg.User, err)
		}
	}
	s := assemble(cfg, srcs, out)
	s.metricsLn = ln
	return s, nil
}

// assemble builds the sensor around opened sources and output: one engine per source.
func assemble(cfg Config, srcs []source.Source, out *output) *Sensor {
	if cfg.AlertQueue <= 0 {
		cfg.AlertQueue = 4096
	}
	s := &Sensor{cfg: cfg, log: cfg.Log, out: out, retired: map[metrics.AlertKey]uint64{},
		reopenCh: make(chan chan error), writerDone: make(chan struct{}), start: time.Now()}
	s.rules.Store(cfg.Rules)
	s.alerts = newAlertQueue(cfg.AlertQueue)
	for i, src := range srcs {
		sink := &queueSink{q: s.alerts, fast: cfg.Fast}
		w := &worker{id: i, s: s, src: src, eng: engine.New(cfg.Rules, sink)}
		w.pub.ID = i
		w.publish()
		s.workers = append(s.workers, w)
	}
	return s
}

// Run captures until ctx is done, then stops capture, lets every worker finish its packet and
// publish, writes every queued alert, and closes the output. It returns the first error of the
// metrics endpoint or of closing the output.
func (s *Sensor) Run(ctx context.Context) error {
	s.writerWG.Add(1)
	go func() {
		defer s.writerWG.Done()
		defer close(s.writerDone)
		s.writeAlerts(s.reopenCh)
	}()
	var srvErr error
	srvDone := make(chan struct{})
	if s.metricsLn != nil {
		reg := metrics.NewRegistry(s)
		// Bounded in time and size: an idle or slow client must not hold a connection for ever.
		s.metricsSrv = &http.Server{Handler: metrics.Handler(reg, s.ready.Load), ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 8 << 10}
		go func() {
			defer close(srvDone)
			if err := s.metricsSrv.Serve(s.metricsLn); !errors.Is(err, http.ErrServerClosed) {
				srvErr = err
				s.log.Error("metrics endpoint", "err", err)
			}
		}()
	} else {
		close(srvDone)
	}
	for _, w := range s.workers {
		s.wg.Add(1)
		go func() {
			runtime.LockOSThread() // one worker, one thread: its ring and caches stay put
			w.run()
		}()
	}
	s.ready.Store(true)
	s.log.Info("sensor started", "interface", s.cfg.Source.Interface, "backend", s.cfg.Source.Backend,
		"workers", len(s.workers), "rules", s.cfg.Rules.Source, "output", s.out.name(), "metrics", s.cfg.MetricsAddr)

	<-ctx.Done()
	s.ready.Store(false)
	s.stopping.Store(true)
	s.wg.Wait() // workers have published their final counters
	close(s.alerts.full)
	s.writerWG.Wait() // every queued alert is written and the output closed
	if s.metricsSrv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		s.metricsSrv.Shutdown(sctx)
		cancel()
	}
	<-srvDone
	return srvErr
}

// Reload loads the rules file again. A file that does not load is rejected with its errors
// logged, and the running rules stay. Workers switch at their next publish tick.
func (s *Sensor) Reload() error {
	set, err := s.cfg.Load()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.reloadFailures++
		s.log.Error("rules reload rejected; the running rules stay", "err", err)
		return err
	}
	if old := s.rules.Load(); set.Settings != old.Settings {
		s.log.Warn("rules reload: the engine section changed; limits take effect at the next restart", "rules", set.Source)
	}
	s.rules.Store(set)
	s.reloads++
	s.lastReload = time.Now()
	enabled := 0
	for _, sig := range set.Signatures {
		if sig.Enabled {
			enabled++
		}
	}
	s.log.Info("rules reloaded", "rules", set.Source, "signatures_enabled", enabled)
	return nil
}

// Reopen closes and reopens the alert file (after logrotate moved it).
func (s *Sensor) Reopen() error {
	done := make(chan error, 1)
	select {
	case s.reopenCh <- done:
	case <-s.writerDone:
		return errors.New("sensor stopped")
	}
	err := <-done
	if err != nil {
		s.log.Error("reopening alert output", "output", s.out.name(), "err", err)
	} else if s.out.path != "" {
		s.log.Info("alert output reopened", "output", s.out.name())
	}
	return err
}

// retire adds a worker's per-signature alert counts to the sensor's totals before the worker's
// engine moves to new rules. Called with s.mu held.
func (s *Sensor) retire(snap *engine.Snapshot) {
	for _, sig := range snap.Rules.Signatures {
		if n := snap.Stats.Alerts[sig.Index]; n > 0 {
			s.retired[alertKey(sig)] += n
		}
	}
}

func alertKey(sig *rules.Signature) metrics.AlertKey {
	return metrics.AlertKey{Detector: sig.Detector, Signature: sig.Name, SID: sig.SID, Severity: sig.Severity}
}

// Gather implements metrics.Gatherer.
func (s *Sensor) Gather(m *metrics.Sensor) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Version = s.cfg.Version
	m.Backend = s.cfg.Source.Backend
	m.Interface = s.cfg.Source.Interface
	m.StartTime = s.start
	m.Ready = s.ready.Load()
	if len(m.Workers) != len(s.workers) {
		m.Workers = make([]metrics.Worker, len(s.workers))
	}
	for i, w := range s.workers {
		w.gather(&m.Workers[i])
	}
	if m.Retired == nil {
		m.Retired = map[metrics.AlertKey]uint64{}
	}
	clear(m.Retired)
	for k, v := range s.retired {
		m.Retired[k] = v
	}
	q := s.alerts
	m.AlertsQueued = q.queued.Load()
	m.AlertsWritten = q.written.Load()
	m.AlertsDropped = q.dropped.Load()
	m.AlertWriteErrors = q.errors.Load()
	m.OutputReopens = q.reopens.Load()
	m.Reloads, m.ReloadFailures, m.LastReload = s.reloads, s.reloadFailures, s.lastReload
}

// Totals is what the sensor did, for the final report.
type Totals struct {
	metrics.Sensor
	Packets, Bytes, KernelDrops, IfDrops, Alerts, Panics uint64
	FirstPanic                                           string
}

// Totals gathers the sensor's counters and sums them over workers.
func (s *Sensor) Totals() Totals {
	var t Totals
	s.Gather(&t.Sensor)
	for i := range t.Workers {
		w := &t.Workers[i]
		t.Packets += w.Engine.Stats.Packets
		t.Bytes += w.Engine.Stats.Bytes
		t.KernelDrops += w.Capture.Dropped
		t.IfDrops += w.Capture.IfDrops
		t.Alerts += w.Engine.Stats.AlertsTotal
		t.Panics += w.Engine.Stats.Panics
		if t.FirstPanic == "" {
			t.FirstPanic = w.Engine.Stats.FirstPanic
		}
	}
	return t
}
