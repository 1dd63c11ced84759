package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// tcp4 writes an Ethernet/IPv4/TCP frame into b (which must hold 54+n bytes) and returns it.
// Checksums are left zero: the engine does not verify them.
func tcp4(b []byte, src, dst uint32, sport, dport uint16, flags byte, seq, ack uint32, n int) []byte {
	b = b[:54+n]
	clear(b[:54])
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], uint16(40+n))
	binary.BigEndian.PutUint32(ip[12:], src)
	binary.BigEndian.PutUint32(ip[16:], dst)
	tc := b[34:54]
	binary.BigEndian.PutUint16(tc[0:], sport)
	binary.BigEndian.PutUint16(tc[2:], dport)
	binary.BigEndian.PutUint32(tc[4:], seq)
	binary.BigEndian.PutUint32(tc[8:], ack)
	tc[12], tc[13] = 5<<4, flags
	binary.BigEndian.PutUint16(tc[14:], 8192)
	return b
}

const (
	fSYN = 0x02
	fACK = 0x10
	fPSH = 0x08
	fFIN = 0x01
)

func info(ts int64, frame []byte) capture.Info {
	return capture.Info{Timestamp: ts, CapLen: len(frame), WireLen: len(frame), LinkType: layers.LinkTypeEthernet}
}

// A flood of SYNs from random sources must keep the flow table at its cap, evicting new flows
// (with counters) instead of growing, allocate nothing while doing it, and keep at least half the
// engine's normal packet rate (attackRun: memory against the configured budget, rates).
func TestSYNFloodStaysWithinCaps(t *testing.T) {
	n := 10_000_000
	if testing.Short() {
		n = 500_000
	}
	set := defaultRules(t)
	r := newAttackRun(t, set)
	e := r.e
	fs := &e.Flows().Stats
	created0, evicted0 := fs.Created, fs.Evicted
	base := r.lastTS + 1e9
	var x xorshift = 2463534242 // random sources and ports without allocation
	r.phase(n, func(i int, frame []byte) ([]byte, int64) {
		x.next()
		return tcp4(frame, uint32(x), 0xc0000201, uint16(x>>7), 80, fSYN, uint32(x), 0, 0), base + int64(i)*1000 // 1 M SYN/s of packet time
	})
	evicted := fs.Evicted[flow.EvictPressure] + fs.Evicted[flow.EvictTimeoutNew] - evicted0[flow.EvictPressure] - evicted0[flow.EvictTimeoutNew]
	t.Logf("%d SYNs: flows active %d (flow.max %d), created %d, evicted %v (pressure + timeout_new during the flood %d), no room %d",
		n, fs.Active, set.Settings.FlowMax, fs.Created-created0, fs.Evicted, evicted, fs.NoRoom)
	if fs.Active > uint64(set.Settings.FlowMax) {
		t.Errorf("%d flows active, cap %d", fs.Active, set.Settings.FlowMax)
	}
	if evicted < uint64(n-set.Settings.FlowMax) {
		t.Errorf("evictions %v do not account for the flood", fs.Evicted)
	}
	r.finish("SYN flood")
}

// BenchmarkManyFlows replays n concurrent TCP connections, interleaved so that every one is
// open at once (handshake, a request, a response, FIN both ways), through the whole engine.
// Frames are written into one buffer as they are needed (a 1M-flow capture would not fit in
// memory); that costs the same few nanoseconds at every n, so the scaling is the engine's.
func BenchmarkManyFlows(b *testing.B) {
	for _, n := range []int{1000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			set := defaultRules(b)
			set.Settings.FlowMax = n + n/4
			e := New(set, alert.NewEVE(io.Discard))
			sc := withStreamReader(e)
			// Two frame buffers taken in turn: Push keeps the previous frame until the next
			// returns, as a capture file or a live source does.
			bufs := [2][]byte{make([]byte, 54+1200), make([]byte, 54+1200)}
			total := n * len(flowSteps)
			i, ts := 0, int64(0)
			push := func() {
				f := flowFrame(bufs[i&1], n, i%total)
				e.Push(f, info(ts, f))
				ts += 1000
				i++
			}
			// One untimed pass first (b.Loop restarts the timer): the first touch of each flow's
			// memory is a page fault, paid once in a sensor's life, not per packet.
			for range total {
				push()
			}
			warm := sc.bytes
			b.ReportAllocs()
			for b.Loop() {
				push()
			}
			e.Flush()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
			if b.N >= total && sc.bytes == warm {
				b.Fatal("a whole pass reassembled no stream bytes")
			}
		})
	}
}

