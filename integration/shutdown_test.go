package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ids-sensor/ids/internal/testpackets"
)

// TestSIGTERMLosesNoAlert stops the sensor with SIGTERM in the middle of a replay of the shared
// benchmark's mixed traffic and checks that every alert detected was written: the alert lines
// on disk, the sensor's final alert count (what ids_alerts_total adds up to) and ids replay's
// alerts for the packets the sensor captured (the first N of the file: one worker, no drops)
// are all the same.
func TestSIGTERMLosesNoAlert(t *testing.T) {
	needRoot(t, "ip", "tcpreplay")
	mixed := benchCapture(t, 20)
	total := countPackets(t, mixed)
	for _, backend := range []string{"pcap", "afpacket"} {
		t.Run(backend, func(t *testing.T) {
			l := newLink(t)
			s := startSensor(t, l.Capture, "--backend", backend, "--workers", "1")
			replayDone := make(chan struct{})
			go func() {
				defer close(replayDone)
				// Paced so that the stop lands mid-file and the kernel drops nothing.
				exec.Command("ip", "netns", "exec", l.NS, "tcpreplay", "-i", l.Inject, "--pps", "20000", mixed).Run()
			}()
			s.waitPackets(t, total/2)
			s.stop(t)
			<-replayDone

			final := s.finalStats(t)
			if final["kernel_drops"] != 0 {
				t.Fatalf("kernel dropped %v packets: the captured packets are not a prefix of the file", final["kernel_drops"])
			}
			captured := int(final["packets"])
			if captured <= 0 || captured >= total {
				t.Fatalf("sensor captured %d of %d packets: SIGTERM did not land mid-replay", captured, total)
			}
			written := readAlerts(t, s.eve)
			prefix := writePrefix(t, mixed, captured)
			want := replayAlerts(t, prefix)
			t.Logf("SIGTERM after %d of %d packets: %d alerts detected, %d written, ids replay of those packets: %d",
				captured, total, int(final["alerts"]), countAlerts(written), countAlerts(want))
			if int(final["alerts"]) != countAlerts(written) || int(final["alerts_written"]) != countAlerts(written) {
				t.Errorf("detected %v alerts, counted %v written, %d lines in the output", final["alerts"], final["alerts_written"], countAlerts(written))
			}
			if final["alert_queue_drops"] != 0 {
				t.Errorf("%v alerts dropped at the queue", final["alert_queue_drops"])
			}
			if d := diffAlerts(want, written); d != "" {
				t.Errorf("written alerts differ from ids replay's on the captured packets:\n%s", d)
			}
			if countAlerts(want) == 0 {
				t.Errorf("no alert in the captured part: the test proves nothing")
			}
		})
	}
}

// benchCapture builds the shared benchmark's mixed capture of sizeMB once per test binary.
func benchCapture(t *testing.T, sizeMB int) string {
	t.Helper()
	script, err := filepath.Abs("../../shared/bench/make-bench-pcap.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared benchmark generator is missing: %v", err)
		}
		t.Skipf("the shared benchmark generator is missing: %v", err)
	}
	out := filepath.Join(os.TempDir(), "ids-integration-mixed-"+itoa(sizeMB)+"m.pcap")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	tmp := out + ".tmp"
	run(t, "bash", script, tmp, itoa(sizeMB), "2", "2")
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

// finalStats reads the sensor's "sensor stopped" log line.
func (s *sensor) finalStats(t *testing.T) map[string]float64 {
	t.Helper()
	f, err := os.Open(s.log.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil || rec["msg"] != "sensor stopped" {
			continue
		}
		out := map[string]float64{}
		for k, v := range rec {
			if f, ok := v.(float64); ok {
				out[k] = f
			}
		}
		return out
	}
	t.Fatalf("no 'sensor stopped' line in the sensor's log:\n%s", s.logText())
	return nil
}

// writePrefix writes the first n packets of a capture to a new pcap.
func writePrefix(t *testing.T, path string, n int) string {
	t.Helper()
	recs := testpackets.Load(t, path)
	out := filepath.Join(t.TempDir(), "prefix.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[:min(n, len(recs))] {
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, r.Info.Timestamp), CaptureLength: len(r.Data), Length: r.Info.WireLen}
		if err := w.WritePacket(ci, r.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}
