package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ids-sensor/ids/metrics"
)

// TestPrometheusDashboard runs a real Prometheus server scraping a live sensor (AF_PACKET, two
// workers) while the corpus is replayed, then evaluates every query of the Grafana dashboard
// through Prometheus' HTTP API: each must be valid and return data. The alert counters
// Prometheus stored must equal the alerts the sensor wrote, and those must be ids replay's
// although the rules were reloaded (SIGHUP) in the middle of the traffic.
func TestPrometheusDashboard(t *testing.T) {
	needRoot(t, "ip", "tcpreplay", "prometheus")
	queries, err := metrics.DashboardQueries("../deploy/grafana/ids-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	corpus, _ := liveCorpus(t)
	l := newLink(t)
	s := startSensor(t, l.Capture, "--backend", "afpacket", "--workers", "2")
	prom := startPrometheus(t, s.metrics)
	prom.waitUp(t)

	// A rules reload (SIGHUP) in the middle of the traffic: counters must carry on across it.
	go func() {
		time.Sleep(3 * time.Second)
		s.cmd.Process.Signal(syscall.SIGHUP)
	}()
	sent, _ := l.replay(t, corpus)
	s.waitPackets(t, sent)
	if m := s.scrape(t); sum(m, `ids_rules_reloads_total{result="success"}`) != 1 {
		t.Fatalf("SIGHUP did not reload the rules once:\n%s", s.logText())
	}
	got := readAlertsWhenFlushed(t, s)
	written := countAlerts(got)
	// The reload kept flows and parser state: nothing detected differs from ids replay's.
	if d := diffAlerts(replayAlerts(t, corpus), got); d != "" {
		t.Errorf("alerts across a SIGHUP reload differ from ids replay's:\n%s", d)
	}
	// Wait until Prometheus has scraped the final counts.
	prom.waitValue(t, `sum(ids_capture_packets_total)`, float64(sent))
	prom.waitValue(t, `sum(ids_alerts_total)`, float64(written))
	if written == 0 {
		t.Fatal("no alert written: the comparison proves nothing")
	}
	for _, q := range queries {
		res, err := prom.query(q.Expr)
		if err != nil {
			t.Errorf("panel %q (%s): %s: %v", q.Panel, q.RefID, q.Expr, err)
			continue
		}
		if len(res) == 0 {
			t.Errorf("panel %q (%s) returned no data: %s", q.Panel, q.RefID, q.Expr)
		}
	}
	// Per signature, what Prometheus stored is what the output holds.
	bySID := map[string]int{}
	for k, n := range readAlerts(t, s.eve) {
		bySID[strconv.Itoa(int(k.SID))] += n
	}
	res, err := prom.query(`sum by (sid) (ids_alerts_total)`)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		sid := r.Metric["sid"]
		if got := r.value(t); int(got) != bySID[sid] {
			t.Errorf("sid %s: ids_alerts_total %v in Prometheus, %d alerts written", sid, got, bySID[sid])
		}
		delete(bySID, sid)
	}
	for sid, n := range bySID {
		t.Errorf("sid %s: %d alerts written, no ids_alerts_total series", sid, n)
	}
	t.Logf("%d dashboard queries returned data; %d alerts written = ids_alerts_total in Prometheus", len(queries), written)
	s.stop(t)
}

// readAlertsWhenFlushed waits until the alert file stops growing (the writer flushes whenever
// its queue runs dry) and the sensor says everything queued was written.
func readAlertsWhenFlushed(t *testing.T, s *sensor) map[alertKey]int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := s.scrape(t)
		got := readAlerts(t, s.eve)
		if sum(m, "ids_alerts_written_total") == sum(m, "ids_alerts_total") && countAlerts(got) == int(sum(m, "ids_alerts_total")) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts: %v detected, %v written by the sensor, %d lines in the file", sum(m, "ids_alerts_total"), sum(m, "ids_alerts_written_total"), countAlerts(got))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type prometheus struct {
	addr string
	cmd  *exec.Cmd
	log  string
}

func startPrometheus(t *testing.T, target string) *prometheus {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ids
    static_configs:
      - targets: [%q]
`, target)), 0o644)
	p := &prometheus{addr: freePort(t), log: filepath.Join(dir, "prometheus.log")}
	logf, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+p.addr, "--log.level=warn")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
	return p
}

// waitUp waits until Prometheus has scraped the sensor successfully.
func (p *prometheus) waitUp(t *testing.T) {
	t.Helper()
	p.waitValue(t, `up{job="ids"}`, 1)
}

func (p *prometheus) waitValue(t *testing.T, expr string, want float64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		res, err := p.query(expr)
		if err == nil && len(res) == 1 && res[0].value(t) == want {
			return
		}
		last = fmt.Sprint(res, err)
		time.Sleep(200 * time.Millisecond)
	}
	logText, _ := os.ReadFile(p.log)
	t.Fatalf("Prometheus: %s did not reach %v in 30 s (last: %s)\n%s", expr, want, last, logText)
}

type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (s sample) value(t *testing.T) float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		t.Fatalf("sample value %v: %v", s.Value, err)
	}
	return v
}

// query evaluates an instant query; a query Prometheus rejects is an error.
func (p *prometheus) query(expr string) ([]sample, error) {
	resp, err := http.Get("http://" + p.addr + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s", r.Error)
	}
	if r.Data.ResultType == "scalar" {
		var v [2]any
		json.Unmarshal(r.Data.Result, &v)
		return []sample{{Value: v}}, nil
	}
	var out []sample
	if err := json.Unmarshal(r.Data.Result, &out); err != nil {
		return nil, err
	}
	return out, nil
}
