package main

import (
	"os"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
)

// The README documents every anomaly name, every detector, and the commands CI runs.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	for code := 1; code < decode.NumAnomalies; code++ {
		if name := decode.Anomaly(code).String(); !strings.Contains(readme, "`"+name+"`") {
			t.Errorf("README does not list anomaly %s", name)
		}
	}
	for _, s := range detectors.Specs() {
		if !strings.Contains(readme, "| `"+s.Schema.Detector+"` |") {
			t.Errorf("README's detector table lacks %s", s.Schema.Detector)
		}
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"bash scripts/test.sh", "bash scripts/demo.sh"} {
		if !strings.Contains(readme, cmd) || !strings.Contains(string(ci), cmd) {
			t.Errorf("%q must be both the README's set-up command and in .ci/run", cmd)
		}
	}
}
