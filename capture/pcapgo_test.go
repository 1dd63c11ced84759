package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// sharedPcaps returns the files of the shared real-capture corpus. It skips
// the test when the corpus is missing, except in CI, where a missing corpus
// would hide regressions.
func sharedPcaps(t testing.TB) []string {
	t.Helper()
	dir, files := findSharedPcaps()
	if len(files) == 0 {
		msg := "shared capture corpus not found (set IDS_SHARED_PCAPS, or put shared/pcaps beside the repository); looked in " + dir
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return files
}

// findSharedPcaps looks for the corpus in $IDS_SHARED_PCAPS, else in
// shared/pcaps beside the repository root.
func findSharedPcaps() (dir string, files []string) {
	dir = os.Getenv("IDS_SHARED_PCAPS")
	if dir == "" {
		root := repoRoot()
		if root == "" {
			return "", nil
		}
		dir = filepath.Join(root, "..", "shared", "pcaps")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	return dir, files
}

// repoRoot walks up from the working directory to the directory holding
// go.mod.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// refReader reads a file with gopacket's pcapgo, choosing the pcap or pcapng
// reader by magic as we do. The link type is per packet for pcapng.
type refReader interface {
	next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error)
}

type refPcap struct{ r *pcapgo.Reader }

func (p refPcap) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := p.r.ReadPacketData()
	return data, ci, p.r.LinkType(), err
}

type refNg struct{ r *pcapgo.NgReader }

func (p refNg) next() ([]byte, gopacket.CaptureInfo, layers.LinkType, error) {
	data, ci, err := p.r.ReadPacketData()
	var lt layers.LinkType
	if err == nil {
		lt = ci.AncillaryData[0].(layers.LinkType)
	}
	return data, ci, lt, err
}

func openRef(raw []byte) (refReader, error) {
	magic := raw
	if len(raw) >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		magic, _ = bufio.NewReader(zr).Peek(4)
	}
	if bytes.HasPrefix(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		return refNg{r}, nil
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return refPcap{r}, nil
}

// TestAgainstPcapgo reads every file of the shared corpus with both readers:
// same packets, same data and metadata, and a FormatError from us exactly
// where pcapgo fails. Each file is also read cut in the middle and one byte
// short, which both readers must notice at the same packet.
func TestAgainstPcapgo(t *testing.T) {
	var total, broken int
	for _, path := range sharedPcaps(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			n, failed := compareWithPcapgo(t, raw, f, err, true)
			if f != nil {
				f.Close()
			}
			total += n
			if failed {
				broken++
			}
			for _, cut := range []int{len(raw) / 2, len(raw) - 1} {
				f, err := NewReader(bytes.NewReader(raw[:cut]), path)
				compareWithPcapgo(t, raw[:cut], f, err, false)
			}
		})
	}
	t.Logf("%d packets compared, %d broken files", total, broken)
}

// compareWithPcapgo reads raw with pcapgo and f (opened from the same bytes,
// with error ourErr) side by side. It returns the packets compared and
// whether both readers found the file broken, which it logs if verbose.
func compareWithPcapgo(t *testing.T, raw []byte, f *File, ourErr error, verbose bool) (n int, failed bool) {
	t.Helper()
	ref, refErr := openRef(raw)
	if refErr == nil && ourErr == nil {
		wantFormat := "pcap"
		if _, ok := ref.(refNg); ok {
			wantFormat = "pcapng"
		}
		if f.Format() != wantFormat {
			t.Fatalf("Format() = %q, pcapgo reads it as %s", f.Format(), wantFormat)
		}
	}
	for refErr == nil && ourErr == nil {
		var (
			want, data []byte
			ci         gopacket.CaptureInfo
			lt         layers.LinkType
			info       Info
		)
		want, ci, lt, refErr = ref.next()
		data, info, ourErr = f.Next()
		if refErr != nil || ourErr != nil {
			break
		}
		n++
		if !bytes.Equal(data, want) {
			t.Fatalf("packet %d: data differs", n)
		}
		ts := ci.Timestamp.UnixNano()
		if ci.Timestamp.IsZero() {
			ts = 0 // pcapgo's "no timestamp" (Simple Packet Blocks) is our 0
		}
		got := Info{Timestamp: ts, CapLen: ci.CaptureLength, WireLen: ci.Length, LinkType: lt, Interface: ci.InterfaceIndex}
		if info != got {
			t.Fatalf("packet %d: got %+v, pcapgo %+v", n, info, got)
		}
	}
	refFailed := refErr != nil && refErr != io.EOF
	var fe *FormatError
	if ourErr != nil && ourErr != io.EOF && !errors.As(ourErr, &fe) {
		t.Fatalf("after %d packets: not a FormatError: %v", n, ourErr)
	}
	if refFailed != (fe != nil) {
		t.Fatalf("after %d packets: pcapgo says %v, we say %v", n, refErr, ourErr)
	}
	if refErr == nil || ourErr == nil {
		t.Fatalf("after %d packets: one reader stopped early: pcapgo %v, ours %v", n, refErr, ourErr)
	}
	if fe != nil && verbose {
		t.Logf("%d packets, then both fail: pcapgo %q; ours %q", n, refErr, fe)
	}
	return n, fe != nil
}
