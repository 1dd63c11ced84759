package decode

// Access to the shared real-capture corpus (shared/pcaps beside the repository, or
// $IDS_SHARED_PCAPS), read with gopacket's pcapgo so that these tests do not depend on the
// engine's own capture reader. internal/testcorpus does the work.

import (
	"path/filepath"

	"github.com/gopacket/gopacket/layers"
	"github.com/ids-sensor/ids/internal/testcorpus"
)

// capPacket is one packet of a capture file.
type capPacket struct {
	file  string
	index int // 1-based, as Wireshark numbers frames
	lt    layers.LinkType
	data  []byte
	wire  int
}

// corpusDir returns the corpus directory and its capture files (nil when there are none)
// without skipping; corpusFiles returns the files, skipping the test when there are none
// (failing it under CI=true).
var (
	corpusDir   = testcorpus.Find
	corpusFiles = testcorpus.Files
)

// readCapture reads up to limit packets (all when limit <= 0) of a pcap or pcapng file, any
// of them gzipped. Packets read before an error are returned with it.
func readCapture(path string, limit int) ([]capPacket, error) {
	recs, err := testcorpus.ReadFile(path, limit)
	var out []capPacket
	for i, r := range recs {
		out = append(out, capPacket{file: filepath.Base(path), index: i + 1, lt: r.LinkType, data: r.Data, wire: r.Info.Length})
	}
	return out, err
}
