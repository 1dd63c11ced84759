package stream

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/ids-sensor/ids/decode"
)

// model is the reference reassembler: one state per byte, policy "first", no caps.
type model struct {
	val     []byte
	state   []uint8 // 0 not received, 1 received, 2 received but cut by the capture
	start   int     // the first byte: 0 after a SYN, else the first segment's
	next    int
	started bool
	out     []int16 // the expected transcript: a byte, or -1 per gap byte
}

func newModel(n int) *model { return &model{val: make([]byte, n), state: make([]uint8, n)} }

// segment receives bytes [s, s+L), of which the first len(d) were captured, and reports whether
// they overlapped received bytes and whether any differed.
func (m *model) segment(s, L int, d []byte) (ov, diff bool) {
	if !m.started {
		m.start, m.next, m.started = s, s, true
	}
	for x := max(s, m.next); x < s+L; x++ {
		captured := x-s < len(d)
		if m.state[x] != 0 {
			ov = true
			diff = diff || (m.state[x] == 1 && captured && m.val[x] != d[x-s])
			continue
		}
		if captured {
			m.state[x], m.val[x] = 1, d[x-s]
		} else {
			m.state[x] = 2
		}
	}
	m.drain()
	return ov, diff
}

// ack reports whether it gave up bytes never received.
func (m *model) ack(a int) (lost bool) {
	if !m.started {
		return false
	}
	for m.next < a {
		lost = lost || m.state[m.next] == 0
		m.emit()
	}
	m.drain()
	return lost
}

func (m *model) drain() {
	for m.next < len(m.state) && m.state[m.next] != 0 {
		m.emit()
	}
}

func (m *model) emit() {
	if m.state[m.next] == 1 {
		m.out = append(m.out, int16(m.val[m.next]))
	} else {
		m.out = append(m.out, -1)
	}
	m.next++
}

// transcript is the Consumer for the fuzz target: one entry per sequence number delivered.
type transcript struct {
	tb    testing.TB
	limit int
	out   [2][]int16
}

func (c *transcript) Data(dir int, b []byte) {
	if len(b) == 0 || len(c.out[dir])+len(b) > c.limit {
		c.tb.Fatalf("dir %d: Data of %d bytes after %d, stream %d", dir, len(b), len(c.out[dir]), c.limit)
	}
	for _, x := range b {
		c.out[dir] = append(c.out[dir], int16(x))
	}
}

func (c *transcript) Gap(dir int, n uint32) {
	if n == 0 || uint64(len(c.out[dir]))+uint64(n) > uint64(c.limit) {
		c.tb.Fatalf("dir %d: Gap of %d after %d, stream %d", dir, n, len(c.out[dir]), c.limit)
	}
	for range n {
		c.out[dir] = append(c.out[dir], -1)
	}
}

type fuzzInput struct{ b []byte }

func (f *fuzzInput) u8() int {
	if len(f.b) == 0 {
		return 0
	}
	v := f.b[0]
	f.b = f.b[1:]
	return int(v)
}

func (f *fuzzInput) u16() int { return f.u8()<<8 | f.u8() }

const maxFuzzStream = 1500

var (
	bigCaps = Config{Memcap: 2 * maxFuzzStream * ChunkSize, FlowCap: maxFuzzStream * ChunkSize}
	bigPool *Reassembler
)

