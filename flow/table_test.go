package flow

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/ids-sensor/ids/decode"
)

// pkt fills a decoded packet by hand: flow code only reads these fields.
func pkt(src, dst string, sport, dport uint16, proto uint8, ts int64) *decode.Packet {
	p := &decode.Packet{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport, Proto: proto, TS: ts}
	p.Layers = decode.LayerUDP
	if proto == 6 {
		p.Layers = decode.LayerTCP
	}
	return p
}

func TestLookupBothDirections(t *testing.T) {
	tb := New(Config{Max: 8, TimeoutNew: 30e9, TimeoutEst: 600e9, TimeoutDone: 10e9})
	f, dir, created := tb.Lookup(pkt("192.0.2.9", "192.0.2.1", 5000, 53, 17, 1), true)
	if f == nil || dir != 0 || !created {
		t.Fatalf("first packet: %v %d %v", f, dir, created)
	}
	g, dir, created := tb.Lookup(pkt("192.0.2.1", "192.0.2.9", 53, 5000, 17, 2), true)
	if g != f || dir != 1 || created {
		t.Fatalf("reply: same flow %v, dir %d, created %v", g == f, dir, created)
	}
	if h, d := tb.Find(netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.1"), 5000, 53, 17, [decode.MaxVLANs]uint16{}, 0); h != f || d != 0 {
		t.Errorf("Find: %v dir %d", h == f, d)
	}
	// Other VLAN, other protocol, other port: other flows.
	vp := pkt("192.0.2.9", "192.0.2.1", 5000, 53, 17, 3)
	vp.VLAN[0], vp.NumVLAN = 100, 1
	for _, p := range []*decode.Packet{vp, pkt("192.0.2.9", "192.0.2.1", 5000, 53, 6, 3), pkt("192.0.2.9", "192.0.2.1", 5001, 53, 17, 3)} {
		if h, _, _ := tb.Lookup(p, true); h == f {
			t.Errorf("%v shares a flow with the first", p.VLAN)
		}
	}
	if tb.Stats.Created != 4 || tb.Stats.Active != 4 {
		t.Errorf("stats %+v", tb.Stats)
	}
	// Same key, same start: same id, on any machine; a later start: another id.
	k, _ := KeyOf(pkt("192.0.2.1", "192.0.2.9", 53, 5000, 17, 0))
	if f.ID() != k.stableID(1) || f.ID() == k.stableID(2) || f.ID() >= 1<<53 {
		t.Errorf("id %d", f.ID())
	}
}

// The index must agree with a map under heavy churn: inserts, evictions by pressure and by
// timeout, with colliding probe runs (a small table).
func TestIndexChurnAgainstMap(t *testing.T) {
	const max = 64
	tb := New(Config{Max: max, TimeoutNew: 80, TimeoutEst: 80, TimeoutDone: 80})
	rng := rand.New(rand.NewPCG(1, 2))
	for ts := int64(1); ts < 200000; ts++ {
		p := pkt(fmt.Sprintf("10.0.%d.%d", rng.IntN(4), rng.IntN(50)), "192.0.2.1", uint16(rng.IntN(3)), 80, 17, ts)
		tb.Lookup(p, true)
		if ts%997 != 0 {
			continue
		}
		// Every live flow must be findable, and nothing else.
		live := 0
		for i := range tb.flows {
			f := &tb.flows[i]
			if slot := tb.find(&f.Key, f.hash); slot == int32(i) {
				live++
			}
		}
		if uint64(live) != tb.Stats.Active || live+len(tb.free) != max {
			t.Fatalf("t=%d: %d findable, %d active, %d free", ts, live, tb.Stats.Active, len(tb.free))
		}
	}
	if tb.Stats.Evicted[EvictPressure] == 0 || tb.Stats.Evicted[EvictTimeoutNew] == 0 {
		t.Errorf("churn did not exercise both evictions: %+v", tb.Stats.Evicted)
	}
}

