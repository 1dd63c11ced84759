package metrics

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/app"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/flow"
	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/source"
)

// fakeGatherer hands out a fixed Sensor. Sharing its slices with the collector is fine: the
// collector only reads them.
type fakeGatherer struct{ s Sensor }

func (f *fakeGatherer) Gather(s *Sensor) { *s = f.s }

// replayed returns a real engine snapshot after replaying the captures.
func replayed(t *testing.T, set *rules.Set, pcaps ...string) engine.Snapshot {
	t.Helper()
	e := engine.New(set, alert.NewEVE(io.Discard))
	for _, p := range pcaps {
		if err := e.ReplayFile("../pcaps/"+p, nil); err != nil {
			t.Fatalf("replay %s: %v", p, err)
		}
	}
	var s engine.Snapshot
	e.SnapshotInto(&s)
	return s
}

var retiredKey = AlertKey{Detector: "gone", Signature: "gone", SID: 1, Severity: 3}

// testSensor is two workers with real counters, a retired count for a signature the current
// rules still have and one for a signature they no longer have.
func testSensor(t *testing.T) (*Sensor, *rules.Set) {
	t.Helper()
	set, err := rules.Default(detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	s := &Sensor{
		Version: "test", Backend: source.BackendAFPacket, Interface: "eth0",
		StartTime: time.Unix(1700000000, 0), Ready: true,
		Workers: []Worker{
			{ID: 0, Engine: replayed(t, set, "land/attack-ipv4.pcap", "land/attack-fragmented.pcap", "ip-frag/attack-teardrop.pcap"),
				Capture: source.Stats{Received: 100, Dropped: 3, IfDrops: 1, Freezes: 2}},
			{ID: 1, Engine: replayed(t, set, "land/attack-ipv6.pcap", "nntp-xpat/attack-ipv6.pcap", "smb2-negotiate/attack-poc-445.pcap"),
				Capture: source.Stats{Received: 200, Dropped: 5, IfDrops: 0, Freezes: 0}},
		},
		Retired:      map[AlertKey]uint64{landKey(t, set): 7, retiredKey: 4},
		AlertsQueued: 10, AlertsWritten: 9, AlertsDropped: 1, AlertWriteErrors: 2,
		Reloads: 3, ReloadFailures: 1, LastReload: time.Unix(1700000100, 0), OutputReopens: 5,
	}
	for i, v := range []float64{50e-9, 300e-9, 300e-9, 3e-6, 2e-3, 1} {
		s.Workers[i%2].Latency.Observe(v)
	}
	return s, set
}

func landKey(t *testing.T, set *rules.Set) AlertKey {
	for _, sig := range set.Signatures {
		if sig.Detector == "land" {
			return AlertKey{Detector: sig.Detector, Signature: sig.Name, SID: sig.SID, Severity: sig.Severity}
		}
	}
	t.Fatal("no land signature in the default rules")
	return AlertKey{}
}

// gather collects c and indexes the samples by name and sorted labels.
func gather(t *testing.T, c prometheus.Collector) (map[string]float64, map[string]*dto.MetricFamily) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
		for _, m := range f.Metric {
			var v float64
			switch {
			case m.Counter != nil:
				v = m.Counter.GetValue()
			case m.Gauge != nil:
				v = m.Gauge.GetValue()
			default:
				continue
			}
			vals[key(f.GetName(), m.Label)] = v
		}
	}
	return vals, byName
}

func key(name string, labels []*dto.LabelPair) string {
	l := make([]string, 0, len(labels))
	for _, p := range labels {
		l = append(l, p.GetName()+"="+p.GetValue())
	}
	sort.Strings(l)
	return name + "{" + strings.Join(l, ",") + "}"
}

