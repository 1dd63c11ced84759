package engine

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/rules"
)

// thrModel is the reference threshold table: a map and an LRU order, the documented semantics.
type thrModel struct {
	max     int
	order   []bucketKey // most recently matched first
	buckets map[bucketKey]*bucket
	evicted uint64
}

func (m *thrModel) pass(k bucketKey, th *rules.Threshold, now int64) (bool, uint64) {
	b := m.buckets[k]
	if i := slices.Index(m.order, k); i >= 0 {
		m.order = slices.Delete(m.order, i, i+1)
	} else {
		if len(m.order) == m.max {
			last := m.order[len(m.order)-1]
			m.order = m.order[:len(m.order)-1]
			delete(m.buckets, last)
			m.evicted++
		}
		b = &bucket{start: now}
		m.buckets[k] = b
	}
	m.order = slices.Insert(m.order, 0, k)
	if b.count == 0 || now-b.start >= th.Seconds*1e9 {
		b.start, b.count = now, 0
	}
	b.count++
	n := uint64(th.Count)
	ok := false
	switch th.Type {
	case rules.ThresholdLimit:
		ok = b.count <= n
	case rules.ThresholdEvery:
		ok = b.count%n == 0
	default:
		ok = b.count == n
	}
	if !ok {
		b.held++
		return false, 0
	}
	held := b.held
	b.held = 0
	return true, held
}

// FuzzThresholds drives the threshold table (engine/threshold.go) with arbitrary matches: its
// decisions, held-back counts and evictions must equal the reference model's, and its LRU list
// must hold exactly the buckets in use. Input: byte 0 table size (1-8), then per signature (two
// of them) type, track, count (1-4), seconds (1-4); then 3 bytes per match: signature and IPv6
// bit, address byte, time step (in 100 ms).
func FuzzThresholds(f *testing.F) {
	f.Add([]byte{2, 0, 0, 2, 1, 1, 1, 3, 2, 0, 1, 0, 0, 2, 0, 1, 1, 10, 0, 2, 30, 1, 3, 0})
	f.Add([]byte{8, 2, 2, 1, 4, 0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 50})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 9 {
			return
		}
		max := 1 + int(in[0])%8
		sigs := []*rules.Signature{{Index: 0}, {Index: 1}}
		for i, s := range sigs {
			c := in[1+4*i:]
			s.Threshold = &rules.Threshold{
				Type:    rules.ThresholdType(1 + int(c[0])%3),
				Track:   []rules.Track{rules.BySrc, rules.ByDst, rules.ByRule}[int(c[1])%3],
				Count:   1 + uint32(c[2])%4,
				Seconds: 1 + int64(c[3])%4,
			}
		}
		set := &rules.Set{Signatures: sigs}
		var thr thresholds
		thr.max = max
		thr.reset(set)
		m := &thrModel{max: max, buckets: map[bucketKey]*bucket{}}
		var st Stats
		now := int64(1254139200e9)
		for in = in[9:]; len(in) >= 3; in = in[3:] {
			sig := sigs[in[0]&1]
			src := netip.AddrFrom4([4]byte{192, 0, 2, in[1] & 7})
			dst := netip.AddrFrom4([4]byte{203, 0, 113, in[1] >> 5})
			if in[0]&2 != 0 {
				src = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: in[1] & 7})
				dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 1, 15: in[1] >> 5})
			}
			now += int64(in[2]) * 100e6
			a := &alert.Alert{TS: now, Src: src, Dst: dst, Sig: sig}
			got := thr.pass(a, &st)

			k := bucketKey{sig: uint32(sig.Index) << 1}
			switch sig.Threshold.Track {
			case rules.BySrc:
				k.track(src)
			case rules.ByDst:
				k.track(dst)
			}
			want, held := m.pass(k, sig.Threshold, now)
			if got != want || (got && a.Suppressed != held) {
				t.Fatalf("match at %d of %v: pass %v suppressed %d, model %v %d", now, k, got, a.Suppressed, want, held)
			}
			if st.ThresholdEvictions != m.evicted || int(thr.used) != len(m.order) || int(thr.used) > max {
				t.Fatalf("evictions %d used %d, model %d %d (max %d)", st.ThresholdEvictions, thr.used, m.evicted, len(m.order), max)
			}
			var lru []bucketKey
			for i := thr.head; i != noBucket; i = thr.buckets[i].next {
				lru = append(lru, thr.buckets[i].key)
				if len(lru) > max {
					t.Fatalf("LRU list loops")
				}
			}
			if !slices.Equal(lru, m.order) {
				t.Fatalf("LRU order %v, model %v", lru, m.order)
			}
		}
	})
}
