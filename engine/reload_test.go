package engine

import (
	"os"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

// TestSetRulesMidConnection: a rules reload in the middle of an attack sent one byte per
// segment keeps the connection's parser state when the new rules read the same protocols, so
// the attack still alerts; rules that stop reading the protocol free the parser's state.
func TestSetRulesMidConnection(t *testing.T) {
	recs := load(t, "pcaps/msmq-overflow/attack-2107-one-byte-segments.pcap")
	defaultYAML, err := os.ReadFile("../rules/default.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parse := func(text string) *rules.Set {
		set, err := rules.Parse("reload.yaml", []byte(text), detectors.Schemas())
		if err != nil {
			t.Fatal(err)
		}
		return set
	}
	for _, c := range []struct {
		name   string
		reload string
		alerts int // msmq-overflow alerts after the reload
	}{
		{"same rules", string(defaultYAML), 1},
		{"nntp off: DCE/RPC still read", strings.Replace(string(defaultYAML), "nntp-xpat:\n  enabled: true", "nntp-xpat:\n  enabled: false", 1), 1},
		{"msmq off", strings.Replace(string(defaultYAML), "msmq-overflow:\n  enabled: true", "msmq-overflow:\n  enabled: false", 1), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			set := parse(c.reload)
			if set.Detector("nntp-xpat") == nil || set.Detector("msmq-overflow") == nil {
				t.Fatal("the test's rules lost a detector")
			}
			n := 0
			e := New(defaultRules(t), sinkFunc(func(a *alert.Alert) error {
				if a.Sig.Detector == "msmq-overflow" {
					n++
				}
				return nil
			}))
			half := len(recs) / 2
			for _, r := range recs[:half] {
				e.Process(r.data, r.info)
			}
			if n != 0 {
				t.Fatalf("alert before the reload: the attack is not split by it")
			}
			e.SetRules(set)
			for _, r := range recs[half:] {
				e.Process(r.data, r.info)
			}
			if n != c.alerts {
				t.Errorf("%d msmq-overflow alerts after the reload, want %d", n, c.alerts)
			}
		})
	}
}
