package defrag

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ids-sensor/ids/decode"
)

var (
	// testConfig holds a few 64 KiB datagrams; DefaultConfig's 32 MiB arena per test would only
	// slow the tests down.
	testConfig  = Config{MaxDatagrams: 64, MaxBytes: 1 << 20, Timeout: 30e9}
	routerAlert = []byte{0x94, 4, 0, 0} // IPv4 router alert (RFC 2113): a valid 4-byte option
	noAnoms     []decode.Anomaly
	overlap4    = []decode.Anomaly{decode.IPv4FragOverlap}
	overlapD4   = []decode.Anomaly{decode.IPv4FragOverlap, decode.IPv4FragOverlapDiff}
	overlapD6   = []decode.Anomaly{decode.IPv6FragOverlap, decode.IPv6FragOverlapDiff}
)

// defragAnoms keeps the anomalies this package records.
func defragAnoms(list []decode.Anomaly) []decode.Anomaly {
	var out []decode.Anomaly
	for _, a := range list {
		if a >= decode.IPv4FragOverlap && a <= decode.IPv6FragInvalidLen { // the codes defragmentation records
			out = append(out, a)
		}
	}
	return out
}

func wantAnoms(t *testing.T, f *feeder, what string, want []decode.Anomaly) {
	t.Helper()
	if got := defragAnoms(f.anoms()); !slices.Equal(got, want) {
		t.Errorf("%s: anomalies %v, want %v", what, got, want)
	}
}

func wantBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	if got == nil {
		t.Fatalf("%s: no datagram returned", what)
	}
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	t.Fatalf("%s: datagram of %d bytes, want %d; first difference at byte %d", what, len(got), len(want), i)
}

// wantDecoded decodes the returned datagram in place of the last fragment, as the engine
// does, and checks the transport layer.
func wantDecoded(t *testing.T, f *feeder, out []byte, layer decode.Layer, sport, dport uint16, payload []byte) {
	t.Helper()
	p := &f.p
	p.DecodeDatagram(out)
	if !p.Has(decode.LayerReassembled | layer) {
		t.Fatalf("reassembled datagram decodes to layers %b, want %b", p.Layers, layer)
	}
	if p.Has(decode.LayerFragment) {
		t.Errorf("reassembled datagram still decodes as a fragment")
	}
	for _, a := range p.Anomalies() {
		if a < decode.IPv4FragOverlap || a > decode.IPv6FragTiny {
			t.Errorf("reassembled datagram decodes with anomaly %v", a)
		}
	}
	if p.SrcPort != sport || p.DstPort != dport {
		t.Errorf("ports %d > %d, want %d > %d", p.SrcPort, p.DstPort, sport, dport)
	}
	if !bytes.Equal(p.Payload, payload) {
		t.Errorf("transport payload of %d bytes differs from the %d sent", len(p.Payload), len(payload))
	}
}

func wantIdle(t *testing.T, d *Defragmenter) {
	t.Helper()
	if d.Stats.InProgress != 0 || d.Stats.BytesHeld != 0 {
		t.Errorf("after completion: InProgress %d, BytesHeld %d, want 0, 0", d.Stats.InProgress, d.Stats.BytesHeld)
	}
	if d.nfree != len(d.pages) || len(d.freeSlots) != len(d.slots) || d.head != noSlot || d.tail != noSlot {
		t.Errorf("after completion: %d of %d pages free, %d of %d slots free, head %d tail %d",
			d.nfree, len(d.pages), len(d.freeSlots), len(d.slots), d.head, d.tail)
	}
	for i, e := range d.index {
		if e != 0 {
			t.Errorf("index entry %d left behind", i)
		}
	}
}

// cuts splits n bytes into fragments of size (a multiple of 8), the last shorter.
func cuts(n, size int) [][2]int {
	var c [][2]int
	for off := 0; off < n; off += size {
		c = append(c, [2]int{off, min(size, n-off)})
	}
	return c
}

// fragmenter is what v4 and v6 share.
type fragmenter interface {
	datagram(payload []byte) []byte
	frag(payload []byte, off, n int, more bool) []byte
	fragData(off int, data []byte, more bool) []byte
}

