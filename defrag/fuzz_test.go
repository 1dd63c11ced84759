package defrag

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/decode"
)

// fuzzFrag is one fragment description of a fuzz input (6 bytes).
type fuzzFrag struct {
	v6, more, vlan, cut bool
	sel                 int // datagram identification, 0..3
	proto               uint8
	off, n              int
	fill                byte
}

// Fuzz input layout: byte 0 holds options for the whole input (bit 0: tight limits, bit 1:
// IPv4 options in first fragments, bit 2: an IPv6 hop-by-hop header, bit 3: lengths of 16
// bits, else 12 so that the fuzzer's random lengths stay cheap); then 6 bytes per fragment:
// flags (bit 0 IPv6, 1 MF, 2-3 identification, 4 VLAN 10, 5 cut by the snap length, 6-7
// protocol), offset/8 (big endian, 13 bits), length (big endian), fill byte.
func parseFuzz(b []byte) (opts byte, frags []fuzzFrag) {
	if len(b) == 0 {
		return 0, nil
	}
	opts, b = b[0], b[1:]
	lenMask := uint16(0x0fff)
	if opts&8 != 0 {
		lenMask = 0xffff
	}
	for ; len(b) >= 6 && len(frags) < 32; b = b[6:] {
		fl := b[0]
		f := fuzzFrag{
			v6: fl&1 != 0, more: fl&2 != 0, sel: int(fl>>2) & 3, vlan: fl&16 != 0, cut: fl&32 != 0,
			off:  int(binary.BigEndian.Uint16(b[1:3])&0x1fff) * 8,
			n:    int(binary.BigEndian.Uint16(b[3:5]) & lenMask),
			fill: b[5],
		}
		if f.v6 {
			f.proto = [4]uint8{17, 6, 58, 59}[fl>>6]
		} else {
			f.proto = [4]uint8{17, 6, 1, 59}[fl>>6]
		}
		frags = append(frags, f)
	}
	return opts, frags
}

// fuzzByte is the byte a fragment with fill f carries at payload position x: equal fills give
// equal bytes, different fills differ everywhere.
func fuzzByte(f byte, x int) byte { return f ^ fuzzBase[x&0xffff] }

var fuzzBase = func() (b [1 << 16]byte) {
	for x := range b {
		b[x] = byte(x) ^ byte(x>>8)*3
	}
	return b
}()

func (f fuzzFrag) headers(opts byte) (h4 v4, h6 v6) {
	h4 = v4{id: uint16(0x100 + f.sel), proto: f.proto}
	if opts&2 != 0 {
		h4.opts = routerAlert
	}
	h6 = v6{id: uint32(0x10000 + f.sel), proto: f.proto}
	if opts&4 != 0 {
		h6.ext = []ext6{hbh(0)}
	}
	return h4, h6
}

// build renders the fragment as an Ethernet frame and its wire length; n is clamped to what the
// IP length field can express.
func (f *fuzzFrag) build(opts byte) (frame []byte, wire int) {
	h4, h6 := f.headers(opts)
	hl := 20
	if f.off == 0 {
		hl += len(h4.opts)
	}
	if f.v6 {
		hl = 8 + 8*len(h6.ext) // plus the fixed header, outside the payload length
	}
	f.n = min(f.n, maxIPLen-hl)
	data := make([]byte, f.n)
	copy(data, fuzzBase[f.off:])
	if f.off+f.n > len(fuzzBase) {
		copy(data[len(fuzzBase)-f.off:], fuzzBase[:])
	}
	for i := range data {
		data[i] ^= f.fill
	}
	var ip []byte
	if f.v6 {
		ip = h6.fragData(f.off, data, f.more)
	} else {
		ip = h4.fragData(f.off, data, f.more)
	}
	var vlans []uint16
	if f.vlan {
		vlans = []uint16{10}
	}
	frame = eth(ip, vlans...)
	for len(frame) < 60 {
		frame = append(frame, 0) // Ethernet padding, beyond the IP length
	}
	wire = len(frame)
	if f.cut {
		frame = frame[:len(frame)/2]
	}
	return frame, wire
}

