package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
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

// rssKiB reads a /proc/self/status field (VmRSS, VmHWM) in KiB; 0 where /proc is missing.
func rssKiB(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field+":") {
			v, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return v
		}
	}
	return 0
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtime.GC()
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// A flood of SYNs from random sources must keep the flow table at its cap, evicting new flows
// (with counters) instead of growing, and allocate nothing while doing it.
func TestSYNFloodStaysWithinCaps(t *testing.T) {
	n := 5_000_000
	if testing.Short() {
		n = 500_000
	}
	set := defaultRules(t)
	set.Settings.FlowMax = 100_000
	e := New(set, alert.NewEVE(io.Discard))
	heapBefore := heapBytes()
	frame := make([]byte, 64)
	var x uint32 = 2463534242
	for i := 0; i < n; i++ {
		x ^= x << 13 // xorshift: random sources and ports without allocation
		x ^= x >> 17
		x ^= x << 5
		f := tcp4(frame, x, 0xc0000201, uint16(x>>7), 80, fSYN, x, 0, 0)
		e.Process(f, info(int64(i)*1000, f)) // 1 M SYN/s of packet time
	}
	fs := &e.Flows().Stats
	heapAfter := heapBytes()
	t.Logf("%d SYNs: flows active %d (cap %d), created %d, evicted %v; heap grew %d KiB; VmRSS %d KiB, VmHWM %d KiB",
		n, fs.Active, set.Settings.FlowMax, fs.Created, fs.Evicted, (int64(heapAfter)-int64(heapBefore))>>10, rssKiB("VmRSS"), rssKiB("VmHWM"))
	if fs.Active > uint64(set.Settings.FlowMax) {
		t.Errorf("%d flows active, cap %d", fs.Active, set.Settings.FlowMax)
	}
	if fs.Evicted[flow.EvictPressure]+fs.Evicted[flow.EvictTimeoutNew] < uint64(n-set.Settings.FlowMax) {
		t.Errorf("evictions %v do not account for the flood", fs.Evicted)
	}
	if heapAfter > heapBefore+1<<20 {
		t.Errorf("heap grew by %d bytes during the flood", heapAfter-heapBefore)
	}
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
			buf := make([]byte, 54+1200)
			total := n * len(flowSteps)
			b.ReportAllocs()
			i, ts := 0, int64(0)
			for b.Loop() {
				f := flowFrame(buf, n, i)
				e.Process(f, info(ts, f))
				ts += 1000
				if i++; i == total {
					i = 0
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
			if b.N >= total && sc.bytes == 0 {
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
// byte caps, dropping the oldest datagrams with counters, and allocate nothing.
func TestFragmentFloodStaysWithinCaps(t *testing.T) {
	n := 2_000_000
	if testing.Short() {
		n = 200_000
	}
	set := defaultRules(t)
	set.Settings.DefragMaxDatagrams = 1000
	set.Settings.DefragMemcap = 1 << 20
	e := New(set, alert.NewEVE(io.Discard))
	heapBefore := heapBytes()
	frame := make([]byte, 14+20+512)
	var x uint32 = 88172645
	for i := 0; i < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		f := frame[:14+20+8*(1+int(x%64))] // 8..512 bytes of payload
		clear(f[:34])
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:34]
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(len(f)-14))
		binary.BigEndian.PutUint16(ip[4:], uint16(x))                  // id
		binary.BigEndian.PutUint16(ip[6:], 0x2000|uint16(x>>20)&0x3ff) // MF, some offset: never complete
		binary.BigEndian.PutUint32(ip[12:], x)
		binary.BigEndian.PutUint32(ip[16:], 0xc0000201)
		e.Process(f, info(int64(i)*1000, f))
	}
	ds := &e.Defrag().Stats
	heapAfter := heapBytes()
	t.Logf("%d fragments: %d datagrams in progress (cap %d), %d bytes held (cap %d), evicted %d, memcap drops %d, timeouts %d; heap grew %d KiB; VmHWM %d KiB",
		n, ds.InProgress, set.Settings.DefragMaxDatagrams, ds.BytesHeld, set.Settings.DefragMemcap, ds.EvictedFull, ds.MemcapDrops, ds.Timeouts,
		(int64(heapAfter)-int64(heapBefore))>>10, rssKiB("VmHWM"))
	if ds.InProgress > uint64(set.Settings.DefragMaxDatagrams) || ds.BytesHeld > uint64(set.Settings.DefragMemcap) {
		t.Errorf("caps exceeded: %+v", *ds)
	}
	if ds.EvictedFull+ds.MemcapDrops+ds.Timeouts == 0 || ds.Fragments != uint64(n) {
		t.Errorf("the flood was not evicted with counters: %+v", *ds)
	}
	if heapAfter > heapBefore+1<<20 {
		t.Errorf("heap grew by %d bytes during the flood", heapAfter-heapBefore)
	}
}