// feedAll sends payload's fragments in the given order and expects the last one sent to
// complete the datagram.
func feedAll(t *testing.T, f *feeder, h fragmenter, payload []byte, c [][2]int, order []int) []byte {
	t.Helper()
	var out []byte
	for i, k := range order {
		off, n := c[k][0], c[k][1]
		out = f.add(h.frag(payload, off, n, off+n < len(payload)))
		if (out != nil) != (i == len(order)-1) {
			t.Fatalf("fragment %d of %d (offset %d): returned %d bytes", i+1, len(order), off, len(out))
		}
		wantAnoms(t, f, "clean fragment", noAnoms)
	}
	return out
}

func orders(n int) map[string][]int {
	in := make([]int, n)
	for i := range in {
		in[i] = i
	}
	rev := slices.Clone(in)
	slices.Reverse(rev)
	shuf := slices.Clone(in)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { shuf[i], shuf[j] = shuf[j], shuf[i] })
	return map[string][]int{"in order": in, "reversed": rev, "shuffled": shuf}
}

func TestIPv4Orders(t *testing.T) {
	for _, opts := range [][]byte{nil, routerAlert} {
		data := pattern(3000, 1)
		h := v4{id: 0x1234, proto: 17, flags: decode.IPv4Evil, opts: opts} // reserved bit kept as sent
		payload := udp(5353, 53, data)
		want := h.datagram(payload)
		c := cuts(len(payload), 1480)
		for name, order := range orders(len(c)) {
			t.Run(name, func(t *testing.T) {
				f := newFeeder(t, testConfig)
				out := feedAll(t, f, h, payload, c, order)
				wantBytes(t, "reassembled", out, want)
				wantDecoded(t, f, out, decode.LayerUDP, 5353, 53, data)
				if f.p.IPv4.HeaderLen != uint8(20+len(opts)) || f.p.IPv4.Flags != decode.IPv4Evil {
					t.Errorf("header length %d, flags %d", f.p.IPv4.HeaderLen, f.p.IPv4.Flags)
				}
				s := f.d.Stats
				if s.Fragments != uint64(len(c)) || s.Reassembled != 1 || s.Overlaps != 0 {
					t.Errorf("stats %+v", s)
				}
				wantIdle(t, f.d)
			})
		}
	}
}

// TestIPv4Largest reassembles a datagram of exactly 65535 bytes in 45 fragments.
func TestIPv4Largest(t *testing.T) {
	d := New(DefaultConfig)
	h := v4{id: 7, proto: 17}
	data := pattern(65535-20-8, 3)
	payload := udp(1, 2, data)
	want := h.datagram(payload)
	if len(want) != 65535 {
		t.Fatalf("test datagram is %d bytes", len(want))
	}
	c := cuts(len(payload), 1480)
	for name, order := range orders(len(c)) {
		t.Run(name, func(t *testing.T) {
			f := &feeder{t: t, d: d, ts: t0} // the default configuration, reused
			out := feedAll(t, f, h, payload, c, order)
			wantBytes(t, "reassembled", out, want)
			wantDecoded(t, f, out, decode.LayerUDP, 1, 2, data)
			wantIdle(t, f.d)
		})
	}
}

func TestIPv6Orders(t *testing.T) {
	routing := ext6{43, append([]byte{0, 2, 4, 0, 0, 0, 0, 0}, dst6.AsSlice()...)} // segment routing, segments left 0
	ah := ext6{51, append([]byte{0, 4, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 7}, make([]byte, 12)...)}
	for _, ext := range [][]ext6{nil, {hbh(0)}, {hbh(2), dstOpts(1)}, {hbh(0), dstOpts(0), routing, ah}} {
		data := pattern(5000, 2)
		h := v6{id: 0xdeadbeef, proto: 17, ext: ext}
		payload := udp(40000, 4789, data)
		want := h.datagram(payload)
		c := cuts(len(payload), 1232)
		for name, order := range orders(len(c)) {
			t.Run(name, func(t *testing.T) {
				f := newFeeder(t, testConfig)
				out := feedAll(t, f, h, payload, c, order)
				wantBytes(t, "reassembled", out, want)
				wantDecoded(t, f, out, decode.LayerUDP, 40000, 4789, data)
				if int(f.p.IPv6.ExtHeaders) != len(ext) {
					t.Errorf("reassembled datagram has %d extension headers, want %d", f.p.IPv6.ExtHeaders, len(ext))
				}
				wantIdle(t, f.d)
			})
		}
	}
}