// model is a plain reference of the documented policy, byte by byte, for limits never reached.
type model struct {
	have        [maxIPLen + 1]bool
	data        [maxIPLen + 1]byte
	last, dead  bool
	end, maxEnd int
	hdr         bool
	hl          int   // IPv4 header, or IPv6 extension headers before the Fragment header
	proto       uint8 // IPv6: the first fragment's Fragment header Next Header
}

type modelKey struct {
	v6, vlan bool
	sel      int
	proto    uint8 // IPv4 only
}

// fuzzBig is shared by the inputs of one fuzzing process and emptied before each: a fresh
// arena per input would spend the fuzzer's time zeroing memory.
var fuzzBig *Defragmenter

func FuzzDefrag(f *testing.F) {
	seed := func(opts byte, frags ...fuzzFrag) {
		b := []byte{opts}
		for _, x := range frags {
			fl := byte(x.sel << 2)
			for i, on := range []bool{x.v6, x.more, false, false, x.vlan, x.cut} {
				if on {
					fl |= 1 << i
				}
			}
			b = append(b, fl)
			b = binary.BigEndian.AppendUint16(b, uint16(x.off/8))
			b = binary.BigEndian.AppendUint16(b, uint16(x.n))
			b = append(b, x.fill)
		}
		f.Add(b)
	}
	seed(0, fuzzFrag{more: true, n: 1480}, fuzzFrag{off: 1480, n: 100})
	seed(2, fuzzFrag{off: 1480, n: 100}, fuzzFrag{more: true, n: 1480})
	seed(4, fuzzFrag{v6: true, more: true, n: 1232}, fuzzFrag{v6: true, off: 1232, n: 7})
	seed(0, fuzzFrag{more: true, n: 40}, fuzzFrag{off: 24, n: 4}, fuzzFrag{off: 40, n: 8})                          // teardrop
	seed(0, fuzzFrag{more: true, n: 1480}, fuzzFrag{more: true, off: 8, n: 16, fill: 1}, fuzzFrag{off: 1480, n: 8}) // overlap
	seed(0, fuzzFrag{more: true, n: 1480}, fuzzFrag{off: 65528, n: 100})                                            // ping of death
	seed(1, fuzzFrag{more: true, n: 8}, fuzzFrag{sel: 1, more: true, n: 8}, fuzzFrag{sel: 2, v6: true, more: true, n: 8}, fuzzFrag{off: 8, n: 8})
	seed(4, fuzzFrag{v6: true, n: 20}, fuzzFrag{v6: true, vlan: true, more: true, n: 16, cut: true})
	seed(9, fuzzFrag{more: true, n: 30000}, fuzzFrag{more: true, off: 30000, n: 30000}, fuzzFrag{off: 60000, n: 5000})
	seed(8, fuzzFrag{more: true, n: 32768}, fuzzFrag{off: 32768, n: 65535 - 32768 - 20})                     // exactly 65535
	seed(12, fuzzFrag{v6: true, more: true, n: 32768}, fuzzFrag{v6: true, off: 32768, n: 65535 - 32768 - 8}) // exactly 65535

	f.Fuzz(runOne)
}

