package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/rules"
)

// A threshold keeps repeats out of the output; the replay summary still counts every detection
// and says how many were suppressed, and `ids rules list` shows the threshold.
func TestReplayThreshold(t *testing.T) {
	const anchor = "  cve: [CVE-2005-0688]\n  bulletin: [MS05-019]\n"
	text := strings.Replace(string(rules.DefaultYAML()), anchor,
		anchor+"  threshold: {type: limit, track: by_src, count: 1, seconds: 3600}\n  suppress:\n    - {track: by_dst, ip: 203.0.113.0/24}\n", 1)
	path := filepath.Join(t.TempDir(), "limit.yaml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := ids(t, "replay", "--rules", path, "--fail-on-alert", landPcap, landPcap, landPcap)
	if code != exitAlerts {
		t.Errorf("exit %d, want %d (detections count for --fail-on-alert)", code, exitAlerts)
	}
	if n := strings.Count(out, "\n"); n != 1 {
		t.Errorf("%d alerts written, want 1:\n%s", n, out)
	}
	for _, want := range []string{"alerts: 3 detected, 1 written, 2 suppressed by thresholds and suppressions (1 threshold buckets in use of 65536, 0 evicted)",
		"sid 9200001  3  (2 suppressed)"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary lacks %q:\n%s", want, errs)
		}
	}

	code, out, _ = ids(t, "rules", "list", "--rules", path)
	if code != exitOK || !strings.Contains(out, "land       9200001  limit by_src, 1 per 3600 s  by_dst 203.0.113.0/24") {
		t.Errorf("rules list: exit %d\n%s", code, out)
	}
	_, out, _ = ids(t, "rules", "list")
	if !strings.Contains(out, "# no thresholds or suppressions") {
		t.Errorf("rules list of the default file:\n%s", out)
	}
}
