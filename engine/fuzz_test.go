package engine

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/internal/testcorpus"
	"github.com/ids-sensor/ids/rules"
)

// fuzzLinkTypes are the link types decode supports, in the order the first byte of a
// FuzzEngine input selects them (modulo the length).
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet,
	layers.LinkTypeLinuxSLL,
	layers.LinkTypeLinuxSLL2,
	layers.LinkTypeRaw,
	layers.LinkTypeIPv4,
	layers.LinkTypeIPv6,
	layers.LinkTypeNull,
	layers.LinkTypeLoop,
	decode.LinkTypeNFLog,
	12, // LINKTYPE_RAW as OpenBSD numbers it
	14, // and BSD/OS
}

// FuzzEngine input layout: byte 0 picks the link type (fuzzLinkTypes, modulo); then packets, each
// a 2-byte big-endian header and its bytes. The header's low 14 bits are the packet's length
// (clamped to what is left); its top 2 bits the time since the previous packet: 0 1 ms, 1 1 s,
// 2 100 s (past every flow, defrag and threshold timeout), 3 1 ms and a wire length 1000 bytes
// longer than captured (a snap-length cut).
const (
	fuzzMaxPackets = 256
	fuzzLenMask    = 0x3fff
)

// fuzzHang is how long one input may take: a few hundred packets take milliseconds.
const fuzzHang = 20 * time.Second

type fuzzPacket struct {
	data []byte
	info capture.Info
}

func parseEngineInput(in []byte) []fuzzPacket {
	if len(in) == 0 {
		return nil
	}
	lt := fuzzLinkTypes[int(in[0])%len(fuzzLinkTypes)]
	in = in[1:]
	ts := int64(1254139200e9) // 2009-09-28T12:00:00Z
	var out []fuzzPacket
	for len(in) >= 2 && len(out) < fuzzMaxPackets {
		h := binary.BigEndian.Uint16(in)
		in = in[2:]
		n := min(int(h&fuzzLenMask), len(in))
		data := in[:n]
		in = in[n:]
		wire := n
		switch h >> 14 {
		case 0:
			ts += 1e6
		case 1:
			ts += 1e9
		case 2:
			ts += 100e9
		case 3:
			ts += 1e6
			wire += 1000
		}
		out = append(out, fuzzPacket{data, capture.Info{Timestamp: ts, CapLen: n, WireLen: wire, LinkType: lt}})
	}
	return out
}

// encodeEngineInput is the inverse of parseEngineInput for packets of one link type (index li of
// fuzzLinkTypes), 1 ms apart; packets longer than the length field holds are cut, with their
// wire length noted as a cut.
func encodeEngineInput(li int, pkts [][]byte) []byte {
	b := []byte{byte(li)}
	for _, p := range pkts {
		h := uint16(len(p))
		if len(p) > fuzzLenMask {
			p, h = p[:fuzzLenMask], 3<<14|fuzzLenMask
		}
		b = binary.BigEndian.AppendUint16(b, h)
		b = append(b, p...)
	}
	return b
}

// fuzzSink counts alerts and checks what it is given is whole.
type fuzzSink struct {
	t *testing.T
	n int
}

func (s *fuzzSink) Write(a *alert.Alert) error {
	if a.Sig == nil || !a.Src.IsValid() || !a.Dst.IsValid() {
		s.t.Fatalf("alert without a signature or endpoints: %+v", a)
	}
	s.n++
	return nil
}

func (*fuzzSink) Flush() error { return nil }