func runOne(t *testing.T, in []byte) {
	opts, frags := parseFuzz(in)
	var d *Defragmenter
	tight := opts&1 != 0
	if tight {
		d = New(Config{MaxDatagrams: 3, MaxBytes: 16 * pageSize, Timeout: 5e6})
	} else {
		if fuzzBig == nil {
			fuzzBig = New(Config{MaxDatagrams: 64, MaxBytes: 4 << 20, Timeout: 30e9})
		}
		d = fuzzBig
		d.Expire(math.MaxInt64)
		d.Stats = Stats{}
		checkAccounting(t, d)
	}
	models := map[modelKey]*model{}
	var want Stats // the counters the model predicts (without tight limits)
	var p decode.Packet
	ts := t0
	for i := range frags {
		fr := &frags[i]
		frame, wire := fr.build(opts)
		ts += 1e6
		p.Decode(layers.LinkTypeEthernet, frame, ts, wire)
		out := d.Add(&p)
		if out != nil {
			out = slices.Clone(out)
		}
		got := defragAnoms(p.Anomalies())
		got = slices.DeleteFunc(got, func(a decode.Anomaly) bool { return a == decode.IPv4FragTiny || a == decode.IPv6FragTiny })

		checkAccounting(t, d)
		if out != nil {
			checkDatagram(t, &p, out)
		}
		if tight {
			continue
		}
		wantOut, wantAn := modelAdd(models, &want, opts, fr)
		if !slices.Equal(got, wantAn) {
			t.Fatalf("fragment %d %+v: anomalies %v, model %v", i, *fr, got, wantAn)
		}
		if !slices.Equal(out, wantOut) {
			t.Fatalf("fragment %d %+v: returned %d bytes, model %d", i, *fr, len(out), len(wantOut))
		}
	}
	if tight {
		return
	}
	s := d.Stats
	if s.Reassembled != want.Reassembled || s.Overlaps != want.Overlaps || s.OverlapsDiff != want.OverlapsDiff ||
		s.TooLarge != want.TooLarge || s.Malformed+s.Truncated != want.Malformed || s.Fragments != uint64(len(frags)) ||
		s.Timeouts+s.EvictedFull+s.MemcapDrops != 0 {
		t.Fatalf("stats %+v, model %+v", s, want)
	}
}

// modelAdd applies fr to the model and returns the datagram and anomalies it expects.
func modelAdd(models map[modelKey]*model, st *Stats, opts byte, fr *fuzzFrag) ([]byte, []decode.Anomaly) {
	an := anoms4
	if fr.v6 {
		an = anoms6
	}
	if fr.cut || (!fr.v6 && fr.off == 0 && !fr.more) {
		st.Malformed++ // or Truncated: dropped either way
		return nil, nil
	}
	if fr.n == 0 || (fr.more && fr.n%8 != 0) {
		st.Malformed++
		if fr.v6 {
			return nil, []decode.Anomaly{decode.IPv6FragInvalidLen}
		}
		return nil, []decode.Anomaly{decode.IPv4FragInvalidLen}
	}
	h4, h6 := fr.headers(opts)
	data := func(from, to int) []byte {
		b := make([]byte, to-from)
		for i := range b {
			b[i] = fuzzByte(fr.fill, from+i)
		}
		return b
	}
	if fr.v6 && fr.off == 0 && !fr.more {
		st.Reassembled++
		return h6.datagram(data(0, fr.n)), nil
	}
	k := modelKey{v6: fr.v6, vlan: fr.vlan, sel: fr.sel}
	if !fr.v6 {
		k.proto = fr.proto
	}
	m := models[k]
	if m == nil {
		m = &model{}
		models[k] = m
	}
	if m.dead {
		return nil, nil
	}
	end := fr.off + fr.n
	hl := 0
	switch {
	case m.hdr:
		hl = m.hl
	case fr.off == 0 && fr.v6:
		hl = 8 * len(h6.ext)
	case fr.off == 0:
		hl = 20 + len(h4.opts)
	case !fr.v6:
		hl = 20
	}
	if hl+max(end, m.maxEnd) > maxIPLen {
		st.TooLarge++
		*m = model{dead: true}
		return nil, []decode.Anomaly{an.tooLarge}
	}
	o, e := fr.off, end
	var ovl, diff, claim bool
	if m.last && e > m.end {
		ovl, diff, e = true, true, m.end
	}
	if !fr.more {
		switch {
		case m.last:
			if end != m.end {
				ovl, diff = true, true
				if end < m.end {
					e = end &^ 7
				}
			}
		case m.maxEnd > end:
			ovl, diff, e = true, true, end&^7
		default:
			claim = true
		}
	}
	for x := o; x < e; x++ {
		b := fuzzByte(fr.fill, x)
		if m.have[x] {
			ovl = true
			diff = diff || m.data[x] != b
		} else {
			m.have[x], m.data[x] = true, b
			m.maxEnd = max(m.maxEnd, x+1)
		}
	}
	var anoms []decode.Anomaly
	if ovl {
		st.Overlaps++
		anoms = append(anoms, an.overlap)
		if diff {
			st.OverlapsDiff++
			anoms = append(anoms, an.diff)
		}
	}
	if fr.off == 0 && !m.hdr {
		m.hdr, m.hl, m.proto = true, hl, fr.proto
	}
	if claim {
		m.last, m.end = true, end
	}
	if !m.last || !m.hdr || slices.Contains(m.have[:m.end], false) {
		return nil, anoms
	}
	payload := slices.Clone(m.data[:m.end])
	delete(models, k)
	st.Reassembled++
	if fr.v6 {
		h6.proto = m.proto
		return h6.datagram(payload), anoms
	}
	return h4.datagram(payload), anoms
}

