// Package testcorpus finds the shared real-capture corpus and reads its files with gopacket's
// pcapgo, the reference the engine's own capture reader and decoder are checked against.
//
// It is a helper for tests only: import it from _test.go files, never from the engine.
//
// The corpus is the directory named by $IDS_SHARED_PCAPS, else shared/pcaps beside the
// repository (the directory holding the module's go.mod). A test that needs it skips when it
// is missing, except under CI=true, where a missing corpus would silently hide regressions and
// fails instead.
package testcorpus

import (
	"bufio"
	"bytes"
	"compress/gzip"
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

// EnvDir names the environment variable that overrides the corpus directory.
const EnvDir = "IDS_SHARED_PCAPS"

// Find returns the corpus directory and its capture files: the regular files named *.pcap,
// *.pcapng or *.cap, sorted. It never skips: files is nil when there are none, and dir is
// where it looked. Fuzz targets use it to add the captures to their seeds when they are there.
func Find() (dir string, files []string) {
	return find(isCapture)
}

// FindAll is Find with every regular file of the directory, captures or not (SOURCES.md among
// them): capture reader tests read those too, to see them refused as pcapgo refuses them.
func FindAll() (dir string, files []string) {
	return find(func(string) bool { return true })
}

// Files returns the corpus's capture files, as Find does, and skips t when there are none
// (fails it under CI=true).
func Files(t testing.TB) []string {
	t.Helper()
	return require(t, Find)
}

// AllFiles returns every regular file of the corpus, as FindAll does, and skips t when there
// are none (fails it under CI=true).
func AllFiles(t testing.TB) []string {
	t.Helper()
	return require(t, FindAll)
}

func require(t testing.TB, find func() (string, []string)) []string {
	t.Helper()
	dir, files := find()
	if len(files) == 0 {
		msg := "shared capture corpus not found: set " + EnvDir + " or put the captures in shared/pcaps beside the repository (looked in " + dir + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return files
}

func isCapture(name string) bool {
	return strings.HasSuffix(name, ".pcap") || strings.HasSuffix(name, ".pcapng") || strings.HasSuffix(name, ".cap")
}

func find(keep func(name string) bool) (dir string, files []string) {
	dir = os.Getenv(EnvDir)
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
	for _, e := range entries {
		if e.Type().IsRegular() && keep(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return dir, files
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

// Record is one packet as pcapgo reads it.
type Record struct {
	Data     []byte // the captured bytes: the caller's own copy
	Info     gopacket.CaptureInfo
	LinkType layers.LinkType // the packet's interface's (pcapng) or the file's (pcap)
}

// Reader reads a pcap or pcapng file, gzipped or not, with pcapgo.
type Reader struct {
	pcap *pcapgo.Reader
	ng   *pcapgo.NgReader
}

// NewReader chooses the reader by magic, as the engine does: pcapgo's pcapng reader, with a
// link type per packet (WantMixedLinkType), when raw (or, gzipped, what it holds) starts with
// a pcapng Section Header Block, and its pcap reader otherwise. The error is pcapgo's.
func NewReader(raw []byte) (*Reader, error) {
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
		return &Reader{ng: r}, nil
	}
	r, err := pcapgo.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	return &Reader{pcap: r}, nil
}

// Format returns "pcap" or "pcapng", the names the engine's reader uses.
func (r *Reader) Format() string {
	if r.ng != nil {
		return "pcapng"
	}
	return "pcap"
}

// Next returns the next packet, or pcapgo's error: io.EOF at the end of the file.
func (r *Reader) Next() (Record, error) {
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		lt   layers.LinkType
	)
	if r.ng != nil {
		data, ci, err = r.ng.ReadPacketData()
		lt = r.ng.LinkType()
	} else {
		data, ci, err = r.pcap.ReadPacketData()
		lt = r.pcap.LinkType()
	}
	if err != nil {
		return Record{}, err
	}
	if len(ci.AncillaryData) > 0 {
		if x, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			lt = x
		}
	}
	return Record{Data: bytes.Clone(data), Info: ci, LinkType: lt}, nil
}

// ReadFile reads up to limit packets of the file at path (all when limit <= 0). The packets
// read before an error are returned with it; the end of the file is not an error.
func ReadFile(path string, limit int) ([]Record, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(raw)
	if err != nil {
		return nil, err
	}
	var out []Record
	for limit <= 0 || len(out) < limit {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	return out, nil
}