// series builds the key of one sample; labels are name=value pairs.
func series(name string, labels ...string) string {
	sort.Strings(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

func alertSeries(k AlertKey) string {
	return series("ids_alerts_total", "detector="+k.Detector, "signature="+k.Signature,
		"sid="+strconv.FormatUint(uint64(k.SID), 10), "severity="+strconv.Itoa(k.Severity))
}

func TestCollectorLint(t *testing.T) {
	s, _ := testSensor(t)
	problems, err := testutil.CollectAndLint(NewCollector(&fakeGatherer{*s}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestCollectorFolds(t *testing.T) {
	s, set := testSensor(t)
	vals, fams := gather(t, NewCollector(&fakeGatherer{*s}))
	w0, w1 := &s.Workers[0].Engine, &s.Workers[1].Engine
	if w0.Stats.Packets == 0 || w1.Stats.Packets == 0 || w0.Stats.AlertsTotal == 0 {
		t.Fatalf("replay produced nothing: %+v %+v", w0.Stats, w1.Stats)
	}

	want := map[string]float64{
		series("ids_build_info", "version=test", "goversion="+runtime.Version()):                        1,
		series("ids_capture_info", "backend=afpacket", "interface=eth0"):                                1,
		series("ids_start_time_seconds"):                                                                1700000000,
		series("ids_ready"):                                                                             1,
		series("ids_workers"):                                                                           2,
		series("ids_capture_packets_total", "worker=0"):                                                 float64(w0.Stats.Packets),
		series("ids_capture_packets_total", "worker=1"):                                                 float64(w1.Stats.Packets),
		series("ids_capture_bytes_total", "worker=1"):                                                   float64(w1.Stats.Bytes),
		series("ids_capture_kernel_packets_total", "worker=1"):                                          200,
		series("ids_capture_drops_total", "worker=0", "reason=kernel"):                                  3,
		series("ids_capture_drops_total", "worker=0", "reason=interface"):                               1,
		series("ids_capture_ring_freezes_total", "worker=0"):                                            2,
		series("ids_decode_anomalies_dropped_total"):                                                    float64(w0.Stats.AnomaliesDropped + w1.Stats.AnomaliesDropped),
		series("ids_alerts_queue_drops_total"):                                                          1,
		series("ids_alerts_queued_total"):                                                               10,
		series("ids_alerts_written_total"):                                                              9,
		series("ids_alert_write_errors_total"):                                                          2,
		series("ids_flows_active"):                                                                      float64(w0.Flows.Active + w1.Flows.Active),
		series("ids_flows_capacity"):                                                                    float64(w0.FlowMax + w1.FlowMax),
		series("ids_flows_created_total"):                                                               float64(w0.Flows.Created + w1.Flows.Created),
		series("ids_flows_table_full_total"):                                                            float64(w0.Flows.NoRoom + w1.Flows.NoRoom),
		series("ids_stream_memcap_bytes"):                                                               float64(2 * set.Settings.StreamMemcap),
		series("ids_stream_segments_total"):                                                             float64(w0.Stream.Segments + w1.Stream.Segments),
		series("ids_stream_cap_hits_total", "cap=memcap"):                                               float64(w0.Stream.MemcapHits + w1.Stream.MemcapHits),
		series("ids_defrag_fragments_total"):                                                            float64(w0.Defrag.Fragments + w1.Defrag.Fragments),
		series("ids_defrag_reassembled_total"):                                                          float64(w0.Defrag.Reassembled + w1.Defrag.Reassembled),
		series("ids_defrag_memcap_bytes"):                                                               float64(2 * set.Settings.DefragMemcap),
		series("ids_defrag_drops_total", "reason=malformed"):                                            float64(w0.Defrag.Malformed + w1.Defrag.Malformed),
		series("ids_app_connections_total", "protocol=smb"):                                             float64(w0.App.Flows[app.ProtoSMB] + w1.App.Flows[app.ProtoSMB]),
		series("ids_app_connections_total", "protocol=nntp"):                                            float64(w0.App.Flows[app.ProtoNNTP] + w1.App.Flows[app.ProtoNNTP]),
		series("ids_panics_total"):                                                                      0,
		series("ids_rules_reloads_total", "result=success"):                                             3,
		series("ids_rules_reloads_total", "result=failure"):                                             1,
		series("ids_rules_last_reload_timestamp_seconds"):                                               1700000100,
		series("ids_output_reopens_total"):                                                              5,
		series("ids_decode_anomalies_total", "anomaly="+decode.Anomaly(decode.NumAnomalies-1).String()): 0,
	}
	for i, r := range flow.EvictReasonNames {
		want[series("ids_flows_evicted_total", "reason="+r)] = float64(w0.Flows.Evicted[i] + w1.Flows.Evicted[i])
	}
	for i := 1; i < decode.NumAnomalies; i++ {
		want[series("ids_decode_anomalies_total", "anomaly="+decode.Anomaly(i).String())] = float64(w0.Stats.Anomalies[i] + w1.Stats.Anomalies[i])
	}
	if w0.Defrag.Fragments == 0 || w1.App.Flows[app.ProtoNNTP] == 0 {
		t.Errorf("captures exercised too little: defrag %+v app %+v", w0.Defrag, w1.App)
	}

	// Alerts: both workers' counts plus the retired ones, and a zero series for every other
	// enabled signature.
	for _, sig := range set.Signatures {
		if !sig.Enabled {
			continue
		}
		k := AlertKey{Detector: sig.Detector, Signature: sig.Name, SID: sig.SID, Severity: sig.Severity}
		want[alertSeries(k)] = float64(w0.Stats.Alerts[sig.Index] + w1.Stats.Alerts[sig.Index] + s.Retired[k])
	}
	want[alertSeries(retiredKey)] = 4
	land := landKey(t, set)
	if got := want[alertSeries(land)]; got <= 7 {
		t.Errorf("land alerts = %v, want the replayed ones on top of 7 retired", got)
	}

	for k, v := range want {
		got, ok := vals[k]
		if !ok {
			t.Errorf("missing %s", k)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if n := len(fams["ids_decode_anomalies_total"].Metric); n != decode.NumAnomalies-1 {
		t.Errorf("%d anomaly series, want %d", n, decode.NumAnomalies-1)
	}
	for k := range vals {
		if strings.HasPrefix(k, "ids_alerts_total{") {
			if _, ok := want[k]; !ok {
				t.Errorf("unexpected alert series %s", k)
			}
		}
	}
}

func TestCollectorHistogram(t *testing.T) {
	s, _ := testSensor(t)
	_, fams := gather(t, NewCollector(&fakeGatherer{*s}))
	h := fams["ids_processing_latency_seconds"].Metric[0].Histogram
	count := s.Workers[0].Latency.Count + s.Workers[1].Latency.Count
	if h.GetSampleCount() != count || count != 6 {
		t.Errorf("_count = %d, want %d (6)", h.GetSampleCount(), count)
	}
	if sum := s.Workers[0].Latency.Sum + s.Workers[1].Latency.Sum; h.GetSampleSum() != sum {
		t.Errorf("_sum = %v, want %v", h.GetSampleSum(), sum)
	}
	if len(h.Bucket) != len(LatencyBuckets) {
		t.Fatalf("%d buckets, want %d", len(h.Bucket), len(LatencyBuckets))
	}
	// Observed: 50ns, 300ns, 300ns, 3µs, 2ms, 1s.
	wantLE := map[float64]uint64{100e-9: 1, 250e-9: 1, 500e-9: 3, 1e-6: 3, 2.5e-6: 3, 5e-6: 4, 10e-6: 4, 25e-6: 4, 100e-6: 4, 1e-3: 4, 10e-3: 5}
	prev := uint64(0)
	for i, b := range h.Bucket {
		if b.GetUpperBound() != LatencyBuckets[i] {
			t.Errorf("bucket %d le=%v, want %v", i, b.GetUpperBound(), LatencyBuckets[i])
		}
		if b.GetCumulativeCount() < prev || b.GetCumulativeCount() > count {
			t.Errorf("bucket le=%v = %d: not cumulative", b.GetUpperBound(), b.GetCumulativeCount())
		}
		if w := wantLE[b.GetUpperBound()]; b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%v = %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
		prev = b.GetCumulativeCount()
	}
}

// Scrapes may run concurrently; the collector reuses its Sensor, so they must not race (go test
// -race).
func TestCollectorConcurrent(t *testing.T) {
	s, _ := testSensor(t)
	reg := NewRegistry(&fakeGatherer{*s})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := reg.Gather(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A sensor that has not started yet has no workers and no rules: still a valid scrape.
func TestCollectorEmpty(t *testing.T) {
	vals, _ := gather(t, NewCollector(&fakeGatherer{}))
	if vals[series("ids_ready")] != 0 || vals[series("ids_flows_capacity")] != 0 {
		t.Errorf("empty sensor: %v", vals)
	}
}

func TestHandler(t *testing.T) {
	s, _ := testSensor(t)
	var ready atomic.Bool
	srv := httptest.NewServer(Handler(NewRegistry(&fakeGatherer{*s}), ready.Load))
	defer srv.Close()

	do := func(method, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	code, body := do("GET", "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, body)
	}
	want := []string{"ids_capture_packets_total{worker=\"1\"}", "ids_processing_latency_seconds_bucket{le=\"+Inf\"} 6", "go_goroutines"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_resident_memory_bytes", "process_open_fds")
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %q", w)
		}
	}
	for _, c := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"HEAD", "/metrics", 200, ""},
		{"GET", "/healthz", 200, "ok\n"},
		{"GET", "/readyz", 503, ""},
		{"POST", "/metrics", 405, ""},
		{"POST", "/healthz", 405, ""},
		{"PUT", "/readyz", 405, ""},
		{"DELETE", "/metrics", 405, ""},
		{"GET", "/foo", 404, ""},
		{"GET", "/", 404, ""},
		{"GET", "/metrics/x", 404, ""},
		{"POST", "/foo", 404, ""},
	} {
		code, body := do(c.method, c.path)
		if code != c.code || (c.body != "" && body != c.body) {
			t.Errorf("%s %s: %d %q, want %d %q", c.method, c.path, code, body, c.code, c.body)
		}
	}
	ready.Store(true)
	if code, _ := do("GET", "/readyz"); code != 200 {
		t.Errorf("/readyz once ready: %d", code)
	}
}
