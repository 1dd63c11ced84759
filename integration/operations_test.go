package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrivilegeDropAndReopen runs the sensor with --user nobody: once running it holds no root
// privilege yet still captures, and its alert file (mode 0640, owned by that user) is reopened on
// SIGHUP after logrotate-style renaming, new alerts going to the new file.
func TestPrivilegeDropAndReopen(t *testing.T) {
	needRoot(t, "ip", "tcpreplay")
	l := newLink(t)
	s := startSensor(t, l.Capture, "--backend", "afpacket", "--workers", "1", "--user", "nobody")

	status, err := os.ReadFile("/proc/" + itoa(s.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"Uid", "Gid"} {
		m := regexp.MustCompile(`(?m)^` + field + `:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)`).FindStringSubmatch(string(status))
		if m == nil {
			t.Fatalf("no %s line in /proc/PID/status", field)
		}
		for _, id := range m[1:] {
			if id == "0" {
				t.Errorf("%s after --user nobody: %s (real, effective, saved, fs)", field, strings.Join(m[1:], " "))
				break
			}
		}
	}
	if m := regexp.MustCompile(`(?m)^CapEff:\s+(\w+)`).FindStringSubmatch(string(status)); m == nil || strings.Trim(m[1], "0") != "" {
		t.Errorf("effective capabilities after dropping privileges: %v", m)
	}

	land := "../pcaps/land/attack-ipv4.pcap"
	sent, _ := l.replay(t, land)
	s.waitPackets(t, sent)
	first := countAlerts(readAlertsWhenFlushed(t, s))
	if first == 0 {
		t.Fatal("no alert after dropping privileges")
	}
	fi, err := os.Stat(s.eve)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("alert file mode %v, want 0640", fi.Mode().Perm())
	}
	if st := fi.Sys().(*syscall.Stat_t); st.Uid == 0 {
		t.Errorf("alert file owned by root: the unprivileged sensor could not reopen it")
	}

	// logrotate: move the file away, SIGHUP, and the next alerts land in a new file.
	rotated := s.eve + ".1"
	if err := os.Rename(s.eve, rotated); err != nil {
		t.Fatal(err)
	}
	// The directory must let the sensor, now unprivileged, create the new file (t.TempDir makes
	// root-only directories).
	dir := filepath.Dir(s.eve)
	os.Chmod(filepath.Dir(dir), 0o711)
	os.Chmod(dir, 0o777)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(s.eve); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new alert file 5 s after SIGHUP\n%s", s.logText())
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.replay(t, land)
	s.waitPackets(t, 2*sent)
	s.stop(t)
	if n := countAlerts(readAlerts(t, rotated)); n != first {
		t.Errorf("rotated file has %d alerts, want the %d written before SIGHUP", n, first)
	}
	if n := countAlerts(readAlerts(t, s.eve)); n == 0 {
		t.Errorf("no alert in the reopened file\n%s", s.logText())
	}
	if m := s.finalStats(t); m["alerts"] != m["alerts_written"] {
		t.Errorf("detected %v alerts, wrote %v", m["alerts"], m["alerts_written"])
	}
}
