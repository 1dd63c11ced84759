package pcaps

import (
	"errors"
	"path/filepath"
	"sort"
	"testing"

	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/internal/testcorpus"
)

// sharedIdeal is what ../shared/pcaps/SOURCES.md says an ideal engine reports for each real
// capture written by other people, as alert counts by detector; files not listed expect nothing.
// Expectations are written against the ideal, so a detector that does not exist yet is skipped
// until it is registered, and then held to it.
var sharedIdeal = map[string]map[string]int{
	"ipv4-malformed-timestamp-option-fuzz.pcap":       {"ipv4-options": 1},
	"ipv4-malformed-option-length-fuzz.pcap":          {"ipv4-options": 1},
	"tcp-fake-rst-before-synack-evasion-windows.pcap": {"tcp-rst-spoof": 1},
}

// sharedBroken lists the captures SOURCES.md describes as damaged that a reader must refuse with a
// *capture.FormatError (exit 2 in ids replay). pcap-record-truncated.pcap is not among them: its
// one record was cut by the snap length (caplen 8 < len 46), which is a valid file.
var sharedBroken = map[string]bool{}

// TestSharedCaptures replays every real capture in ../shared/pcaps: no panic, a clean read
// (except the known-damaged ones), and exactly the alerts SOURCES.md's ideal names.
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
			var fe *capture.FormatError
			switch {
			case sharedBroken[name] && !errors.As(r.err, &fe):
				t.Errorf("want a capture.FormatError, got %v", r.err)
			case !sharedBroken[name] && r.err != nil:
				t.Errorf("replay: %v", r.err)
			}
			want := sharedIdeal[name]
			for det := range want {
				if !registered[det] {
					t.Logf("ideal names %s, which is not implemented yet", det)
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
