package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/rules"
)

// ids runs the command in-process and returns its exit status, standard output and error.
func ids(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

const (
	landPcap = "../../pcaps/land/attack-ipv4.pcap"
	pmtuPcap = "../../pcaps/icmp-pmtu/attack-mtu68.pcap"
)

// truncatedCopy writes path's bytes minus the last n into a temporary file.
func truncatedCopy(t *testing.T, path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(out, data[:len(data)-n], 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReplayEVE(t *testing.T) {
	code, out, errs := ids(t, "replay", landPcap)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var a map[string]any
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("stdout is not one EVE line: %q", out)
	}
	if a["event_type"] != "alert" || a["alert"].(map[string]any)["signature_id"] != 9200001.0 {
		t.Errorf("unexpected alert %v", a)
	}
	for _, want := range []string{"1 files, 1 packets", "alerts: 1", "land", "sid 9200001", "decode anomalies: 0 kinds", "packets/s"} {
		if !strings.Contains(errs, want) {
			t.Errorf("summary lacks %q:\n%s", want, errs)
		}
	}
}

func TestReplayFlagsAnywhereAndFastFormat(t *testing.T) {
	outPath := filepath.Join(t.TempDir(), "fast.log")
	code, out, errs := ids(t, "replay", landPcap, "--format", "fast", pmtuPcap, "-o", outPath, "-q")
	if code != exitOK || out != "" || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	data, err := os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	fast := regexp.MustCompile(`^\d\d/\d\d/\d{4}-\d\d:\d\d:\d\d\.\d{6}  \[\*\*\] \[1:\d+:\d+\] .+ \[\*\*\] \[Classification: .+\] \[Priority: \d\] \{\w+\} \S+ -> \S+$`)
	if len(lines) != 2 || !fast.MatchString(lines[0]) || !fast.MatchString(lines[1]) {
		t.Errorf("fast output:\n%s", data)
	}
	if st, _ := os.Stat(outPath); st.Mode().Perm() != 0o640 {
		t.Errorf("output mode %v, want 0640", st.Mode().Perm())
	}
}

func TestReplayFailOnAlert(t *testing.T) {
	if code, _, _ := ids(t, "replay", "-q", "--fail-on-alert", landPcap); code != exitAlerts {
		t.Errorf("exit %d with an alert, want %d", code, exitAlerts)
	}
	if code, _, _ := ids(t, "replay", "-q", "--fail-on-alert", "../../pcaps/land/benign-handshakes.pcap"); code != exitOK {
		t.Errorf("exit %d without alerts, want 0", code)
	}
}

func TestReplayBadInputs(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.pcap")
	os.WriteFile(text, []byte("# this is a text file, not a capture\n"), 0o644)
	cut := truncatedCopy(t, landPcap, 5)
	cases := []struct {
		name string
		args []string
		msg  string // the one error line, by regexp
		eve  int    // alerts still written
	}{
		{"truncated_last_record", []string{cut}, `^ids replay: .*cut\.pcap: byte offset 24: record 1: truncated`, 0},
		{"text_file", []string{text}, `^ids replay: .*notes\.pcap: byte offset 0: not a pcap or pcapng file`, 0},
		{"missing_file", []string{"/nonexistent/x.pcap"}, `^ids replay: open /nonexistent/x\.pcap: no such file or directory$`, 0},
		// Alerts before and after a bad file are still written; every file is attempted.
		{"bad_file_between_good_ones", []string{landPcap, text, pmtuPcap}, `notes\.pcap: byte offset 0`, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := ids(t, append([]string{"replay", "-q"}, c.args...)...)
			if code != exitInput {
				t.Errorf("exit %d, want %d", code, exitInput)
			}
			lines := strings.Split(strings.TrimSpace(errs), "\n")
			if len(lines) != 1 || !regexp.MustCompile(c.msg).MatchString(lines[0]) {
				t.Errorf("stderr %q does not match %s", errs, c.msg)
			}
			if got := strings.Count(out, `"event_type":"alert"`); got != c.eve {
				t.Errorf("%d alerts written, want %d", got, c.eve)
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	badRules := filepath.Join(t.TempDir(), "bad.yaml")
	text := strings.Replace(string(rules.DefaultYAML()), "  severity: 2\n  cve: [CVE-2005-0688]", "  severity: 9\n  cve: [CVE-2005-0688]", 1)
	os.WriteFile(badRules, []byte(text), 0o644)
	cases := []struct {
		name string
		args []string
		msg  string
	}{
		{"no_command", nil, "usage: ids"},
		{"unknown_command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"no_files", []string{"replay"}, "no capture files given"},
		{"unknown_flag", []string{"replay", "--bogus", landPcap}, "flag provided but not defined: -bogus"},
		{"bad_format", []string{"replay", "--format", "xml", landPcap}, `--format must be eve or fast, got "xml"`},
		{"bad_rules", []string{"replay", "--rules", badRules, landPcap}, "bad.yaml:16: land.severity: must be 1..4, got 9"},
		{"missing_rules", []string{"replay", "--rules", "/nonexistent.yaml", landPcap}, "no such file"},
		{"rules_check_bad", []string{"rules", "check", badRules}, "bad.yaml:16: land.severity: must be 1..4, got 9"},
		{"unwritable_output", []string{"replay", "-o", "/nonexistent/dir/out.json", landPcap}, "no such file or directory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := ids(t, c.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errs, c.msg) {
				t.Errorf("stderr %q lacks %q", errs, c.msg)
			}
			if out != "" {
				t.Errorf("unexpected stdout %q", out)
			}
		})
	}
}

func TestRulesCommands(t *testing.T) {
	code, out, _ := ids(t, "rules", "list")
	if code != exitOK || !strings.Contains(out, "land.self_connect") || !strings.Contains(out, "icmp-pmtu.min_mtu") {
		t.Errorf("rules list: exit %d\n%s", code, out)
	}
	code, out, _ = ids(t, "rules", "check", "../../rules/default.yaml")
	if code != exitOK || !strings.Contains(out, "ok: 11 detectors, 22 signatures (20 enabled)") {
		t.Errorf("rules check: exit %d %q", code, out)
	}
	// The file shipped in rules/ is the one embedded in the binary.
	shipped, _ := os.ReadFile("../../rules/default.yaml")
	if !bytes.Equal(shipped, rules.DefaultYAML()) {
		t.Error("rules/default.yaml differs from the embedded default")
	}
}
