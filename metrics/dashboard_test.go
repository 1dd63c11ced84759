package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

const dashboardPath = "../deploy/grafana/ids-dashboard.json"

var (
	metricRef = regexp.MustCompile(`\b(?:ids|process|go)_[A-Za-z0-9_:]*`)
	rangeRef  = regexp.MustCompile(`\[([^\]]*)\]`)
)

// exportedNames are the series names a scrape of NewRegistry yields, histogram and summary
// suffixes included.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	s, _ := testSensor(t)
	fams, err := NewRegistry(&fakeGatherer{*s}).Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range fams {
		n := f.GetName()
		names[n] = true
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			names[n+"_bucket"], names[n+"_sum"], names[n+"_count"] = true, true, true
		case dto.MetricType_SUMMARY:
			names[n+"_sum"], names[n+"_count"] = true, true
		}
	}
	return names
}

func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboardJSON
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var panels []dashboardPanel
	for _, p := range d.Panels {
		if p.Type == "row" {
			panels = append(panels, p.Panels...)
		} else {
			panels = append(panels, p)
		}
	}
	if len(panels) < 20 {
		t.Fatalf("%d panels", len(panels))
	}
	names := exportedNames(t)
	for _, p := range panels {
		n := 0
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				continue
			}
			n++
			for _, m := range metricRef.FindAllString(tg.Expr, -1) {
				if !names[m] {
					t.Errorf("panel %q: %s is not exported", p.Title, m)
				}
			}
			// Fixed ranges break at other scrape intervals and zoom levels.
			for _, r := range rangeRef.FindAllStringSubmatch(tg.Expr, -1) {
				if r[1] != "$__rate_interval" && r[1] != "$__range" {
					t.Errorf("panel %q: range [%s]: use $__rate_interval or $__range", p.Title, r[1])
				}
			}
		}
		if n == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

func TestDashboardQueries(t *testing.T) {
	qs, err := DashboardQueries(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) < 20 {
		t.Fatalf("%d queries", len(qs))
	}
	sawRate := false
	for _, q := range qs {
		if q.Panel == "" || q.RefID == "" || q.Expr == "" {
			t.Errorf("incomplete query %+v", q)
		}
		if strings.ContainsAny(q.Expr, "$") || strings.Contains(q.Expr, "[[") {
			t.Errorf("panel %q: variable left in %s", q.Panel, q.Expr)
		}
		sawRate = sawRate || strings.Contains(q.Expr, "[1m]")
	}
	if !sawRate {
		t.Error("no $__rate_interval substituted")
	}

	// Substitution itself, on a dashboard written for the purpose.
	dir := t.TempDir()
	write := func(body string) string {
		p := dir + "/d.json"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := write(`{"templating":{"list":[{"name":"instance"},{"name":"job"}]},"panels":[
		{"type":"row","title":"r","panels":[{"title":"in row","targets":[{"refId":"A","expr":"rate(x{instance=~\"$instance\",job=~\"${job}\",a=~\"[[job]]\",b=~\"${instance:regex}\"}[$__rate_interval]) + increase(y[$__range]) + z[$__interval]"}]}]},
		{"title":"top","targets":[{"refId":"B","expr":"up"}]}]}`)
	got, err := DashboardQueries(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Query{
		{"in row", "A", `rate(x{instance=~".*",job=~".*",a=~".*",b=~".*"}[1m]) + increase(y[5m]) + z[15s]`},
		{"top", "B", "up"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %+v, want %+v", got[i], want[i])
		}
	}
	if _, err := DashboardQueries(write(`{"panels":[{"title":"p","targets":[{"refId":"A","expr":"x{a=\"$nope\"}"}]}]}`)); err == nil {
		t.Error("unknown variable accepted")
	}
}
