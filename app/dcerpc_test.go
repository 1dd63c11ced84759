package app

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// rpcCalls keeps a copy of each DCE/RPC request it is shown.
type rpcCalls struct{ calls []detectors.RPCCall }

func (c *rpcCalls) Inspect(*detectors.Input, *detectors.Emitter) {}
func (c *rpcCalls) InspectRPC(_ *detectors.Input, call *detectors.RPCCall, _ *detectors.Emitter) {
	cp := *call
	cp.Stub = append([]byte(nil), call.Stub...)
	c.calls = append(c.calls, cp)
}

var testIface = decode.MustUUID("5a7b91f8-ff00-11d0-a9b2-00c04fb6e6fc")

// rpcPDU is a little-endian connection-oriented PDU around body.
func rpcPDU(ptype, flags uint8, call uint32, body []byte) []byte {
	h := []byte{5, 0, ptype, flags, 0x10, 0, 0, 0}
	h = binary.LittleEndian.AppendUint16(h, uint16(16+len(body)))
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = binary.LittleEndian.AppendUint32(h, call)
	return append(h, body...)
}

// rpcBindPDU binds context id to testIface 1.0.
func rpcBindPDU(id uint16) []byte {
	b := []byte{0xb0, 0x16, 0xb0, 0x16, 0, 0, 0, 0, 1, 0, 0, 0}
	b = binary.LittleEndian.AppendUint16(b, id)
	b = append(b, 1, 0)
	b = append(b, 0xf8, 0x91, 0x7b, 0x5a, 0x00, 0xff, 0xd0, 0x11, 0xa9, 0xb2, 0x00, 0xc0, 0x4f, 0xb6, 0xe6, 0xfc)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = append(b, make([]byte, 20)...) // transfer syntax (not read)
	return rpcPDU(decode.RPCBind, 3, 1, b)
}

// rpcReqPDU is one fragment of a request for opnum 7 on context ctx.
func rpcReqPDU(flags uint8, call uint32, ctx uint16, stub []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = binary.LittleEndian.AppendUint16(b, ctx)
	b = binary.LittleEndian.AppendUint16(b, 7)
	return rpcPDU(decode.RPCRequest, flags, call, append(b, stub...))
}

func rpcFlow(t *testing.T, l *Layer, tb *flow.Table, i int, port uint16) *detectors.Input {
	p := &decode.Packet{Src: netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("192.0.2.1"),
		SrcPort: 50000, DstPort: port, Proto: 6, Layers: decode.LayerTCP}
	f, dir, _ := tb.Lookup(p, true)
	in := &detectors.Input{P: p, Flow: f, Dir: dir, Flows: tb}
	if !l.WantStream(in) {
		t.Fatalf("port %d not claimed", port)
	}
	return in
}

