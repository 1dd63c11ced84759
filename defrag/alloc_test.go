package defrag

import (
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/decode"
)

// mixFrames is a realistic mix of fragment traffic, as Ethernet frames: IPv4 and IPv6, in
// order, reversed and shuffled, interleaved, duplicates, overlaps with the same and different
// data, a tiny first fragment, an atomic fragment, a ping of death and a datagram that never
// completes. The ping of death (45 fragments) is left out of the benchmarks' mix, where it
// would weigh more than it does on a network.
func mixFrames(pingOfDeath bool) [][]byte {
	var frames [][]byte
	group := func(h fragmenter, payload []byte, size int, order string) [][]byte {
		var g [][]byte
		c := cuts(len(payload), size)
		for _, k := range orders(len(c))[order] {
			off, n := c[k][0], c[k][1]
			g = append(g, eth(h.frag(payload, off, n, off+n < len(payload))))
		}
		return g
	}
	add := func(h fragmenter, payload []byte, size int, order string) {
		frames = append(frames, group(h, payload, size, order)...)
	}
	// Three datagrams interleaved.
	gs := [][][]byte{
		group(v4{id: 1, proto: 17}, udp(1, 2, pattern(3000, 1)), 1480, "in order"),
		group(v4{id: 2, proto: 17, opts: routerAlert}, udp(1, 2, pattern(8000, 2)), 1480, "reversed"),
		group(v4{id: 3, proto: 17}, udp(1, 2, pattern(20000, 3)), 576, "shuffled"),
	}
	for i := 0; len(gs[0])+len(gs[1])+len(gs[2]) > 0; i = (i + 1) % 3 {
		if len(gs[i]) > 0 {
			frames = append(frames, gs[i][0])
			gs[i] = gs[i][1:]
		}
	}
	add(v6{id: 4, proto: 17, ext: []ext6{hbh(0)}}, udp(1, 2, pattern(4000, 4)), 1232, "in order")
	add(v6{id: 5, proto: 17}, udp(1, 2, pattern(9000, 5)), 1232, "reversed")

	h := v4{id: 6, proto: 17}
	p := udp(1, 2, pattern(2000, 6))
	frames = append(frames,
		eth(h.frag(p, 0, 1480, true)),
		eth(h.frag(p, 0, 1480, true)),                // duplicate
		eth(h.fragData(1000, pattern(800, 9), true)), // overlap, different data, past the first
		eth(h.frag(p, 1480, 528, false)))

	h6 := v6{id: 7, proto: 6, ext: []ext6{hbh(0)}}
	p = tcp(1, 2, pattern(1000, 7))
	frames = append(frames,
		eth(h6.frag(p, 0, 8, true)), // tiny
		eth(h6.frag(p, 504, len(p)-504, false)),
		eth(h6.frag(p, 0, 512, true)), // overlaps the tiny one with the same data
		eth(h6.fragData(0, []byte("atomic"), false)))

	if pingOfDeath {
		pod := append([]byte{8, 0, 0, 0, 0, 1, 0, 1}, pattern(65600-8, 8)...)
		add(v4{id: 8, proto: 1}, pod, 1480, "in order")
	}
	frames = append(frames, eth(v4{id: 9, proto: 17}.frag(udp(1, 2, pattern(100, 9)), 0, 64, true)))
	return frames
}

func decodeAll(frames [][]byte) []decode.Packet {
	pkts := make([]decode.Packet, len(frames))
	for i, f := range frames {
		pkts[i].Decode(layers.LinkTypeEthernet, f, t0, len(f))
	}
	return pkts
}

// TestAddAllocs: Add allocates nothing once New has run, under the default limits and under
// constant eviction (slots and memcap both too small for the mix).
func TestAddAllocs(t *testing.T) {
	frames := mixFrames(true)
	for _, cfg := range []Config{DefaultConfig, {MaxDatagrams: 2, MaxBytes: 64 << 10, Timeout: 5000}} {
		d := New(cfg)
		var p decode.Packet
		ts := t0
		allocs := testing.AllocsPerRun(20, func() {
			for _, f := range frames {
				p.Decode(layers.LinkTypeEthernet, f, ts, len(f))
				if out := d.Add(&p); out != nil {
					p.DecodeDatagram(out)
				}
				ts += 100
			}
			d.Expire(ts)
		})
		if allocs != 0 {
			t.Errorf("%+v: %v allocations per run of %d fragments", cfg, allocs, len(frames))
		}
		s := d.Stats
		t.Logf("%+v: %+v", cfg, s)
		if s.Reassembled == 0 || s.Overlaps == 0 || s.OverlapsDiff == 0 || s.Tiny == 0 || s.TooLarge == 0 {
			t.Errorf("%+v: the mix did not exercise every path: %+v", cfg, s)
		}
		if cfg.MaxDatagrams == 2 && (s.EvictedFull == 0 || s.MemcapDrops == 0 || s.Timeouts == 0) {
			t.Errorf("%+v: no eviction: %+v", cfg, s)
		}
	}
}

// BenchmarkAdd measures Add alone (the frames are decoded beforehand) over the mix; ns/fragment
// is the figure that matters. Each round starts 31 s of packet time after the previous one, so
// what a round leaves unfinished times out during the next, as on a network.
func BenchmarkAdd(b *testing.B) {
	frames := mixFrames(false)
	pkts := decodeAll(frames)
	var size int64
	for _, f := range frames {
		size += int64(len(f))
	}
	d := New(DefaultConfig)
	var p decode.Packet
	ts := t0
	b.ReportAllocs()
	b.SetBytes(size)
	for b.Loop() {
		ts += 31e9
		for i := range pkts {
			p = pkts[i]
			p.TS = ts
			d.Add(&p)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pkts)), "ns/fragment")
	b.ReportMetric(float64(size)/float64(len(frames)), "bytes/fragment")
}

// BenchmarkDecodeAdd is the engine's path: decode the frame, add it, decode what completes.
func BenchmarkDecodeAdd(b *testing.B) {
	frames := mixFrames(false)
	d := New(DefaultConfig)
	var p decode.Packet
	ts := t0
	b.ReportAllocs()
	for b.Loop() {
		ts += 31e9
		for _, f := range frames {
			p.Decode(layers.LinkTypeEthernet, f, ts, len(f))
			if out := d.Add(&p); out != nil {
				p.DecodeDatagram(out)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(frames)), "ns/fragment")
}
