package integration

import (
	"fmt"
	"testing"
)

// TestLiveMatchesReplay replays the attack and benign corpus over a veth pair at its recorded
// pace and checks that the sensor, with each back end, raises exactly the alerts ids replay
// raises on the same capture, with no packet dropped.
func TestLiveMatchesReplay(t *testing.T) {
	needRoot(t, "ip", "tcpreplay")
	corpus, packets := liveCorpus(t)
	want := replayAlerts(t, corpus)
	if countAlerts(want) == 0 {
		t.Fatal("the corpus raised no alert in replay: the comparison would prove nothing")
	}
	for _, c := range []struct {
		backend string
		workers int
	}{{"pcap", 1}, {"afpacket", 1}, {"afpacket", 2}} {
		t.Run(fmt.Sprintf("%s-%dworkers", c.backend, c.workers), func(t *testing.T) {
			l := newLink(t)
			s := startSensor(t, l.Capture, "--backend", c.backend, "--workers", fmt.Sprint(c.workers))
			sent, _ := l.replay(t, corpus)
			if sent != packets {
				t.Fatalf("tcpreplay sent %d of %d packets", sent, packets)
			}
			m := s.waitPackets(t, sent)
			if drops := sum(m, "ids_capture_drops_total"); drops != 0 {
				t.Errorf("kernel dropped %.0f packets", drops)
			}
			if got := sum(m, "ids_capture_packets_total"); got != float64(sent) {
				t.Errorf("sensor processed %.0f packets, tcpreplay sent %d", got, sent)
			}
			s.stop(t)
			got := readAlerts(t, s.eve)
			if d := diffAlerts(want, got); d != "" {
				t.Errorf("live alerts differ from ids replay's (%d live, %d replay):\n%s", countAlerts(got), countAlerts(want), d)
			}
			t.Logf("%d packets, %d alerts, as ids replay", sent, countAlerts(got))
		})
	}
}
