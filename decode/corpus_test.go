package decode

// Access to the shared real-capture corpus (shared/pcaps beside the repository, or
// $IDS_SHARED_PCAPS), read with gopacket's pcapgo so that these tests do not depend on the
// engine's own capture reader.

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// capPacket is one packet of a capture file.
type capPacket struct {
	file  string
	index int // 1-based, as Wireshark numbers frames
	lt    layers.LinkType
	data  []byte
	wire  int
}

// corpusDir returns the corpus directory and its capture files (nil when there are none).
func corpusDir() (string, []string) {
	dir := os.Getenv("IDS_SHARED_PCAPS")
	if dir == "" {
		root := moduleRoot()
		if root == "" {
			return "(module root not found)", nil
		}
		dir = filepath.Join(root, "..", "shared", "pcaps")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return dir, nil
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") || strings.HasSuffix(n, ".cap")) {
			files = append(files, filepath.Join(dir, n))
		}
	}
	slices.Sort(files)
	return dir, files
}

// corpusFiles returns the corpus files, skipping the test when there are none, except under
// CI=true, where a missing corpus would silently hide regressions.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	dir, files := corpusDir()
	if len(files) == 0 {
		msg := "shared capture corpus not found: set IDS_SHARED_PCAPS or put the captures in shared/pcaps beside the repository (looked in " + dir + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return files
}

// moduleRoot walks up from the working directory to the directory holding go.mod.
func moduleRoot() string {
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

// readCapture reads up to limit packets (all when limit <= 0) of a pcap or pcapng file. Files
// named .pcap may hold pcapng: the pcap reader is tried first, then the pcapng reader with
// per-packet link types. Packets read before an error are returned with it.
func readCapture(path string, limit int) ([]capPacket, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src source
	var fileLT layers.LinkType
	if r, err := pcapgo.NewReader(bufio.NewReader(f)); err == nil {
		src, fileLT = r, r.LinkType()
	} else {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		ng, err := pcapgo.NewNgReader(bufio.NewReader(f), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, err
		}
		src, fileLT = ng, ng.LinkType()
	}
	var out []capPacket
	for limit <= 0 || len(out) < limit {
		data, ci, err := src.ReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		lt := fileLT
		if len(ci.AncillaryData) > 0 {
			if x, ok := ci.AncillaryData[0].(layers.LinkType); ok {
				lt = x
			}
		}
		out = append(out, capPacket{file: filepath.Base(path), index: len(out) + 1, lt: lt, data: data, wire: ci.Length})
	}
	return out, nil
}