// streamCounter is a stream detector that reads every TCP connection and counts its bytes: it
// puts reassembly on the measured path until real application-layer detectors do.
type streamCounter struct{ bytes, gaps uint64 }

func (c *streamCounter) Inspect(*detectors.Input, *detectors.Emitter) {}
func (c *streamCounter) WantStream(*detectors.Input) bool             { return true }
func (c *streamCounter) StreamGap(_ *detectors.Input, _ int, n uint32, _ *detectors.Emitter) {
	c.gaps += uint64(n)
}
func (c *streamCounter) StreamData(_ *detectors.Input, _ int, b []byte, _ *detectors.Emitter) {
	c.bytes += uint64(len(b))
}

func withStreamReader(e *Engine) *streamCounter {
	c := &streamCounter{}
	e.dets = append(e.dets, detectors.Instance{Name: "stream-counter", Interest: decode.LayerTCP, Detector: c})
	e.streamDets = append(e.streamDets, c)
	return c
}

var flowSteps = []struct {
	client bool
	flags  byte
	n      int
}{{true, fSYN, 0}, {false, fSYN | fACK, 0}, {true, fACK, 0}, {true, fPSH | fACK, 200}, {false, fPSH | fACK, 1200}, {true, fACK, 0}, {true, fFIN | fACK, 0}, {false, fFIN | fACK, 0}}

// flowFrame writes packet i of n interleaved connections: step i/n of connection i%n.
func flowFrame(buf []byte, n, i int) []byte {
	st, c := flowSteps[i/n], i%n
	cli, srv := 0x0a000000|uint32(c), uint32(0xc0000201+c%16)
	cport := uint16(1024 + c%60000)
	cseq, sseq := uint32(1001), uint32(5001)
	if st.client {
		return tcp4(buf, cli, srv, cport, 80, st.flags, cseq, sseq, st.n)
	}
	return tcp4(buf, srv, cli, 80, cport, st.flags, sseq, cseq, st.n)
}

// A flood of fragments that never complete must keep defragmentation within its datagram and
// byte caps, dropping the oldest datagrams with counters, allocate nothing, and keep at least half
// the engine's normal packet rate. Run against the shipped caps (defrag.max_datagrams,
// defrag.memcap), which the flood exceeds a hundredfold.
func TestFragmentFloodStaysWithinCaps(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	set := defaultRules(t)
	r := newAttackRun(t, set)
	e := r.e
	ds := &e.Defrag().Stats
	before := *ds
	base := r.lastTS + 1e9
	var x xorshift = 88172645
	var maxHeld, maxInProgress uint64
	r.phase(n, func(i int, frame []byte) ([]byte, int64) {
		x.next()
		if i&1023 == 0 {
			maxHeld, maxInProgress = max(maxHeld, ds.BytesHeld), max(maxInProgress, ds.InProgress)
		}
		f := frame[:14+20+8*(1+int(x%64))] // 8..512 bytes of payload
		clear(f[:34])
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:34]
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
		binary.BigEndian.PutUint16(ip[4:], uint16(x))                  // id
		binary.BigEndian.PutUint16(ip[6:], 0x2000|uint16(x>>20)&0x3ff) // MF, some offset: never complete
		binary.BigEndian.PutUint32(ip[12:], uint32(x))
		binary.BigEndian.PutUint32(ip[16:], 0xc0000201)
		return f, base + int64(i)*1000
	})
	maxHeld, maxInProgress = max(maxHeld, ds.BytesHeld), max(maxInProgress, ds.InProgress)
	st := &set.Settings
	t.Logf("%d fragments: %d datagrams in progress (max %d, cap %d), %d bytes held (max %d, cap %d), evicted %d, memcap drops %d, timeouts %d",
		n, ds.InProgress, maxInProgress, st.DefragMaxDatagrams, ds.BytesHeld, maxHeld, st.DefragMemcap, ds.EvictedFull-before.EvictedFull, ds.MemcapDrops-before.MemcapDrops, ds.Timeouts-before.Timeouts)
	if maxInProgress > uint64(st.DefragMaxDatagrams) || maxHeld > uint64(st.DefragMemcap) {
		t.Errorf("caps exceeded: %+v (max in progress %d, max held %d)", *ds, maxInProgress, maxHeld)
	}
	if ds.EvictedFull+ds.MemcapDrops+ds.Timeouts == before.EvictedFull+before.MemcapDrops+before.Timeouts || ds.Fragments-before.Fragments != uint64(n) {
		t.Errorf("the flood was not evicted with counters: %+v", *ds)
	}
	r.finish("fragment flood")
}