// TestIPv6Largest reassembles a payload of exactly 65535 bytes behind a hop-by-hop header.
func TestIPv6Largest(t *testing.T) {
	h := v6{id: 9, proto: 17, ext: []ext6{hbh(0)}}
	payload := udp(1, 2, pattern(65535-8-8, 4))
	want := h.datagram(payload)
	f := newFeeder(t, testConfig)
	c := cuts(len(payload), 1232)
	out := feedAll(t, f, h, payload, c, orders(len(c))["shuffled"])
	wantBytes(t, "reassembled", out, want)
	wantIdle(t, f.d)
}

func TestInterleaved(t *testing.T) {
	a, b := v4{id: 1, proto: 17}, v4{id: 2, proto: 17}
	c := v6{id: 1, proto: 17, ext: []ext6{hbh(0)}}
	pa, pb, pc := udp(1, 2, pattern(3000, 1)), udp(3, 4, pattern(2000, 2)), udp(5, 6, pattern(4000, 3))
	f := newFeeder(t, testConfig)
	steps := []struct {
		h       fragmenter
		p       []byte
		off, n  int
		returns bool
	}{
		{a, pa, 1480, 1480, false},
		{b, pb, 0, 1480, false},
		{c, pc, 1232, 1232, false},
		{a, pa, 2960, 48, false},
		{c, pc, 0, 1232, false},
		{b, pb, 1480, 528, true},
		{c, pc, 3696, 312, false},
		{a, pa, 0, 1480, true},
		{c, pc, 2464, 1232, true},
	}
	for i, s := range steps {
		out := f.add(s.h.frag(s.p, s.off, s.n, s.off+s.n < len(s.p)))
		if (out != nil) != s.returns {
			t.Fatalf("step %d: returned %d bytes", i, len(out))
		}
		if out != nil {
			wantBytes(t, "interleaved", out, s.h.datagram(s.p))
		}
	}
	wantIdle(t, f.d)
}