// checkDatagram: a returned datagram is a whole, well-formed IP packet.
func checkDatagram(t *testing.T, p *decode.Packet, out []byte) {
	t.Helper()
	p.DecodeDatagram(out)
	if !p.Has(decode.LayerReassembled) || p.Has(decode.LayerFragment) {
		t.Fatalf("returned datagram decodes to layers %b", p.Layers)
	}
	for _, a := range p.Anomalies() {
		if a >= decode.IPv4PktTooSmall && a <= decode.IPv6ExtHdrDuplicate {
			t.Fatalf("returned datagram of %d bytes decodes with %v", len(out), a)
		}
	}
	switch p.IPVersion {
	case 4:
		if int(p.IPv4.TotalLen) != len(out) || p.IPv4.FragOff != 0 || p.IPv4.Flags&decode.IPv4MoreFragments != 0 {
			t.Fatalf("returned IPv4 datagram of %d bytes: %+v", len(out), p.IPv4)
		}
		if ipChecksum(out[:p.IPv4.HeaderLen]) != 0 {
			t.Fatalf("returned IPv4 datagram with a bad header checksum")
		}
	case 6:
		if 40+int(p.IPv6.PayloadLen) != len(out) {
			t.Fatalf("returned IPv6 datagram of %d bytes claims a payload of %d", len(out), p.IPv6.PayloadLen)
		}
	default:
		t.Fatalf("returned datagram decodes as IP version %d", p.IPVersion)
	}
}

// checkAccounting: the gauges match what is really held, and stay within the limits.
func checkAccounting(t *testing.T, d *Defragmenter) {
	t.Helper()
	s := d.Stats
	if s.BytesHeld > uint64(d.cfg.MaxBytes) || s.InProgress > uint64(len(d.slots)) {
		t.Fatalf("gauges out of bounds: %+v", s)
	}
	slots, pages := 0, 0
	for x := d.head; x != noSlot; x = d.slots[x].next {
		dg := &d.slots[x]
		n, units := 0, 0
		for pg := dg.pages; pg != noPage; pg = d.pages[pg].next {
			n++
			units += bits.OnesCount64(d.pages[pg].cov)
			if next := d.pages[pg].next; next != noPage && d.pages[next].idx >= d.pages[pg].idx {
				t.Fatalf("payload pages out of order")
			}
		}
		for pg := dg.hdr; pg != noPage; pg = d.pages[pg].next {
			n++
		}
		if n != int(dg.npages) || units != int(dg.units) || (dg.dead && n != 0) {
			t.Fatalf("datagram holds %d pages and %d units, counts %d and %d", n, units, dg.npages, dg.units)
		}
		if d.find(&dg.key, dg.hash) != x {
			t.Fatalf("datagram not found by its key")
		}
		slots++
		pages += n
	}
	if uint64(slots) != s.InProgress || slots+len(d.freeSlots) != len(d.slots) {
		t.Fatalf("%d datagrams listed, InProgress %d, %d free slots of %d", slots, s.InProgress, len(d.freeSlots), len(d.slots))
	}
	if pages+d.nfree != len(d.pages) || uint64(pages*pageSize) != s.BytesHeld {
		t.Fatalf("%d pages held, %d free of %d, BytesHeld %d", pages, d.nfree, len(d.pages), s.BytesHeld)
	}
}