func TestPressureEvictsNewFlowsFirst(t *testing.T) {
	tb := New(Config{Max: 3, TimeoutNew: 1e12, TimeoutEst: 1e12, TimeoutDone: 1e12})
	est, _, _ := tb.Lookup(pkt("192.0.2.1", "192.0.2.2", 1, 2, 17, 1), true)
	tb.SetState(est, StateEstablished)
	done, _, _ := tb.Lookup(pkt("192.0.2.1", "192.0.2.3", 1, 2, 17, 2), true)
	tb.SetState(done, StateDone)
	tb.Lookup(pkt("192.0.2.1", "192.0.2.4", 1, 2, 17, 3), true) // new
	// A flood of new flows: each pushes out the previous new one, never the others.
	for i := 0; i < 100; i++ {
		tb.Lookup(pkt("198.51.100.1", "192.0.2.9", uint16(i), 80, 17, int64(10+i)), true)
	}
	if f, _ := tb.Find(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), 1, 2, 17, [4]uint16{}, 0); f == nil {
		t.Error("the established flow was evicted by a flood")
	}
	if f, _ := tb.Find(netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.3"), 1, 2, 17, [4]uint16{}, 0); f == nil {
		t.Error("the closed flow was evicted before new ones")
	}
	if tb.Stats.Evicted[EvictPressure] != 100 || tb.Stats.Active != 3 {
		t.Errorf("stats %+v", tb.Stats)
	}
}

func TestTimeoutsByState(t *testing.T) {
	tb := New(Config{Max: 16, TimeoutNew: 10, TimeoutEst: 100, TimeoutDone: 5})
	n, _, _ := tb.Lookup(pkt("192.0.2.1", "192.0.2.2", 1, 2, 17, 0), true)
	e, _, _ := tb.Lookup(pkt("192.0.2.1", "192.0.2.3", 1, 2, 17, 0), true)
	d, _, _ := tb.Lookup(pkt("192.0.2.1", "192.0.2.4", 1, 2, 17, 0), true)
	tb.SetState(e, StateEstablished)
	tb.SetState(d, StateDone)
	_ = n
	tb.ExpireAll(8) // done (5) expires
	if tb.Stats.Evicted != [NumEvictReasons]uint64{0, 0, 1, 0} {
		t.Errorf("at 8: %v", tb.Stats.Evicted)
	}
	tb.ExpireAll(50) // new (10) expires
	if tb.Stats.Evicted != [NumEvictReasons]uint64{1, 0, 1, 0} {
		t.Errorf("at 50: %v", tb.Stats.Evicted)
	}
	tb.ExpireAll(101)
	if tb.Stats.Evicted != [NumEvictReasons]uint64{1, 1, 1, 0} || tb.Stats.Active != 0 {
		t.Errorf("at 101: %v active %d", tb.Stats.Evicted, tb.Stats.Active)
	}
}

// A packet never pays for more than maxExpirePerCall evictions, however many flows time out.
func TestExpiryWorkIsBounded(t *testing.T) {
	tb := New(Config{Max: 1000, TimeoutNew: 10, TimeoutEst: 10, TimeoutDone: 10})
	for i := 0; i < 1000; i++ {
		tb.Lookup(pkt("192.0.2.1", "192.0.2.2", uint16(i), 2, 17, 0), true)
	}
	tb.Lookup(pkt("198.51.100.1", "192.0.2.2", 1, 2, 17, 100), true)
	if got := tb.Stats.Evicted[EvictTimeoutNew]; got != maxExpirePerCall {
		t.Errorf("one packet evicted %d flows, want %d", got, maxExpirePerCall)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	tb := New(Config{Max: 4096, TimeoutNew: 1e9, TimeoutEst: 1e9, TimeoutDone: 1e9})
	ps := make([]*decode.Packet, 10000)
	for i := range ps {
		ps[i] = pkt(fmt.Sprintf("10.%d.%d.1", i/250, i%250), "192.0.2.1", uint16(i), 443, 6, int64(i))
		ps[i].TCP.Flags = decode.TCPSyn
	}
	i := 0
	if n := testing.AllocsPerRun(20000, func() {
		p := ps[i%len(ps)]
		p.TS = int64(i)
		f, dir, _ := tb.Lookup(p, true)
		tb.TrackTCP(f, dir, p)
		i++
	}); n != 0 {
		t.Errorf("%.2f allocations per lookup", n)
	}
}

// BenchmarkLookup measures one lookup-or-create per packet with n concurrent flows: the table
// cost must not grow much from 1k to 1M flows.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{1000, 100000, 1000000} {
		b.Run(fmt.Sprintf("flows=%d", n), func(b *testing.B) {
			tb := New(Config{Max: n, TimeoutNew: 1e18, TimeoutEst: 1e18, TimeoutDone: 1e18})
			ps := make([]decode.Packet, n)
			rng := rand.New(rand.NewPCG(3, 4))
			for i := range ps {
				a := [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}
				ps[i] = *pkt(netip.AddrFrom4(a).String(), "192.0.2.1", uint16(rng.IntN(60000)), 443, 17, 0)
				tb.Lookup(&ps[i], true)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				tb.Lookup(&ps[(i*7919)%n], true) // a stride that defeats the cache, like real traffic
				i++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/lookup")
		})
	}
}