// FuzzReassembly derives two true streams (one per direction) and a random segmentation of
// them — any order, duplicates, overlaps with the same or different data, capture cuts, Acks,
// FINs and evictions — feeds it, and after every call checks the transcript and the anomalies
// against the reference model, as long as no cap was hit. In all cases: no panic, the list and
// pool invariants hold (HeldBytes <= Memcap), nothing is delivered beyond the stream, and data
// delivered is the true stream at its position unless some segment carried different data.
// A final in-order sweep and Ack must account for every byte; without caps, different data,
// cuts or acknowledged holes, the transcript is then exactly the true stream.
func FuzzReassembly(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 1, 0, 40, 7, 0, 0, 0, 20, 0, 0, 20, 20})
	f.Add([]byte{9, 0xff, 0xf0, 0x02, 0x00, 9, 2, 0x01, 0x00, 0xff, 2, 0x00, 0x00, 0xff, 5, 0x02, 0x00})
	f.Add([]byte{0x16, 1, 2, 3, 4, 0x06, 0x00, 3, 0x32, 0x05, 0x00, 0x80, 0x41, 0x02, 0x00, 0x40, 0x22, 0x00, 0x00, 0x90, 0x8d, 0x06, 0x00})
	f.Add([]byte{0x08, 9, 0x03, 0x00, 1, 0x10, 0x01, 0x00, 0x80, 0x90, 0x02, 0x00, 0xff, 0xa0, 0x00, 0x00, 0x10, 0x85, 0x01, 0x00})
	f.Add([]byte{0x52, 0, 0, 0, 0, 0x05, 0xdc, 3, 0x00, 0x02, 0x00, 0xff, 0x80, 0x00, 0x00, 0xff, 0x01, 0x04, 0x00, 0xff, 0x06})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzInput{b: data}
		mode := in.u8()
		syn := mode&1 == 0       // else picked up mid-stream
		smallCaps := mode&2 != 0 // caps likely to be hit
		var isn uint32
		if mode&8 != 0 {
			isn = -uint32(in.u8()) // just before the wrap
		} else {
			isn = uint32(in.u16())<<16 | uint32(in.u16())
		}
		n := 1 + in.u16()%maxFuzzStream
		seed := uint32(in.u8())<<8 | 1

		var stream [2][]byte
		for dir := range stream {
			stream[dir] = make([]byte, n)
			x := seed + uint32(dir)*0x9e3779b9
			for i := range stream[dir] {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				stream[dir][i] = 'a' + byte(x%26)
			}
		}

		// Caps that are never hit: one chunk per byte. That pool is reused across runs (zeroing it
		// each time would dominate), which also checks that Release leaves it as good as new.
		cfg := bigCaps
		r := bigPool
		if r == nil || r.Stats.HeldChunks != 0 { // the first run, or one that failed
			r = New(cfg)
			bigPool = r
		}
		r.Stats = Stats{}
		if smallCaps {
			cfg = Config{Memcap: (1 + mode>>4) * ChunkSize, FlowCap: (1 + mode>>6) * ChunkSize}
			r = New(cfg)
		}
		var h [2]Half
		var m [2]*model
		var capped, differed, lossy [2]bool
		var checked [2]int
		c := &transcript{tb: t, limit: n}
		seqOf := func(dir, off int) uint32 { return isn + uint32(dir)<<20 + uint32(off) }
		pkt := new(decode.Packet)

		check := func(dir int) {
			t.Helper()
			for d := range 2 {
				checkHalf(t, r, &h[d])
			}
			if r.Stats.HeldChunks*ChunkSize > uint64(cfg.Memcap) || r.Stats.HeldBytes > uint64(cfg.Memcap) {
				t.Fatalf("held %d bytes in %d chunks, Memcap %d", r.Stats.HeldBytes, r.Stats.HeldChunks, cfg.Memcap)
			}
			got, want := c.out[dir], m[dir].out
			if !capped[dir] && (len(got) != len(want) || !slices.Equal(got[checked[dir]:], want[checked[dir]:])) {
				t.Fatalf("dir %d transcript\n got %v\nwant %v", dir, got, want)
			}
			if !m[dir].started {
				if len(got) != 0 {
					t.Fatalf("dir %d delivered before starting", dir)
				}
				return
			}
			if len(got) > n-m[dir].start {
				t.Fatalf("dir %d delivered %d, stream %d from %d", dir, len(got), n, m[dir].start)
			}
			if !differed[dir] {
				for i := checked[dir]; i < len(got); i++ {
					if v := got[i]; v >= 0 && byte(v) != stream[dir][m[dir].start+i] {
						t.Fatalf("dir %d byte %d is %q, want %q", dir, i, byte(v), stream[dir][m[dir].start+i])
					}
				}
			}
			checked[dir] = len(got) // transcripts only grow: the prefix checked stays right
		}
		offer := func(dir, s int, flags uint16, d []byte, cut int) {
			t.Helper()
			hits := r.Stats.MemcapHits + r.Stats.FlowCapHits
			fr := tcpFrame(seqOf(dir, s), flags, d)
			pkt.Decode(layers.LinkTypeEthernet, fr[:len(fr)-cut], 0, len(fr))
			r.Segment(&h[dir], dir, pkt, c)
			if r.Stats.MemcapHits+r.Stats.FlowCapHits != hits {
				capped[dir] = true
			}
			if len(d) == 0 {
				return
			}
			ov, diff := m[dir].segment(s, len(d), d[:len(d)-cut])
			if !capped[dir] && (ov != pkt.HasAnomaly(decode.StreamOverlap) || diff != pkt.HasAnomaly(decode.StreamOverlapDiff)) {
				t.Fatalf("dir %d segment [%d,%d): anomalies %v, model overlap %v diff %v", dir, s, s+len(d), pkt.Anomalies(), ov, diff)
			}
			check(dir)
		}
		ack := func(dir, a int) {
			t.Helper()
			r.Ack(&h[dir], dir, seqOf(dir, a), c)
			if m[dir].ack(a) {
				lossy[dir] = true
			}
			check(dir)
		}
		reset := func(dir int) {
			m[dir] = newModel(n)
			c.out[dir] = c.out[dir][:0]
			capped[dir], differed[dir], lossy[dir] = false, false, false
			checked[dir] = 0
		}
		for dir := range 2 {
			reset(dir)
			if syn {
				offer(dir, -1, fSYN, nil, 0)
				m[dir].started = true
			}
		}

		for ops := 0; len(in.b) > 0 && ops < 300; ops++ {
			op := in.u8()
			dir := op >> 7
			switch op & 7 {
			case 0, 1, 2, 3, 4:
				s := in.u16() % n
				sz := in.u8()
				L := 1 + sz%16
				if sz >= 128 {
					L = 1 + (sz-128)*12 // up to 1525 bytes
				}
				L = min(L, n-s)
				d := bytes.Clone(stream[dir][s : s+L])
				cut := 0
				if op&0x08 != 0 {
					cut = in.u8() % (L + 1)
					lossy[dir] = lossy[dir] || cut > 0
				}
				if op&0x10 != 0 { // different data at one byte
					d[in.u16()%L] ^= 1
					differed[dir] = true
				}
				flags := uint16(fDat)
				if op&0x20 != 0 && s+L == n {
					flags |= fFIN
				}
				offer(dir, s, flags, d, cut)
			case 5:
				ack(dir, in.u16()%(n+1))
			case 6:
				if op&0x40 != 0 {
					r.Release(&h[dir]) // evicted; a later segment picks the stream up again
					reset(dir)
				}
			}
		}

		// Sweep: the whole stream in order, then an Ack of all of it.
		for dir := range 2 {
			for s := 0; s < n; s += 1000 {
				offer(dir, s, fDat, stream[dir][s:min(n, s+1000)], 0)
			}
			ack(dir, n)
			got := c.out[dir]
			if len(got) != n-m[dir].start {
				t.Fatalf("dir %d: %d bytes accounted for, stream %d from %d", dir, len(got), n, m[dir].start)
			}
			if !capped[dir] && !differed[dir] && !lossy[dir] {
				for i, v := range got {
					if v != int16(stream[dir][m[dir].start+i]) {
						t.Fatalf("dir %d byte %d: %d, want %q", dir, i, v, stream[dir][m[dir].start+i])
					}
				}
			}
			r.Release(&h[dir])
		}
		if r.Stats.HeldChunks != 0 || r.Stats.HeldBytes != 0 {
			t.Fatalf("after release: %+v", r.Stats)
		}
	})
}