func newRPCLayer(t *testing.T) (*Layer, *flow.Table, *rpcCalls) {
	det := &rpcCalls{}
	tb := flow.New(flow.Config{Max: 200, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	return New(tb.Max(), []detectors.Instance{{Name: "rpc", Detector: det}}), tb, det
}

func fill(n int, c byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestRPCFramingAndJoin(t *testing.T) {
	l, tb, det := newRPCLayer(t)
	var out detectors.Emitter
	stream := rpcBindPDU(2)
	stream = append(stream, rpcReqPDU(3, 9, 2, fill(40, 'a'))...)
	stream = append(stream, rpcReqPDU(1, 10, 2, fill(100, 'b'))...)
	stream = append(stream, rpcReqPDU(0, 10, 2, fill(100, 'c'))...)
	stream = append(stream, rpcReqPDU(2, 10, 2, fill(50, 'd'))...)

	for _, step := range []int{len(stream), 1, 7, 100} {
		det.calls = nil
		in := rpcFlow(t, l, tb, step, portEPM)
		for b := stream; len(b) > 0; {
			n := min(step, len(b))
			l.StreamData(in, 0, b[:n], &out)
			b = b[n:]
		}
		if len(det.calls) != 2 {
			t.Fatalf("step %d: %d calls, want 2", step, len(det.calls))
		}
		c0, c1 := det.calls[0], det.calls[1]
		if c0.Iface != testIface || c0.Major != 1 || c0.Opnum != 7 || c0.Frags != 1 || string(c0.Stub) != string(fill(40, 'a')) || !c0.Little {
			t.Errorf("step %d: first call %+v", step, c0)
		}
		want := string(fill(100, 'b')) + string(fill(100, 'c')) + string(fill(50, 'd'))
		if c1.Frags != 3 || string(c1.Stub) != want || c1.Truncated {
			t.Errorf("step %d: joined call has %d frags, %d bytes, truncated %v", step, c1.Frags, len(c1.Stub), c1.Truncated)
		}
		if len(in.P.Anomalies()) != 0 {
			t.Errorf("step %d: anomalies %v", step, in.P.Anomalies())
		}
		l.Release(in.Flow)
		if len(l.rpcPool.free) != rpcBuffers || len(l.rpcFreeCtx) != rpcCtxPools {
			t.Errorf("step %d: %d buffers, %d tables free after release", step, len(l.rpcPool.free), len(l.rpcFreeCtx))
		}
	}
}

func TestRPCJoinOverflow(t *testing.T) {
	l, tb, det := newRPCLayer(t)
	var out detectors.Emitter
	in := rpcFlow(t, l, tb, 0, portEPM)
	l.StreamData(in, 0, rpcBindPDU(0), &out)
	for i, flags := range []uint8{1, 0, 0, 2} {
		l.StreamData(in, 0, rpcReqPDU(flags, 5, 0, fill(30000, byte('a'+i))), &out)
	}
	if len(det.calls) != 1 || !det.calls[0].Truncated || len(det.calls[0].Stub) != rpcBufSize || det.calls[0].Frags != 4 {
		t.Fatalf("calls %d, want one truncated at %d", len(det.calls), rpcBufSize)
	}
	if !in.P.HasAnomaly(decode.RPCFragJoinOverflow) {
		t.Error("join overflow not recorded")
	}
}

func TestRPCBadFraming(t *testing.T) {
	l, tb, det := newRPCLayer(t)
	var out detectors.Emitter

	// frag_length below the header: the connection is given up.
	in := rpcFlow(t, l, tb, 0, portEPM)
	bad := rpcPDU(decode.RPCRequest, 3, 1, nil)
	bad[8] = 8
	l.StreamData(in, 0, bad, &out)
	if !in.P.HasAnomaly(decode.RPCFragLengthInvalid) || !l.rpc[in.Flow.Slot()].dead {
		t.Error("frag_length 8 did not kill the framing")
	}

	// A request on a context never bound.
	in = rpcFlow(t, l, tb, 1, portEPM)
	l.StreamData(in, 0, rpcReqPDU(3, 1, 4, fill(8, 'x')), &out)
	if !in.P.HasAnomaly(decode.RPCContextUnknown) || len(det.calls) != 0 {
		t.Error("unknown context not recorded")
	}

	// Another port: parsed when the client starts like DCE/RPC, dropped otherwise.
	in = rpcFlow(t, l, tb, 2, 8080)
	l.StreamData(in, 0, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), &out)
	if !l.rpc[in.Flow.Slot()].dead {
		t.Error("HTTP parsed as DCE/RPC")
	}
	in = rpcFlow(t, l, tb, 3, 1025)
	l.StreamData(in, 0, append(rpcBindPDU(0), rpcReqPDU(3, 2, 0, fill(8, 'y'))...), &out)
	if len(det.calls) != 1 {
		t.Errorf("%d calls on a DCE/RPC connection to another port, want 1", len(det.calls))
	}
}

func TestRPCGap(t *testing.T) {
	l, tb, det := newRPCLayer(t)
	var out detectors.Emitter
	in := rpcFlow(t, l, tb, 0, portEPM)
	l.StreamData(in, 0, rpcBindPDU(0), &out)
	first := rpcReqPDU(1, 3, 0, fill(100, 'a'))
	l.StreamData(in, 0, first[:50], &out)
	l.StreamGap(in, 0, 10, &out) // inside the PDU: the next one starts where expected
	l.StreamData(in, 0, first[60:], &out)
	l.StreamData(in, 0, rpcReqPDU(2, 3, 0, fill(10, 'b')), &out) // its first fragment was lost
	l.StreamData(in, 0, rpcReqPDU(3, 4, 0, fill(10, 'c')), &out)
	if len(det.calls) != 1 || det.calls[0].Stub[0] != 'c' {
		t.Fatalf("calls after a gap inside a PDU: %d", len(det.calls))
	}
	// A gap across a PDU boundary: parsing resumes only at bytes that look like a header.
	l.StreamGap(in, 0, 1000, &out)
	l.StreamData(in, 0, rpcReqPDU(3, 5, 0, fill(10, 'd')), &out)
	l.StreamGap(in, 0, 1000, &out)
	l.StreamData(in, 0, fill(40, 'z'), &out)
	l.StreamData(in, 0, rpcReqPDU(3, 6, 0, fill(10, 'e')), &out)
	if len(det.calls) != 2 || det.calls[1].Stub[0] != 'd' || !l.rpc[in.Flow.Slot()].dead {
		t.Errorf("calls after gaps: %d", len(det.calls))
	}
	if len(l.rpcPool.free) != rpcBuffers {
		t.Errorf("%d of %d buffers free", len(l.rpcPool.free), rpcBuffers)
	}
}

func TestRPCPoolExhausted(t *testing.T) {
	l, tb, det := newRPCLayer(t)
	var out detectors.Emitter
	var held []int32
	for b := l.rpcPool.get(); b >= 0; b = l.rpcPool.get() {
		held = append(held, b)
	}
	in := rpcFlow(t, l, tb, 0, portEPM)
	l.StreamData(in, 0, rpcBindPDU(0), &out)                    // whole: needs no buffer
	l.StreamData(in, 0, rpcReqPDU(3, 2, 0, fill(8, 'a')), &out) // likewise
	req := rpcReqPDU(3, 3, 0, fill(8, 'b'))
	l.StreamData(in, 0, req[:20], &out)
	l.StreamData(in, 0, req[20:], &out)
	if len(det.calls) != 1 || l.Stats.BufferDrops != 1 {
		t.Errorf("%d calls, %d drops; want 1 and 1", len(det.calls), l.Stats.BufferDrops)
	}
	for _, b := range held {
		l.rpcPool.put(b)
	}
}

// rpcNop looks at each call without keeping anything.
type rpcNop struct{ n int }

func (c *rpcNop) Inspect(*detectors.Input, *detectors.Emitter) {}
func (c *rpcNop) InspectRPC(_ *detectors.Input, call *detectors.RPCCall, _ *detectors.Emitter) {
	c.n += len(call.Stub)
}

func TestRPCDoesNotAllocate(t *testing.T) {
	det := &rpcNop{}
	tb := flow.New(flow.Config{Max: 10, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	l := New(tb.Max(), []detectors.Instance{{Name: "rpc", Detector: det}})
	var out detectors.Emitter
	stream := rpcBindPDU(0)
	stream = append(stream, rpcReqPDU(1, 2, 0, fill(300, 'a'))...)
	stream = append(stream, rpcReqPDU(2, 2, 0, fill(300, 'b'))...)
	stream = append(stream, rpcReqPDU(3, 3, 9, fill(30, 'c'))...)
	in := rpcFlow(t, l, tb, 0, 1025)
	allocs := testing.AllocsPerRun(50, func() {
		l.WantStream(in)
		for b := stream; len(b) > 0; b = b[min(7, len(b)):] {
			l.StreamData(in, 0, b[:min(7, len(b))], &out)
		}
		l.StreamGap(in, 0, 5, &out)
		l.Release(in.Flow)
	})
	if allocs != 0 || det.n == 0 {
		t.Errorf("%v allocations per connection (%d stub bytes seen)", allocs, det.n)
	}
}
