package engine

import (
	"hash/maphash"
	"net/netip"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/internal/hashindex"
	"github.com/ids-sensor/ids/rules"
)

// thresholds applies the rules' thresholds and suppressions to detections before they reach
// the sink (Suricata's threshold.config semantics, on packet time so that a replay is
// deterministic). Buckets, one per (signature, tracked address), live in a fixed table of
// settings' threshold.max_entries, allocated when a rules set first needs it; when it is full the
// least recently matched bucket is evicted and counted (Stats.ThresholdEvictions). An evicted
// bucket's window starts afresh on its next match, so eviction can let extra alerts through,
// never hide one. Nothing allocates per alert.
type thresholds struct {
	max        int
	buckets    []bucket // len is max once allocated
	used       int32    // buckets handed out; the rest of buckets is free
	index      hashindex.Index
	head, tail int32 // LRU list: head most recently matched, tail next to evict
	seed       maphash.Seed
	suppressed []uint64 // by rules.Signature.Index: matches held back
}

type bucketKey struct {
	sig  uint32   // rules.Signature.Index<<1, | 1 when addr is IPv6 (::ffff:192.0.2.1 is not 192.0.2.1)
	addr [16]byte // tracked address (As16), zero for by_rule
}

type bucket struct {
	key        bucketKey
	hash       uint32
	prev, next int32
	start      int64  // window start, packet time (ns)
	count      uint64 // matches in the window
	held       uint64 // matches held back since the last alert written from this bucket
}

const noBucket = -1

func (k *bucketKey) track(a netip.Addr) {
	k.addr = a.As16()
	if a.Is6() {
		k.sig |= 1
	}
}

// reset empties the table for a new rules set (signature indices change with it), allocating
// it the first time a set needs one.
func (t *thresholds) reset(set *rules.Set) {
	t.suppressed = make([]uint64, len(set.Signatures))
	t.used, t.head, t.tail = 0, noBucket, noBucket
	if t.buckets == nil {
		if !set.HasThresholds() {
			return
		}
		t.buckets = make([]bucket, t.max)
		t.index = hashindex.New(t.max)
		t.seed = maphash.MakeSeed() // keyed: crafted addresses cannot force long probe runs
		return
	}
	clear(t.index)
}

// pass decides whether the detection a becomes an alert. When it does after matches of its
// bucket were held back, a.Suppressed says how many.
func (t *thresholds) pass(a *alert.Alert, st *Stats) bool {
	sig := a.Sig
	for i := range sig.Suppress {
		sp := &sig.Suppress[i]
		var hit bool
		switch sp.Track {
		case rules.BySrc:
			hit = sp.Prefix.Contains(a.Src)
		case rules.ByDst:
			hit = sp.Prefix.Contains(a.Dst)
		default: // rules.ByEither
			hit = sp.Prefix.Contains(a.Src) || sp.Prefix.Contains(a.Dst)
		}
		if hit {
			t.suppressed[sig.Index]++
			return false
		}
	}
	th := sig.Threshold
	if th == nil || t.buckets == nil { // no table: the set had no threshold at reset (sets are immutable)
		return true
	}
	k := bucketKey{sig: uint32(sig.Index) << 1}
	switch th.Track {
	case rules.BySrc:
		k.track(a.Src)
	case rules.ByDst:
		k.track(a.Dst)
	}
	b := t.bucket(&k, a.TS, st)
	if b.count == 0 || a.TS-b.start >= th.Seconds*1e9 {
		b.start, b.count = a.TS, 0
	}
	b.count++
	n := uint64(th.Count)
	var ok bool
	switch th.Type {
	case rules.ThresholdLimit:
		ok = b.count <= n
	case rules.ThresholdEvery:
		ok = b.count%n == 0
	default: // rules.ThresholdBoth
		ok = b.count == n
	}
	if !ok {
		b.held++
		t.suppressed[sig.Index]++
		return false
	}
	a.Suppressed, b.held = b.held, 0
	return true
}

// bucket finds k's bucket, or makes one (evicting the least recently matched if the table is
// full), and moves it to the front of the LRU list.
func (t *thresholds) bucket(k *bucketKey, now int64, st *Stats) *bucket {
	h := uint32(maphash.Comparable(t.seed, *k))
	c := t.index.Lookup(h)
	for {
		i, ok := c.Next()
		if !ok {
			break
		}
		if b := &t.buckets[i]; b.key == *k {
			t.unlink(i)
			t.pushFront(i)
			return b
		}
	}
	var i int32
	if int(t.used) < len(t.buckets) {
		i = t.used
		t.used++
	} else {
		i = t.tail
		t.unlink(i)
		t.index.Remove(t.buckets[i].hash, i)
		st.ThresholdEvictions++
	}
	t.buckets[i] = bucket{key: *k, hash: h, start: now}
	t.index.Insert(h, i)
	t.pushFront(i)
	return &t.buckets[i]
}

func (t *thresholds) unlink(i int32) {
	b := &t.buckets[i]
	if b.prev != noBucket {
		t.buckets[b.prev].next = b.next
	} else {
		t.head = b.next
	}
	if b.next != noBucket {
		t.buckets[b.next].prev = b.prev
	} else {
		t.tail = b.prev
	}
}

func (t *thresholds) pushFront(i int32) {
	b := &t.buckets[i]
	b.prev, b.next = noBucket, t.head
	if t.head != noBucket {
		t.buckets[t.head].prev = i
	} else {
		t.tail = i
	}
	t.head = i
}

// AlertsSuppressed returns how many detections of sig the current rules set's thresholds and
// suppressions kept from the output (per-signature counts start again at zero on SetRules, as
// Stats.Alerts do). Stats.AlertsSuppressed is the total across rules sets.
func (e *Engine) AlertsSuppressed(sig *rules.Signature) uint64 {
	if sig.Index >= len(e.thr.suppressed) {
		return 0
	}
	return e.thr.suppressed[sig.Index]
}

// ThresholdEntries returns how many threshold buckets are in use, and the table's capacity.
func (e *Engine) ThresholdEntries() (used, capacity int) {
	return int(e.thr.used), e.thr.max
}
