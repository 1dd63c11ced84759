package engine

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/internal/testpackets"
	"github.com/ids-sensor/ids/rules"
)

// record is one packet held in memory.
type record struct {
	data []byte
	info capture.Info
}

// load reads every packet of the capture files matching the globs (relative to the repo root
// unless absolute).
func load(t testing.TB, globs ...string) []record {
	t.Helper()
	for i, g := range globs {
		if !filepath.IsAbs(g) {
			globs[i] = filepath.Join("..", g)
		}
	}
	var out []record
	for _, r := range testpackets.Load(t, globs...) {
		out = append(out, record{r.Data, r.Info})
	}
	return out
}

func defaultRules(t testing.TB) *rules.Set {
	set, err := rules.Default(detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// The steady-state packet path allocates nothing: decode, every detector, and writing alerts.
func TestProcessDoesNotAllocate(t *testing.T) {
	benign := load(t, "pcaps/benign/*.pcap*", "pcaps/*/benign-*.pcap*")
	attacks := load(t, "pcaps/*/attack-*.pcap*")
	e := New(defaultRules(t), alert.NewEVE(io.Discard))
	sc := withStreamReader(e)                      // reassembly on the path too
	for _, r := range append(benign, attacks...) { // warm up: buffers reach their steady size
		e.Process(r.data, r.info)
	}
	for name, recs := range map[string][]record{"benign": benign, "attacks": attacks} {
		i := 0
		allocs := testing.AllocsPerRun(10*len(recs), func() {
			r := &recs[i%len(recs)]
			e.Process(r.data, r.info)
			i++
		})
		if allocs != 0 {
			t.Errorf("%s packets: %.2f allocations per packet, want 0", name, allocs)
		}
	}
	if e.Stats.AlertsTotal == 0 {
		t.Error("the attack captures raised no alert: the allocation test did not cover the alert path")
	}
	if sc.bytes == 0 || e.Defrag().Stats.Reassembled == 0 {
		t.Errorf("the test did not cover reassembly: %d stream bytes, %d datagrams", sc.bytes, e.Defrag().Stats.Reassembled)
	}
}

func TestProcessCountsAndRecoversPanics(t *testing.T) {
	var got []string
	e := New(defaultRules(t), sinkFunc(func(a *alert.Alert) error {
		got = append(got, a.Sig.Name)
		return errors.New("disk full")
	}))
	land := load(t, "pcaps/land/attack-ipv4.pcap")
	for _, r := range land {
		e.Process(r.data, r.info)
	}
	if e.Stats.AlertsTotal != 1 || e.Stats.WriteErrors != 1 || e.Stats.FirstWriteError == nil || len(got) != 1 {
		t.Errorf("alerts %d, write errors %d (%v), sink saw %v", e.Stats.AlertsTotal, e.Stats.WriteErrors, e.Stats.FirstWriteError, got)
	}
	e.dets = append(e.dets, detectors.Instance{Name: "boom", Interest: ^decode.Layer(0), Detector: panicker{}})
	e.Process(land[0].data, land[0].info)
	if e.Stats.Panics != 1 || !strings.Contains(e.Stats.FirstPanic, "boom") {
		t.Errorf("panics %d, first %q", e.Stats.Panics, e.Stats.FirstPanic)
	}
}

type sinkFunc func(*alert.Alert) error

func (f sinkFunc) Write(a *alert.Alert) error { return f(a) }
func (f sinkFunc) Flush() error               { return nil }

type panicker struct{}

func (panicker) Inspect(*detectors.Input, *detectors.Emitter) { panic("boom") }

// BenchmarkProcess replays a mixed in-memory capture (the corpus' benign traffic and every attack)
// through decode and all default detectors, writing EVE to io.Discard.
func BenchmarkProcess(b *testing.B) {
	recs := load(b, "pcaps/*/*.pcap*")
	if extra := os.Getenv("IDS_BENCH_PCAP"); extra != "" {
		recs = load(b, extra)
	}
	var bytes int64
	for _, r := range recs {
		bytes += int64(len(r.data))
	}
	e := New(defaultRules(b), alert.NewEVE(io.Discard))
	b.ReportAllocs()
	b.SetBytes(bytes / int64(len(recs)))
	i := 0
	for b.Loop() {
		r := &recs[i]
		e.Process(r.data, r.info)
		if i++; i == len(recs) {
			i = 0
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}

// BenchmarkReplayFile is `ids replay` without the command line: the capture file named by
// IDS_BENCH_PCAP (in the page cache after the first pass) read and processed end to end, for
// profiling. One op is one pass over the file.
func BenchmarkReplayFile(b *testing.B) {
	path := os.Getenv("IDS_BENCH_PCAP")
	if path == "" {
		b.Skip("set IDS_BENCH_PCAP to a capture file")
	}
	var packets uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer() // building the tables is once per run, not per packet
		e := New(defaultRules(b), alert.NewEVE(io.Discard))
		b.StartTimer()
		if err := e.ReplayFile(path, nil); err != nil {
			b.Fatal(err)
		}
		packets += e.Stats.Packets
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(packets), "ns/packet")
	b.ReportMetric(float64(packets)/b.Elapsed().Seconds(), "packets/s")
}
