package pcaps

import (
	"path/filepath"
	"sort"
	"testing"

	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/internal/testcorpus"
)

// sharedIdeal is what ../shared/pcaps/SOURCES.md says an ideal engine reports for each real
// capture written by other people, as alert counts by detector; files not listed expect nothing.
// Every registered detector is held to it on every file.
var sharedIdeal = map[string]map[string]int{
	"ipv4-malformed-timestamp-option-fuzz.pcap":       {"ipv4-options": 1},
	"ipv4-malformed-option-length-fuzz.pcap":          {"ipv4-options": 1},
	"tcp-fake-rst-before-synack-evasion-windows.pcap": {"tcp-rst-spoof": 1},
}

// TestSharedCaptures replays every real capture in ../shared/pcaps: no panic, a clean read, and
// exactly the alerts SOURCES.md's ideal names. Every file is readable to its end:
// pcap-record-truncated.pcap, the one SOURCES.md calls truncated, holds a record cut by its snap
// length (caplen 8 < len 78), which is a valid file.
func TestSharedCaptures(t *testing.T) {
	paths := testcorpus.Files(t)
	if len(paths) < 80 {
		t.Fatalf("only %d captures in %s", len(paths), filepath.Dir(paths[0]))
	}
	registered := map[string]bool{}
	for _, s := range detectors.Specs() {
		registered[s.Schema.Detector] = true
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			r := replay(t, path)
			if r.err != nil {
				t.Errorf("replay: %v", r.err)
			}
			want := sharedIdeal[name]
			for det := range want {
				if !registered[det] {
					t.Errorf("the ideal names detector %s, which is not registered", det)
				}
			}
			var dets []string
			for det := range registered {
				dets = append(dets, det)
			}
			sort.Strings(dets)
			for _, det := range dets {
				if got := r.byDet[det]; got != want[det] {
					t.Errorf("%s: %d alerts, ideal %d (%v)", det, got, want[det], r.alerts)
				}
			}
		})
	}
}
