package testcorpus

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var (
	when = time.Unix(1700000000, 5000).UTC()
	pkts = [][]byte{[]byte("first packet"), []byte("second")}
)

func pcapFile(t *testing.T) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	if err := w.WriteFileHeader(65535, layers.LinkTypeRaw); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: when, CaptureLength: len(p), Length: len(p) + 3}, p); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

// pcapngFile has two interfaces of different link types, a packet on each.
func pcapngFile(t *testing.T) []byte {
	var b bytes.Buffer
	w, err := pcapgo.NewNgWriter(&b, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL, SnapLength: 65535, TimestampResolution: 9}); err != nil {
		t.Fatal(err)
	}
	for i, p := range pkts {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: when, CaptureLength: len(p), Length: len(p), InterfaceIndex: i}, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	zw.Close()
	return out.Bytes()
}

func readAll(t *testing.T, raw []byte) (string, []Record) {
	t.Helper()
	r, err := NewReader(raw)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Format(), recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestReader(t *testing.T) {
	pcap, ng := pcapFile(t), pcapngFile(t)
	for _, c := range []struct {
		name, format string
		raw          []byte
		lts          []layers.LinkType
		extra        int // wire length beyond the capture
	}{
		{"pcap", "pcap", pcap, []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeRaw}, 3},
		{"pcap.gz", "pcap", gzipped(pcap), []layers.LinkType{layers.LinkTypeRaw, layers.LinkTypeRaw}, 3},
		{"pcapng", "pcapng", ng, []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}, 0},
		{"pcapng.gz", "pcapng", gzipped(ng), []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL}, 0},
	} {
		format, recs := readAll(t, c.raw)
		if format != c.format || len(recs) != len(pkts) {
			t.Fatalf("%s: format %s, %d packets", c.name, format, len(recs))
		}
		for i, r := range recs {
			if !bytes.Equal(r.Data, pkts[i]) || r.LinkType != c.lts[i] || !r.Info.Timestamp.Equal(when) || r.Info.Length != len(pkts[i])+c.extra {
				t.Errorf("%s: packet %d: %q %v %v len %d", c.name, i, r.Data, r.LinkType, r.Info.Timestamp, r.Info.Length)
			}
		}
	}
	if _, err := NewReader([]byte("not a capture")); err == nil {
		t.Error("a text file was read as a capture")
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pcapng")
	ng := pcapngFile(t)
	if err := os.WriteFile(path, ng, 0o644); err != nil {
		t.Fatal(err)
	}
	if recs, err := ReadFile(path, 1); err != nil || len(recs) != 1 {
		t.Errorf("limit 1: %d packets, %v", len(recs), err)
	}
	if recs, err := ReadFile(path, 0); err != nil || len(recs) != 2 {
		t.Errorf("no limit: %d packets, %v", len(recs), err)
	}
	// Cut in the second packet: the first is returned with the error.
	if err := os.WriteFile(path, ng[:len(ng)-4], 0o644); err != nil {
		t.Fatal(err)
	}
	if recs, err := ReadFile(path, 0); err == nil || len(recs) != 1 {
		t.Errorf("cut file: %d packets, %v", len(recs), err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"b.pcapng", "a.pcap", "SOURCES.md", "c.cap", "d.pcap.gz"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.pcap"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvDir, dir)
	base := func(files []string) (out []string) {
		for _, f := range files {
			out = append(out, filepath.Base(f))
		}
		return out
	}
	if d, files := Find(); d != dir || !slices.Equal(base(files), []string{"a.pcap", "b.pcapng", "c.cap"}) {
		t.Errorf("Find: %s %v", d, files)
	}
	if _, files := FindAll(); !slices.Equal(base(files), []string{"SOURCES.md", "a.pcap", "b.pcapng", "c.cap", "d.pcap.gz"}) {
		t.Errorf("FindAll: %v", files)
	}
	if got := Files(t); len(got) != 3 {
		t.Errorf("Files: %v", got)
	}
	t.Setenv(EnvDir, filepath.Join(dir, "missing"))
	if _, files := Find(); files != nil {
		t.Errorf("missing directory: %v", files)
	}
}