func TestDuplicate(t *testing.T) {
	h := v4{id: 3, proto: 17}
	payload := udp(1, 2, pattern(2000, 5))
	f := newFeeder(t, testConfig)
	f.add(h.frag(payload, 0, 1480, true))
	wantAnoms(t, f, "first copy", noAnoms)
	f.add(h.frag(payload, 0, 1480, true))
	wantAnoms(t, f, "exact duplicate", overlap4)
	out := f.add(h.frag(payload, 1480, 528, false))
	wantBytes(t, "after duplicate", out, h.datagram(payload))
	out = f.add(h.frag(payload, 1480, 528, false))
	if out != nil {
		t.Errorf("a duplicate of the last fragment, after completion, returned a datagram")
	}
	if s := f.d.Stats; s.Overlaps != 1 || s.OverlapsDiff != 0 || s.Reassembled != 1 || s.InProgress != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestOverlapSameData(t *testing.T) {
	for _, h := range []fragmenter{v4{id: 4, proto: 17}, v6{id: 4, proto: 17}} {
		payload := udp(1, 2, pattern(2000, 6))
		f := newFeeder(t, testConfig)
		f.add(h.frag(payload, 0, 1488, true))
		out := f.add(h.frag(payload, 1000, 1008, false)) // 488 bytes again, across page boundaries
		wantBytes(t, "overlap, same data", out, h.datagram(payload))
		want := overlap4
		if _, ok := h.(v6); ok {
			want = []decode.Anomaly{decode.IPv6FragOverlap}
		}
		wantAnoms(t, f, "overlap, same data", want)
		if s := f.d.Stats; s.Overlaps != 1 || s.OverlapsDiff != 0 {
			t.Errorf("stats %+v", s)
		}
	}
}

// TestOverlapFirstWins: bytes held first keep their place; later fragments only fill gaps.
func TestOverlapFirstWins(t *testing.T) {
	for _, h := range []fragmenter{v4{id: 5, proto: 17}, v6{id: 5, proto: 17, ext: []ext6{hbh(0)}}} {
		data := pattern(56, 7)
		payload := udp(1000, 2000, data)
		evil := bytes.Repeat([]byte{0xaa}, 8)
		f := newFeeder(t, testConfig)
		f.add(h.fragData(8, evil, true))         // [8,16): different bytes, first
		f.add(h.frag(payload, 24, 8, true))      // [24,32): the real bytes
		f.add(h.fragData(0, payload[:40], true)) // [0,40): overlaps both, fills the gaps
		want := overlapD4
		if _, ok := h.(v6); ok {
			want = overlapD6
		}
		wantAnoms(t, f, "overlap, different data", want)
		out := f.add(h.frag(payload, 40, 24, false))
		wantAnoms(t, f, "last fragment", noAnoms)
		won := slices.Clone(payload)
		copy(won[8:16], evil)
		wantBytes(t, "first wins", out, h.datagram(won))
		if s := f.d.Stats; s.Overlaps != 1 || s.OverlapsDiff != 1 {
			t.Errorf("stats %+v", s)
		}
	}
}

// TestTeardrop: a second fragment starting inside the first and ending before it.
func TestTeardrop(t *testing.T) {
	h := v4{id: 0x0242, proto: 17}
	payload := udp(53, 53, pattern(40, 8))

	// The classic order: the long fragment first. The short "last" one's end (28) loses to the
	// bytes already held up to 40; a true last fragment then completes the datagram.
	f := newFeeder(t, testConfig)
	f.add(h.frag(payload, 0, 40, true))
	if out := f.add(h.fragData(24, []byte{1, 2, 3, 4}, false)); out != nil {
		t.Fatalf("teardrop fragment completed a datagram of %d bytes", len(out))
	}
	wantAnoms(t, f, "teardrop", overlapD4)
	out := f.add(h.frag(payload, 40, 8, false))
	wantBytes(t, "after teardrop", out, h.datagram(payload))

	// Reversed: the short last fragment fixes the end at 28, the long one is cut there and its
	// bytes 24..27 lose to those held.
	f = newFeeder(t, testConfig)
	f.add(h.fragData(24, []byte{1, 2, 3, 4}, false))
	out = f.add(h.frag(payload, 0, 40, true))
	wantAnoms(t, f, "teardrop reversed", overlapD4)
	want := slices.Clone(payload[:28])
	copy(want[24:], []byte{1, 2, 3, 4})
	wantBytes(t, "teardrop reversed", out, h.datagram(want))
	f.p.DecodeDatagram(out)
	if !f.p.HasAnomaly(decode.UDPLenInvalid) { // the UDP header still claims 48 bytes
		t.Errorf("truncated UDP datagram decodes without udp.len_invalid: %v", f.p.Anomalies())
	}
}

// TestEndConflicts: the first fragment without MF fixes the datagram's length.
func TestEndConflicts(t *testing.T) {
	h := v4{id: 6, proto: 17}
	payload := udp(7, 8, pattern(16, 9)) // 24 bytes
	f := newFeeder(t, testConfig)
	f.add(h.frag(payload, 16, 8, false))
	f.add(h.frag(payload, 16, 8, false))
	wantAnoms(t, f, "duplicate last fragment", overlap4)
	f.add(h.fragData(16, pattern(16, 1), false))
	wantAnoms(t, f, "second last fragment, longer", overlapD4)
	f.add(h.fragData(24, pattern(8, 1), true))
	wantAnoms(t, f, "fragment past the end", overlapD4)
	f.add(h.fragData(8, payload[8:20], false))
	wantAnoms(t, f, "second last fragment, shorter", overlapD4) // files [8,16) only
	out := f.add(h.frag(payload, 0, 8, true))
	wantAnoms(t, f, "first fragment", noAnoms)
	wantBytes(t, "end kept", out, h.datagram(payload))
	if s := f.d.Stats; s.Overlaps != 4 || s.OverlapsDiff != 3 {
		t.Errorf("stats %+v", s)
	}

	// A last fragment that ends before bytes already held: the held bytes win, the end stays open.
	f = newFeeder(t, testConfig)
	f.add(h.frag(payload, 8, 16, true)) // [8,24), MF: the datagram goes on
	f.add(h.fragData(8, payload[8:20], false))
	wantAnoms(t, f, "last fragment inside held bytes", overlapD4)
	if out := f.add(h.frag(payload, 0, 8, true)); out != nil {
		t.Fatalf("completed without a last fragment that agrees")
	}
	out = f.add(h.frag(payload, 16, 8, false))
	wantBytes(t, "end from the agreeing last fragment", out, h.datagram(payload))
}

func TestPingOfDeath(t *testing.T) {
	h := v4{id: 0x0666, proto: 1}
	icmp := append([]byte{8, 0, 0, 0, 0, 1, 0, 1}, pattern(65600-8, 10)...) // echo request
	c := cuts(len(icmp), 1480)
	for name, order := range orders(len(c)) {
		t.Run(name, func(t *testing.T) {
			f := newFeeder(t, testConfig)
			flagged := false
			for _, k := range order {
				off, n := c[k][0], c[k][1]
				if out := f.add(h.frag(icmp, off, n, off+n < len(icmp))); out != nil {
					t.Fatalf("a datagram of %d bytes was returned", len(out))
				}
				if got := defragAnoms(f.anoms()); len(got) > 0 {
					if flagged || !slices.Equal(got, []decode.Anomaly{decode.IPv4FragTooLarge}) || off+n+20 <= 65535 {
						t.Errorf("fragment at %d: anomalies %v", off, got)
					}
					flagged = true
				}
			}
			s := f.d.Stats
			if !flagged || s.TooLarge != 1 || s.BytesHeld != 0 || s.InProgress != 1 {
				t.Errorf("stats %+v", s)
			}
			f.d.Expire(f.ts + testConfig.Timeout + 1)
			if s := f.d.Stats; s.InProgress != 0 || s.Timeouts != 0 {
				t.Errorf("after expiry: stats %+v", s)
			}
			wantIdle(t, f.d)
		})
	}

	// IPv6: the fragment offset alone reaches past 65535.
	h6 := v6{id: 0x0666, proto: 58}
	f := newFeeder(t, testConfig)
	f.add(h6.fragData(0, pattern(1232, 11), true))
	f.add(h6.fragData(65528, pattern(16, 11), false))
	wantAnoms(t, f, "IPv6 too large", []decode.Anomaly{decode.IPv6FragTooLarge})
	if s := f.d.Stats; s.TooLarge != 1 || s.BytesHeld != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestTiny(t *testing.T) {
	data := pattern(100, 12)
	withOpts := tcp(1, 2, append(make([]byte, 12), data...))
	withOpts[12] = 8 << 4                                 // data offset 32: 12 bytes of (zero, end-of-list) options
	dstChain := append([]byte{6, 1}, make([]byte, 14)...) // destination options, 16 bytes, then TCP
	ahChain := append([]byte{17, 4}, make([]byte, 22)...) // authentication header, 24 bytes, then UDP
	cases := []struct {
		name    string
		h       fragmenter
		payload []byte
		first   int
		tiny    decode.Anomaly // AnomalyNone: not tiny
		layer   decode.Layer
	}{
		{"TCP in 8 bytes", v4{id: 1, proto: 6}, tcp(1, 2, data), 8, decode.IPv4FragTiny, decode.LayerTCP},
		{"TCP in 16 bytes", v4{id: 1, proto: 6}, tcp(1, 2, data), 16, decode.IPv4FragTiny, decode.LayerTCP},
		{"TCP in 24 bytes", v4{id: 1, proto: 6}, tcp(1, 2, data), 24, decode.AnomalyNone, decode.LayerTCP},
		// Options spilling into the next fragment are normal (a real SYN in the shared corpus).
		{"TCP with options in 24 bytes", v4{id: 1, proto: 6}, withOpts, 24, decode.AnomalyNone, decode.LayerTCP},
		{"UDP in 8 bytes", v4{id: 1, proto: 17}, udp(1, 2, data), 8, decode.AnomalyNone, decode.LayerUDP},
		{"IPv6 TCP in 8 bytes", v6{id: 1, proto: 6}, tcp(1, 2, data), 8, decode.IPv6FragTiny, decode.LayerTCP},
		{"IPv6 header chain cut", v6{id: 1, proto: 60}, append(dstChain, tcp(1, 2, data)...), 8, decode.IPv6FragTiny, decode.LayerTCP},
		{"IPv6 header chain and TCP in 16+16", v6{id: 1, proto: 60}, append(dstChain, tcp(1, 2, data)...), 32, decode.IPv6FragTiny, decode.LayerTCP},
		{"IPv6 header chain and TCP in 16+24", v6{id: 1, proto: 60}, append(dstChain, tcp(1, 2, data)...), 40, decode.AnomalyNone, decode.LayerTCP},
		{"IPv6 AH cut", v6{id: 1, proto: 51}, append(ahChain, udp(1, 2, data)...), 16, decode.IPv6FragTiny, decode.LayerUDP},
		{"IPv6 AH and UDP", v6{id: 1, proto: 51}, append(ahChain, udp(1, 2, data)...), 32, decode.AnomalyNone, decode.LayerUDP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFeeder(t, testConfig)
			f.add(c.h.frag(c.payload, 0, c.first, true))
			var want []decode.Anomaly
			if c.tiny != decode.AnomalyNone {
				want = []decode.Anomaly{c.tiny}
			}
			wantAnoms(t, f, "first fragment", want)
			out := f.add(c.h.frag(c.payload, c.first, len(c.payload)-c.first, false))
			wantBytes(t, "still reassembled", out, c.h.datagram(c.payload))
			wantDecoded(t, f, out, c.layer, 1, 2, data)
			if f.d.Stats.Tiny != uint64(len(want)) {
				t.Errorf("Tiny = %d", f.d.Stats.Tiny)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	cfg := Config{MaxDatagrams: 64, MaxBytes: 1 << 20, Timeout: 1e9}
	h := v4{id: 1, proto: 17}
	payload := udp(1, 2, pattern(100, 13))
	f := newFeeder(t, cfg)
	f.add(h.frag(payload, 0, 64, true))
	f.d.Expire(t0 + 1e9)
	if f.d.Stats.InProgress != 1 {
		t.Fatalf("expired at exactly the timeout")
	}
	f.d.Expire(t0 + 1e9 + 1)
	if s := f.d.Stats; s.InProgress != 0 || s.Timeouts != 1 || s.BytesHeld != 0 {
		t.Fatalf("after expiry: stats %+v", s)
	}
	f.ts = t0 + 2e9
	if out := f.add(h.frag(payload, 64, 44, false)); out != nil {
		t.Fatalf("the rest of an expired datagram completed it")
	}

	// Add expires a bounded number per call, oldest first.
	f = newFeeder(t, cfg)
	for i := range 10 {
		f.ts = t0 + int64(i)
		f.add(v4{id: uint16(100 + i), proto: 17}.frag(payload, 0, 64, true))
	}
	f.ts = t0 + 1e9 + 5 // ids 100..104 are past the timeout
	f.add(v4{id: 200, proto: 17}.frag(payload, 0, 64, true))
	if s := f.d.Stats; s.Timeouts != expireBudget || s.InProgress != 10-expireBudget+1 {
		t.Fatalf("stats %+v", s)
	}
	for i := range 10 {
		if got, want := inProgress(f.d, uint32(100+i)), i >= expireBudget; got != want {
			t.Errorf("datagram %d in progress: %v, want %v", 100+i, got, want)
		}
	}
	f.d.Expire(f.ts + 1e9 + 1)
	wantIdle(t, f.d)
}

// inProgress reports whether a datagram with IP identification id is held.
func inProgress(d *Defragmenter, id uint32) bool {
	for s := d.head; s != noSlot; s = d.slots[s].next {
		if d.slots[s].key.id == id {
			return true
		}
	}
	return false
}

func TestEvictOldest(t *testing.T) {
	f := newFeeder(t, Config{MaxDatagrams: 3, MaxBytes: 1 << 20, Timeout: 1e9})
	payload := udp(1, 2, pattern(100, 14))
	first := func(id uint16) []byte { return f.add(v4{id: id, proto: 17}.frag(payload, 0, 64, true)) }
	last := func(id uint16) []byte { return f.add(v4{id: id, proto: 17}.frag(payload, 64, 44, false)) }
	first(1)
	first(2)
	first(3)
	first(4) // evicts 1
	if f.d.Stats.EvictedFull != 1 {
		t.Fatalf("EvictedFull = %d", f.d.Stats.EvictedFull)
	}
	if last(2) == nil {
		t.Fatalf("datagram 2 was evicted instead of 1")
	}
	if last(1) != nil { // starts 1 again, in the slot 2 left
		t.Fatalf("datagram 1 survived eviction")
	}
	first(5) // evicts 3, now the oldest
	if last(4) == nil {
		t.Fatalf("datagram 4 was evicted")
	}
	if last(3) != nil {
		t.Fatalf("datagram 3 survived eviction")
	}
	if s := f.d.Stats; s.EvictedFull != 2 || s.InProgress != 3 { // 1 (again), 5 and 3 (again)
		t.Fatalf("stats %+v", s)
	}
}

func TestMemcap(t *testing.T) {
	f := newFeeder(t, Config{MaxDatagrams: 16, MaxBytes: 4 * pageSize, Timeout: 1e9})
	h := v4{id: 1, proto: 17}

	// Alone too big: 2400 bytes need 5 pages, and the header one more.
	big := udp(1, 2, pattern(3000, 15))
	f.add(h.frag(big, 0, 2400, true))
	if s := f.d.Stats; s.MemcapDrops != 1 || s.BytesHeld != 0 || s.InProgress != 0 {
		t.Fatalf("stats %+v", s)
	}

	// A: 1000 bytes in 2 pages plus a header page. B needs 2 pages: A, the oldest, goes.
	a := udp(1, 2, pattern(1100, 16))
	f.add(h.frag(a, 0, 1000, true))
	hb := v4{id: 2, proto: 17}
	b := udp(3, 4, pattern(504, 17)) // 512 bytes: one page
	f.add(hb.frag(b, 0, 504, true))
	if s := f.d.Stats; s.MemcapDrops != 2 || s.BytesHeld != 2*pageSize || s.InProgress != 1 {
		t.Fatalf("stats %+v", s)
	}
	out := f.add(hb.frag(b, 504, 8, false))
	wantBytes(t, "after eviction", out, hb.datagram(b))

	// The last page goes to B again; A's last fragment needs one more page: B, the oldest
	// other datagram, goes.
	f.add(h.frag(a, 0, 1000, true))  // 3 pages
	f.add(hb.frag(b, 504, 8, false)) // 1 page
	out = f.add(h.frag(a, 1000, 108, false))
	wantBytes(t, "after the second eviction", out, h.datagram(a))
	if s := f.d.Stats; s.Reassembled != 2 || s.MemcapDrops != 3 || s.BytesHeld != 0 {
		t.Fatalf("stats %+v", s)
	}

	// A datagram whose next fragment cannot fit beside its own pages: refused, nothing else
	// evicted (there is nothing else, and the datagram keeps what it has).
	f.add(h.frag(big, 0, 1512, true))    // 3 pages and a header page
	f.add(h.frag(big, 1512, 1000, true)) // 2 more
	if s := f.d.Stats; s.MemcapDrops != 4 || s.BytesHeld != 4*pageSize || s.InProgress != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestAtomic(t *testing.T) {
	h := v6{id: 77, proto: 17, ext: []ext6{hbh(0)}}
	payload := udp(1, 2, pattern(300, 18))
	f := newFeeder(t, testConfig)
	f.add(h.frag(payload, 0, 256, true)) // a datagram in progress with the same id
	out := f.add(h.fragData(0, []byte("atomic"), false))
	wantBytes(t, "atomic fragment", out, h.datagram([]byte("atomic")))
	if f.d.Stats.InProgress != 1 {
		t.Fatalf("the atomic fragment touched the datagram in progress")
	}
	out = f.add(h.frag(payload, 256, len(payload)-256, false))
	wantBytes(t, "datagram beside the atomic fragment", out, h.datagram(payload))
	wantDecoded(t, f, out, decode.LayerUDP, 1, 2, payload[8:])
	if s := f.d.Stats; s.Reassembled != 2 || s.Overlaps != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestVLANKeys(t *testing.T) {
	h := v4{id: 99, proto: 17}
	payload := udp(1, 2, pattern(100, 19))
	f := newFeeder(t, testConfig)
	if f.add(h.frag(payload, 0, 64, true), 10) != nil || f.add(h.frag(payload, 64, 44, false), 20) != nil {
		t.Fatalf("fragments of VLANs 10 and 20 were reassembled together")
	}
	if f.add(h.frag(payload, 64, 44, false)) != nil {
		t.Fatalf("untagged fragment joined a VLAN's datagram")
	}
	out := f.add(h.frag(payload, 64, 44, false), 10)
	wantBytes(t, "VLAN 10", out, h.datagram(payload))
	f.p.DecodeDatagram(out)
	if f.p.NumVLAN != 1 || f.p.VLAN[0] != 10 {
		t.Errorf("reassembled datagram lost its VLAN: %d %v", f.p.NumVLAN, f.p.VLAN)
	}
	out = f.add(h.frag(payload, 0, 64, true), 20, 30) // the outer tag is the key
	wantBytes(t, "VLAN 20", out, h.datagram(payload))
	if s := f.d.Stats; s.Overlaps != 0 || s.InProgress != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDropped(t *testing.T) {
	h4 := v4{id: 1, proto: 17}
	h6 := v6{id: 1, proto: 17, ext: []ext6{hbh(0)}}
	full := h4.frag(udp(1, 2, pattern(200, 20)), 0, 200, true)
	full6 := h6.frag(udp(1, 2, pattern(200, 20)), 0, 200, true)
	lying := slices.Clone(full)
	lying[3] += 8 // total length 8 more than sent
	lying[10], lying[11] = 0, 0
	c := ipChecksum(lying[:20])
	lying[10], lying[11] = byte(c>>8), byte(c)
	jumbo := slices.Clone(full6)
	jumbo[4], jumbo[5] = 0, 0
	cases := []struct {
		name      string
		frame     []byte
		wire      int
		malformed bool
	}{
		{"MF on 12 bytes", eth(h4.fragData(0, pattern(12, 1), true)), 0, true},
		{"IPv6 M on 12 bytes", eth(h6.fragData(8, pattern(12, 1), true)), 0, true},
		{"no payload", eth(h4.fragData(8, nil, false)), 0, true},
		{"IPv6 no payload", eth(h6.fragData(8, nil, false)), 0, true},
		{"cut by the snap length", eth(full)[:100], len(eth(full)), false},
		{"IPv6 cut by the snap length", eth(full6)[:100], len(eth(full6)), false},
		{"longer than sent", eth(lying), 0, true},
		{"IPv6 jumbogram", eth(jumbo), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFeeder(t, testConfig)
			if out := f.addFrame(c.frame, c.wire); out != nil {
				t.Fatalf("returned %d bytes", len(out))
			}
			s := f.d.Stats
			if c.malformed && (s.Malformed != 1 || s.Truncated != 0) || !c.malformed && (s.Truncated != 1 || s.Malformed != 0) {
				t.Errorf("stats %+v", s)
			}
			wantIdle(t, f.d)
		})
	}

	// Not a fragment at all.
	d := New(DefaultConfig)
	var p decode.Packet
	if d.Add(&p) != nil || d.Stats.Malformed != 1 {
		t.Errorf("a packet that is not a fragment: stats %+v", d.Stats)
	}
}

// TestConfig: zero fields take the defaults; a memcap below one page holds nothing.
func TestConfig(t *testing.T) {
	if got := New(Config{}).Config(); got != DefaultConfig {
		t.Errorf("zero Config became %+v", got)
	}
	d := New(Config{MaxDatagrams: 1 << 22, MaxBytes: 1 << 20})
	if len(d.slots) != 1<<20/pageSize {
		t.Errorf("%d slots for %d pages", len(d.slots), len(d.pages))
	}
	f := newFeeder(t, Config{MaxBytes: 100})
	h := v6{id: 1, proto: 17}
	f.add(h.fragData(0, pattern(64, 1), true))
	if s := f.d.Stats; s.MemcapDrops != 1 || s.BytesHeld != 0 {
		t.Errorf("stats %+v", s)
	}
	if out := f.add(h.fragData(0, pattern(64, 1), false)); out == nil {
		t.Errorf("an atomic fragment needs no memory, yet was not returned")
	}
}