// fuzzSettings are the default rules' detectors with small limits, so that one engine per input
// is cheap to build and the flow, defragmentation, reassembly and threshold caps are reached by
// inputs of a few kilobytes.
func fuzzRules(t testing.TB) *rules.Set {
	set, err := rules.Default(detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	st := &set.Settings
	st.FlowMax = 16
	st.DefragMaxDatagrams = 4
	st.DefragMemcap = 65536
	st.StreamMemcap = 65536
	st.StreamFlowCap = 4096
	st.ThresholdMax = 8
	return set
}

// engineSeeds returns FuzzEngine seeds from the generated corpus (../pcaps) and the shared real
// captures: each file's packets in windows of up to 16 (8 KiB), one window per seed, deduplicated, at most
// limit seeds from each source.
func engineSeeds(paths []string, limit int, seen map[uint64]bool) [][]byte {
	var seeds [][]byte
	for _, path := range paths {
		f, err := capture.Open(path)
		if err != nil {
			continue
		}
		li := -1
		var win [][]byte
		size := 0
		flush := func() {
			if len(win) == 0 || li < 0 {
				return
			}
			in := encodeEngineInput(li, win)
			h := fnv.New64a()
			h.Write(in)
			if k := h.Sum64(); !seen[k] {
				seen[k] = true
				seeds = append(seeds, in)
			}
			win, size = nil, 0
		}
		for n := 0; n < 512 && len(seeds) < limit; n++ {
			data, info, err := f.Next()
			if err != nil {
				break
			}
			i := linkIndex(info.LinkType)
			if i < 0 {
				continue
			}
			if i != li {
				flush()
				li = i
			}
			win = append(win, append([]byte(nil), data...))
			size += len(data)
			if len(win) == 16 || size > 8<<10 {
				flush()
			}
		}
		flush()
		f.Close()
		if len(seeds) >= limit {
			break
		}
	}
	return seeds
}

func linkIndex(lt layers.LinkType) int {
	for i, x := range fuzzLinkTypes {
		if x == lt {
			return i
		}
	}
	return -1
}

// FuzzEngine feeds arbitrary packets of every supported link type through a whole engine with
// the default rules: decode, flow state, defragmentation, TCP reassembly, the application
// parsers and every detector. The engine recovers a panic and counts it; any is a failure.
func FuzzEngine(f *testing.F) {
	seen := map[uint64]bool{}
	gen, _ := filepath.Glob("../pcaps/*/*.pcap*")
	sort.Strings(gen)
	for _, s := range engineSeeds(gen, 400, seen) {
		f.Add(s)
	}
	if _, shared := testcorpus.Find(); len(shared) > 0 {
		for _, s := range engineSeeds(shared, 300, seen) {
			f.Add(s)
		}
	}
	// A few hand-made inputs for the link types no capture uses.
	for i := range fuzzLinkTypes {
		f.Add(encodeEngineInput(i, [][]byte{{0x45, 0, 0, 20}, {0x60}, {2, 0, 0, 0, 0x45}, {}}))
	}
	set := fuzzRules(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		sink := &fuzzSink{t: t}
		// A hang is a failure too: the worker dies and the fuzzer keeps the input.
		wd := time.AfterFunc(fuzzHang, func() { panic(fmt.Sprintf("FuzzEngine: one input took over %v", fuzzHang)) })
		defer wd.Stop()
		e := New(set, sink)
		pkts := parseEngineInput(in)
		feed := pusher{e: e} // through Push, as replay and the sensor feed it
		for _, p := range pkts {
			feed.push(p.data, p.info)
		}
		e.Flush()
		if e.Stats.Panics > 0 {
			t.Fatalf("engine panicked: %s", e.Stats.FirstPanic)
		}
		s := &e.Stats
		if s.Packets != uint64(len(pkts)) {
			t.Fatalf("%d packets counted, %d processed", s.Packets, len(pkts))
		}
		var sum uint64
		for _, n := range s.Alerts {
			sum += n
		}
		if sum != s.AlertsTotal || s.AlertsTotal-s.AlertsSuppressed != uint64(sink.n) {
			t.Fatalf("alerts: %d by signature, %d total, %d suppressed, %d written", sum, s.AlertsTotal, s.AlertsSuppressed, sink.n)
		}
		if r := e.Reassembler().Stats; r.HeldBytes > uint64(set.Settings.StreamMemcap) {
			t.Fatalf("reassembly holds %d bytes, memcap %d", r.HeldBytes, set.Settings.StreamMemcap)
		}
		if d := e.Defrag().Stats; d.BytesHeld > uint64(set.Settings.DefragMemcap) || d.InProgress > uint64(set.Settings.DefragMaxDatagrams) {
			t.Fatalf("defrag holds %d bytes in %d datagrams, limits %d and %d", d.BytesHeld, d.InProgress, set.Settings.DefragMemcap, set.Settings.DefragMaxDatagrams)
		}
	})
}

// TestFuzzEngineInput keeps the input layout honest: encoding then parsing gives the packets back.
func TestFuzzEngineInput(t *testing.T) {
	pkts := [][]byte{{1, 2, 3}, {}, make([]byte, 20000)}
	got := parseEngineInput(encodeEngineInput(3, pkts))
	if len(got) != 3 || string(got[0].data) != "\x01\x02\x03" || len(got[1].data) != 0 || len(got[2].data) != fuzzLenMask || got[2].info.WireLen != fuzzLenMask+1000 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, p := range got {
		if p.info.LinkType != layers.LinkTypeRaw {
			t.Fatalf("link type %v", p.info.LinkType)
		}
	}
}
