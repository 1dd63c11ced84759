package main

import (
	"bufio"
	"bytes"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/decode"
)

// The committed corpus lives in the parent directory (tests run in the package directory).
const committed = ".."

// TestCorpusUpToDate regenerates the corpus and requires the committed files to match it byte
// for byte, in both directions: a generator change without a regenerated corpus fails, and so
// does a committed capture the generator no longer writes.
func TestCorpusUpToDate(t *testing.T) {
	out := t.TempDir()
	files, err := generate(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		want, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(committed, filepath.FromSlash(f)))
		if err != nil {
			t.Errorf("%s: not committed (run go generate ./pcaps): %v", f, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: committed file differs from the generator's output (run go generate ./pcaps)", f)
		}
	}
	have, err := corpusFiles(committed)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range have {
		if !slices.Contains(files, f) {
			t.Errorf("%s: committed but not generated any more: delete it or restore its case", f)
		}
	}
}

// TestDeterministic generates twice: any map-order or clock dependence shows up as a difference.
func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	files, err := generate(a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := generate(b); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			t.Errorf("%s: two runs differ", f)
		}
	}
}

// TestExpectedFormat checks every .expected file against the format the golden test parses:
// comments, then sorted alert lines, then sorted anomaly lines naming real decoder anomalies.
func TestExpectedFormat(t *testing.T) {
	for _, c := range corpus() {
		var alerts, anoms []string
		sc := bufio.NewScanner(bytes.NewReader(c.expected()))
		for sc.Scan() {
			line := sc.Text()
			f := strings.Fields(line)
			switch {
			case strings.HasPrefix(line, "#"):
				if len(alerts)+len(anoms) > 0 {
					t.Errorf("%s: comment after data: %q", c.path, line)
				}
			case len(f) == 5 && f[0] == "error" && f[1] == "offset" && f[3] == "record" && path.Dir(c.path) == "hostile":
				if len(alerts)+len(anoms) > 0 {
					t.Errorf("%s: error after alert or anomaly lines: %q", c.path, line)
				}
				continue
			case len(f) == 6 && f[0] == "alert":
				if len(anoms) > 0 {
					t.Errorf("%s: alert after anomaly lines: %q", c.path, line)
				}
				if _, err := strconv.Atoi(f[2]); err != nil {
					t.Errorf("%s: bad sid: %q", c.path, line)
				}
				alerts = append(alerts, line)
			case len(f) == 3 && f[0] == "anomaly":
				if _, ok := decode.AnomalyByName(f[1]); !ok || !expectable(f[1]) && path.Dir(c.path) != "hostile" {
					t.Errorf("%s: anomaly the corpus must not expect: %q", c.path, line)
				}
				anoms = append(anoms, line)
			default:
				t.Errorf("%s: unparsable line %q", c.path, line)
				continue
			}
			if f[0] != "#" && !strings.HasPrefix(f[0], "#") {
				if v, err := strconv.Atoi(f[len(f)-1]); err != nil || v < 1 {
					t.Errorf("%s: bad count: %q", c.path, line)
				}
			}
		}
		if !slices.IsSorted(alerts) || !slices.IsSorted(anoms) {
			t.Errorf("%s: lines not sorted", c.path)
		}
		base := path.Base(c.path)
		// A benign capture never alerts. It may count anomalies only where something harmless is
		// irregular (a duplicated fragment); benign/ is the clean baseline and expects nothing.
		if strings.HasPrefix(base, "benign") && len(alerts) > 0 {
			t.Errorf("%s: a benign capture expects an alert", c.path)
		}
		if path.Dir(c.path) == "benign" && len(alerts)+len(anoms) > 0 {
			t.Errorf("%s: a benign/ capture expects something", c.path)
		}
		if strings.HasPrefix(base, "attack") && len(alerts) == 0 {
			t.Errorf("%s: an attack capture expects no alert", c.path)
		}
	}
}

// expectable reports whether the corpus may expect an anomaly (hostile/ may expect any: its
// captures are built to be malformed at every layer): IP header and defragmentation
// anomalies, the TCP reassembler's overlap anomalies (a case that sends overlapping segments on
// purpose), and the application-layer ones the SMB, DCE/RPC and NNTP parsers record for what a
// case was built to contain. Other stream.* anomalies depend on reassembly caps, not on the
// capture alone.
func expectable(name string) bool {
	for _, p := range []string{"ipv4.", "ipv6.", "nbss.", "smb.", "smb2.", "nntp.", "dcerpc.", "stream.overlap"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// TestREADMEListsEveryCapture keeps the README's table in step with the corpus.
func TestREADMEListsEveryCapture(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(committed, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range corpus() {
		if !bytes.Contains(readme, []byte("`"+c.path+"`")) {
			t.Errorf("README.md does not list %s", c.path)
		}
	}
}
