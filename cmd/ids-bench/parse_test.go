package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const summary = `ids replay: 1 files, 133918 packets, 97858481 bytes in 0.052 s (2563595 packets/s)
memory: 16 heap allocations during the run (0.0001 per packet), peak RSS 25.6 MiB
alerts: 3
  land                land                   sid 9200001  2
  tcp-rst-spoof       tcp-rst-spoof.ignored  sid 9200103  1
decode anomalies: 1 kinds
  ipv4.frag_overlap                 2
flows: 5931 created, 0 reused, 5931 active at the end (cap 262144); evicted: timeout_new 0
`

func TestParseReplaySummary(t *testing.T) {
	s, err := parseReplaySummary(summary)
	if err != nil {
		t.Fatal(err)
	}
	want := replaySummary{Packets: 133918, Bytes: 97858481, Seconds: 0.052, Mallocs: 16, PeakRSSMiB: 25.6, Alerts: 3,
		BySID: []sidCount{{"land", "land", 9200001, 2}, {"tcp-rst-spoof", "tcp-rst-spoof.ignored", 9200103, 1}}}
	if s.Packets != want.Packets || s.Bytes != want.Bytes || s.Seconds != want.Seconds || s.Mallocs != want.Mallocs ||
		s.PeakRSSMiB != want.PeakRSSMiB || s.Alerts != want.Alerts || len(s.BySID) != 2 || s.BySID[0] != want.BySID[0] || s.BySID[1] != want.BySID[1] {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if _, err := parseReplaySummary(strings.Replace(summary, "memory:", "mem:", 1)); err == nil {
		t.Error("a summary without the memory line parsed")
	}
}

// The real binary's summary must keep parsing: the bench reads nothing else from it.
func TestParseRealReplaySummary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/ids")
	}
	bin := filepath.Join(t.TempDir(), "ids")
	if b, err := exec.Command("go", "build", "-o", bin, "../ids").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	cmd := exec.Command(bin, "replay", "-o", os.DevNull, "../../pcaps/land/attack-ipv4.pcap")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	s, err := parseReplaySummary(stderr.String())
	if err != nil {
		t.Fatal(err)
	}
	if s.Packets != 1 || s.Alerts != 1 || len(s.BySID) != 1 || s.BySID[0].SID != 9200001 || s.PeakRSSMiB <= 0 {
		t.Errorf("parsed %+v from\n%s", s, stderr.String())
	}
}

func TestParseBenchLine(t *testing.T) {
	for _, c := range []struct {
		line, name string
		ns         float64
		ok         bool
	}{
		{"BenchmarkManyFlows/flows=1000000 \t 8000000\t       612.5 ns/op\t       612.4 ns/packet\t       0 B/op\t       0 allocs/op", "BenchmarkManyFlows/flows=1000000", 612.4, true},
		{"BenchmarkManyFlows/flows=1000-2   8000000   250 ns/op   251 ns/packet   0 B/op   0 allocs/op", "BenchmarkManyFlows/flows=1000", 251, true},
		{"goos: linux", "", 0, false},
		{"BenchmarkManyFlows", "", 0, false},
		{"PASS", "", 0, false},
	} {
		name, m, ok := parseBenchLine(c.line)
		if ok != c.ok || name != c.name || (ok && (m["ns/packet"] != c.ns || m["allocs/op"] != 0)) {
			t.Errorf("parseBenchLine(%q) = %q, %v, %v", c.line, name, m, ok)
		}
	}
}

func TestFamilyRules(t *testing.T) {
	src, err := os.ReadFile("../../rules/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := familyRules(string(src), []string{"land", "nntp-xpat"})
	if err != nil {
		t.Fatal(err)
	}
	if on := strings.Count(out, "\n  enabled: true"); on != 2 {
		t.Errorf("%d detectors enabled, want 2", on)
	}
	if strings.Count(out, "\n  enabled: false") != strings.Count(string(src), "\n  enabled: ")-2 {
		t.Error("not every other detector was turned off")
	}
	if _, err := familyRules(string(src), []string{"no-such-detector"}); err == nil {
		t.Error("an unknown detector was accepted")
	}
}

func TestParseBurst(t *testing.T) {
	out := `== live: tcpreplay --topspeed, 5 loops, sensor capturing at the same time
backend   workers         sent     captured      drops          pkt/s      pkt/CPU-s
afpacket  1             669590       669590          0         326629        2391393
== burst: 20 loops queued in the rings (2861 MiB each) while the sensor is stopped, then drained
backend   workers       queued    processed      drops    seconds          pkt/s      pkt/CPU-s
afpacket  1            2678360      2678360          0       1.09        2449069        3043591
afpacket  2            2678360      2678360          0       0.72        3736327        2600350
`
	if got := parseBurst(out); len(got) != 2 || got[1] != 2449069 || got[2] != 3736327 {
		t.Errorf("parseBurst = %v", got)
	}
}
