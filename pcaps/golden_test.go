package pcaps

import (
	"bufio"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/rules"
)

// result is what a replay reported, in the .expected format's terms.
type result struct {
	alerts    map[string]int // "detector sid src dst" -> count
	byDet     map[string]int // detector -> count
	anomalies map[string]int
	err       error
	panics    uint64
}

// collector keeps what each alert said about its endpoints.
type collector struct{ r *result }

func (c collector) Write(a *alert.Alert) error {
	src, dst := a.Src.String(), a.Dst.String()
	if a.HasPorts {
		src = netip.AddrPortFrom(a.Src, a.SrcPort).String()
		dst = netip.AddrPortFrom(a.Dst, a.DstPort).String()
	}
	c.r.alerts[fmt.Sprintf("%s %d %s %s", a.Sig.Detector, a.Sig.SID, src, dst)]++
	c.r.byDet[a.Sig.Detector]++
	return nil
}

func (collector) Flush() error { return nil }

// replay runs one capture through a fresh engine with the default rules.
func replay(t *testing.T, path string) result {
	t.Helper()
	set, err := rules.Default(detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	r := result{alerts: map[string]int{}, byDet: map[string]int{}, anomalies: map[string]int{}}
	e := engine.New(set, collector{&r})
	r.err = e.ReplayFile(path, nil)
	for code, n := range e.Stats.Anomalies {
		if n > 0 {
			r.anomalies[decode.Anomaly(code).String()] = int(n)
		}
	}
	r.panics = e.Stats.Panics
	if r.panics > 0 {
		t.Errorf("%s: %d packets panicked: %s", path, r.panics, e.Stats.FirstPanic)
	}
	return r
}

// lines renders a result in the .expected format (without comments), sorted: a capture file
// error first (hostile captures only), then alerts, then anomalies.
func (r result) lines() []string {
	var head, alerts, anomalies []string
	var fe *capture.FormatError
	if errors.As(r.err, &fe) {
		head = append(head, fmt.Sprintf("error offset %d record %d", fe.Offset, fe.Record))
	}
	for k, n := range r.alerts {
		alerts = append(alerts, fmt.Sprintf("alert %s %d", k, n))
	}
	for k, n := range r.anomalies {
		anomalies = append(anomalies, fmt.Sprintf("anomaly %s %d", k, n))
	}
	sort.Strings(alerts)
	sort.Strings(anomalies)
	return slices.Concat(head, alerts, anomalies)
}

// readExpected returns the non-comment lines of an .expected file, sorted like result.lines.
func readExpected(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var head, alerts, anomalies []string
	sc := bufio.NewScanner(f)
	for ln := 1; sc.Scan(); ln++ {
		line := strings.Join(strings.Fields(sc.Text()), " ")
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "error offset ") && len(strings.Fields(line)) == 5:
			head = append(head, line)
		case strings.HasPrefix(line, "alert ") && len(strings.Fields(line)) == 6:
			alerts = append(alerts, line)
		case strings.HasPrefix(line, "anomaly ") && len(strings.Fields(line)) == 3:
			anomalies = append(anomalies, line)
		default:
			t.Fatalf("%s:%d: not an alert, anomaly or comment line: %q", path, ln, sc.Text())
		}
	}
	sort.Strings(alerts)
	sort.Strings(anomalies)
	return slices.Concat(head, alerts, anomalies)
}

// TestGolden replays every capture in this corpus and compares alerts, decode anomalies and, for
// hostile captures with a broken file structure, where reading stopped with the .expected file
// next to it: any difference fails.
func TestGolden(t *testing.T) {
	captures, _ := filepath.Glob("*/*.pcap*")
	if len(captures) < 20 {
		t.Fatalf("only %d captures in the corpus; run go generate ./pcaps", len(captures))
	}
	for _, path := range captures {
		t.Run(strings.TrimSuffix(path, filepath.Ext(path)), func(t *testing.T) {
			want := readExpected(t, strings.TrimSuffix(path, filepath.Ext(path))+".expected")
			r := replay(t, path)
			var fe *capture.FormatError
			if r.err != nil && !errors.As(r.err, &fe) {
				t.Fatalf("replay: %v", r.err)
			}
			got := r.lines()
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s:\n got:\n  %s\n want:\n  %s", path, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}
