package pcaps

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/capture"
)

// brokenCaptures are the hostile captures whose file structure is broken, with where reading
// must stop: the byte offset at which the bad record starts and its number.
var brokenCaptures = []struct {
	path           string
	offset, record int
	reason         string
}{
	{"hostile/truncated-last-record.pcap", 191, 3, "truncated record"},
	{"hostile/truncated-record-header.pcap", 100, 2, "truncated record header"},
}

// TestHostileBrokenFileMessage: a capture cut inside a record stops the replay with a
// *capture.FormatError whose message names the file, the byte offset of the bad record and the
// record, after the packets before it were inspected (TestGolden checks their alerts).
func TestHostileBrokenFileMessage(t *testing.T) {
	for _, c := range brokenCaptures {
		r := replay(t, c.path)
		var fe *capture.FormatError
		if !errors.As(r.err, &fe) {
			t.Fatalf("%s: replay error %v, want a *capture.FormatError", c.path, r.err)
		}
		msg := r.err.Error()
		for _, want := range []string{c.path, fmt.Sprintf("byte offset %d", c.offset), fmt.Sprintf("record %d", c.record), c.reason} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message %q does not say %q", c.path, msg, want)
			}
		}
	}
}

// TestHostileReplayExitStatus runs `ids replay` on every hostile capture: status 2 and the
// file's byte offset on standard error for a broken file, 0 for the others, and never a panic.
func TestHostileReplayExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/ids")
	}
	bin := filepath.Join(t.TempDir(), "ids")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/ids").CombinedOutput(); err != nil {
		t.Fatalf("go build ../cmd/ids: %v\n%s", err, out)
	}
	captures, _ := filepath.Glob("hostile/*.pcap")
	if len(captures) < 15 {
		t.Fatalf("only %d hostile captures; run go generate ./pcaps", len(captures))
	}
	broken := map[string]int{}
	for _, c := range brokenCaptures {
		broken[c.path] = c.offset
	}
	for _, path := range captures {
		var stderr bytes.Buffer
		cmd := exec.Command(bin, "replay", "-o", filepath.Join(t.TempDir(), "eve.json"), path)
		cmd.Stderr = &stderr
		err := cmd.Run()
		status := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			status = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if strings.Contains(stderr.String(), "BUG") || strings.Contains(stderr.String(), "panic") {
			t.Errorf("%s: %s", path, stderr.String())
		}
		off, isBroken := broken[path]
		switch {
		case isBroken && status != 2:
			t.Errorf("%s: exit status %d, want 2\n%s", path, status, stderr.String())
		case isBroken && !strings.Contains(stderr.String(), fmt.Sprintf("ids replay: %s: byte offset %d: ", path, off)):
			t.Errorf("%s: standard error does not name the file and byte offset %d:\n%s", path, off, stderr.String())
		case !isBroken && status != 0:
			t.Errorf("%s: exit status %d, want 0\n%s", path, status, stderr.String())
		}
	}
}
