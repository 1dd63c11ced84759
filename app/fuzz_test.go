package app

import (
	"net/netip"
	"reflect"
	"testing"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// recorder keeps what every application detector interface was shown, as comparable values.
type recorder struct{ events []string }

func (r *recorder) Inspect(*detectors.Input, *detectors.Emitter) {}
func (r *recorder) InspectSMB(_ *detectors.Input, n *decode.SMBNegotiate, msg []byte, _ *detectors.Emitter) {
	r.events = append(r.events, "smb "+string(msg))
}
func (r *recorder) InspectRPC(_ *detectors.Input, c *detectors.RPCCall, _ *detectors.Emitter) {
	r.events = append(r.events, "rpc "+c.Iface.String()+string(rune(c.Opnum))+string(c.Stub))
}
func (r *recorder) InspectNNTP(_ *detectors.Input, c *decode.NNTPCommand, _ *detectors.Emitter) {
	if c.Complete {
		r.events = append(r.events, "nntp "+c.Verb.String()+string(rune(c.ArgLen)))
	}
}

// feed runs one client stream through a fresh layer, in pieces of the given sizes (cycled),
// and returns what the detectors saw; it checks every buffer and table is back after Release.
// The layer is built once and reused: Release must leave it as good as new, which is part of
// what is tested (and its pools are too big to allocate per input).
var (
	fuzzRec   = &recorder{}
	fuzzTable = flow.New(flow.Config{Max: 4, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	fuzzLayer = New(fuzzTable.Max(), []detectors.Instance{{Name: "rec", Detector: fuzzRec}})
)

func feed(t *testing.T, port uint16, stream []byte, pieces []byte) []string {
	rec, tb, l := fuzzRec, fuzzTable, fuzzLayer
	rec.events = nil
	p := &decode.Packet{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: 50000, DstPort: port, Proto: 6, Layers: decode.LayerTCP}
	f, dir, _ := tb.Lookup(p, true)
	in := &detectors.Input{P: p, Flow: f, Dir: dir, Flows: tb}
	var out detectors.Emitter
	if l.WantStream(in) {
		for i := 0; len(stream) > 0; i++ {
			n := len(stream)
			if len(pieces) > 0 {
				n = min(n, 1+int(pieces[i%len(pieces)]))
			}
			l.StreamData(in, 0, stream[:n], &out)
			stream = stream[n:]
		}
	}
	l.Release(f)
	if len(l.pool.free) != smbBuffers || len(l.rpcPool.free) != rpcBuffers || len(l.rpcFreeCtx) != rpcCtxPools {
		t.Fatalf("resources not returned: smb %d rpc %d ctx %d", len(l.pool.free), len(l.rpcPool.free), len(l.rpcFreeCtx))
	}
	return rec.events
}

// FuzzStreams feeds arbitrary client streams to the SMB, DCE/RPC and NNTP framing: no panic,
// every buffer returned, and the same messages whatever the segmentation.
func FuzzStreams(f *testing.F) {
	f.Add(uint8(0), negotiate(), []byte{0})
	f.Add(uint8(1), append(rpcBindPDU(0), rpcReqPDU(3, 2, 0, fill(100, 'x'))...), []byte{6, 1})
	f.Add(uint8(1), append(rpcBindPDU(0), append(rpcReqPDU(1, 2, 0, fill(40, 'a')), rpcReqPDU(2, 2, 0, fill(40, 'b'))...)...), []byte{15})
	f.Add(uint8(2), []byte("GROUP a.b\r\nXPAT Subject 1-9 *x*\r\nQUIT\r\n"), []byte{2, 0})
	f.Add(uint8(3), append(rpcBindPDU(0), rpcReqPDU(3, 2, 0, fill(10, 'y'))...), []byte{})
	f.Fuzz(func(t *testing.T, proto uint8, stream, pieces []byte) {
		port := [...]uint16{445, 135, 119, 4444}[proto%4] // 4444: DCE/RPC by content
		whole := feed(t, port, stream, nil)
		split := feed(t, port, stream, pieces)
		if !reflect.DeepEqual(whole, split) {
			t.Fatalf("port %d: whole %q, in pieces %q", port, whole, split)
		}
	})
}
