// Package defrag reassembles IPv4 and IPv6 fragments for the detection engine, in bounded memory
// and without allocating after New.
//
// Invariants, relied on by the engine:
//   - No heap allocation per fragment. New preallocates a page arena of Config.MaxBytes, the
//     datagram slots, their hash index and one output buffer; nothing grows afterwards.
//   - Memory is bounded: fragment bytes (payload and the first fragment's header) live in
//     512-byte pages of the arena, so Stats.BytesHeld (pages in use × 512) never exceeds
//     MaxBytes. Under pressure the oldest datagrams go first; a fragment that cannot fit even in
//     an arena emptied of every other datagram is refused.
//   - Bounded work per fragment: each Add copies and compares at most the fragment's own bytes,
//     expires at most a few timed-out datagrams, and evicts only as many datagrams as its pages
//     need (each datagram is evicted once, so eviction is constant work per fragment, amortised).
//   - Hostile input is normal input: Add never panics and never reads past a slice. Fragments it
//     cannot use are dropped and counted (Malformed, Truncated); only fully received datagrams
//     are returned, never one with gaps or one longer than 65535 bytes.
//
// Overlap policy "first": bytes already held win over bytes that arrive later for the same
// positions, the way Windows reassembles IPv4 (the platform this engine protects), so the engine
// inspects what the host will see. IPv6 uses the same policy (RFC 5722 hosts drop such datagrams
// altogether; the anomalies below flag them either way). Every fragment that overlaps held bytes
// records IPv4FragOverlap or IPv6FragOverlap on its packet, an exact duplicate included; when any
// overlapping byte differs it also records ...FragOverlapDiff. The datagram's length is decided
// the same way: the first fragment without MF fixes the end, and a later fragment that reaches
// past it, or a second last fragment with another end, counts as an overlap with different data;
// its bytes within the established length are still compared and filed.
//
// A datagram found longer than 65535 bytes (ping of death) is discarded at the fragment that
// shows it, and its key is kept, holding no memory, until it times out, so that the rest of its
// fragments are dropped rather than start another datagram. Every fragment but the last must
// carry a multiple of 8 bytes (RFC 791, RFC 8200); others are dropped as Malformed.
//
// A returned datagram starts with the first fragment's IP header. IPv4: the header with its
// options, total length set, MF and offset cleared (DF and the reserved bit kept as sent),
// checksum recomputed. IPv6: the fixed header and the extension headers before the Fragment
// header (the unfragmentable part), the Fragment header removed, the Next Header that named it
// set to the Fragment header's Next Header, payload length set.
//
// Datagrams are keyed, as hosts key them, by source, destination, identification and protocol
// for IPv4, by source, destination and fragment identification for IPv6 (RFC 8200: the Next
// Header of later fragments may differ), and by the outer VLAN id so that separate networks
// sharing addresses do not mix. IPv6 atomic fragments (offset 0, M clear) are returned at once
// and never mixed with other fragments (RFC 6946).
package defrag

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"math/bits"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/internal/hashindex"
)

// Config bounds a Defragmenter. A field that is zero or negative takes its DefaultConfig value.
type Config struct {
	MaxDatagrams int   // datagrams in progress at once
	MaxBytes     int   // bytes of fragment memory (payload and first-fragment headers, in pages): the memcap
	Timeout      int64 // nanoseconds of packet time a datagram may take to complete
}

// DefaultConfig is the engine's default (rules settings defrag.*).
var DefaultConfig = Config{MaxDatagrams: 4096, MaxBytes: 32 << 20, Timeout: 30e9}

// Stats counts what a Defragmenter did. InProgress and BytesHeld are gauges, the rest counters.
type Stats struct {
	Fragments    uint64 // fragments offered
	Reassembled  uint64 // datagrams completed and returned (IPv6 atomic fragments included)
	InProgress   uint64 // gauge: datagram slots in use (waiting for fragments, or discarded and absorbing the rest)
	BytesHeld    uint64 // gauge: page memory in use, in bytes
	Timeouts     uint64 // datagrams dropped because they did not complete in time
	EvictedFull  uint64 // datagrams dropped to make room (MaxDatagrams reached): oldest first
	MemcapDrops  uint64 // fragments refused, and datagrams dropped oldest first, because MaxBytes was reached
	TooLarge     uint64 // datagrams discarded for exceeding 65535 bytes
	Overlaps     uint64 // overlapping fragments (any)
	OverlapsDiff uint64 // overlapping fragments whose bytes differ
	Tiny         uint64 // first fragments too short for the transport header
	Malformed    uint64 // fragments dropped as invalid: no payload, MF set on a length not a multiple of 8, bad lengths
	Truncated    uint64 // fragments dropped because the capture cut them (caplen < wire length)
}

// Sizes. A page holds 64 units of 8 bytes, the granularity of fragment offsets, so one word
// records which units of a page are held.
const (
	pageShift    = 9
	pageSize     = 1 << pageShift
	maxIPLen     = 65535         // IPv4 total length, IPv6 payload length
	outSize      = 40 + maxIPLen // largest datagram returned: an IPv6 header and a full payload
	expireBudget = 4             // timed-out datagrams dropped per Add, at most
	maxExtHdrs   = decode.MaxIPv6ExtHeaders
	noPage       = -1
	noSlot       = -1
)

// page is the bookkeeping of one arena page. Payload byte x of a datagram is byte x%pageSize of
// the datagram's page with idx x/pageSize, so overlaps are found by position, not by search.
type page struct {
	cov  uint64 // 8-byte units held (payload pages)
	next int32  // next page of the datagram's payload list, header chain or the free list
	idx  uint16 // page number within the payload
}

type key struct {
	src, dst [16]byte
	id       uint32
	vlan     uint16
	proto    uint8 // IPv4 only
	v6       bool
}

// datagram is one slot: a datagram in progress.
type datagram struct {
	key        key
	hash       uint32
	created    int64 // packet time of its first fragment
	prev, next int32 // age list, oldest at Defragmenter.head
	pages      int32 // payload pages, highest idx first (in-order arrival finds its page at once)
	hdr        int32 // header chain, in order
	npages     int32 // pages held, payload and header
	hdrLen     int32 // IP header (IPv4) or unfragmentable part (IPv6) of the first fragment; 0: not yet
	nhOff      int32 // IPv6: offset in the header of the Next Header byte naming the Fragment header
	nextHdr    uint8 // IPv6: the first fragment's Fragment header Next Header
	last       bool  // a fragment without MF fixed end
	dead       bool  // discarded (too large): absorbs the rest of its fragments until it times out
	end        int32 // payload length, when last
	maxEnd     int32 // highest payload byte filed, +1
	units      int32 // 8-byte units held
}

// Defragmenter reassembles fragments. Not safe for concurrent use: one per worker.
type Defragmenter struct {
	cfg       Config
	mem       []byte // the arena: len(pages) pages
	pages     []page
	freePage  int32
	nfree     int
	slots     []datagram
	freeSlots []int32
	index     hashindex.Index // datagram.hash -> slot
	head      int32           // oldest datagram
	tail      int32           // newest datagram
	seed      maphash.Seed
	out       []byte
	Stats     Stats
}

// New preallocates a Defragmenter for cfg: MaxBytes/512 pages, min(MaxDatagrams, pages) slots
// (every datagram being reassembled holds a page, so more slots would sit idle), a hash index
// of twice that, and a 65575-byte output buffer.
func New(cfg Config) *Defragmenter {
	if cfg.MaxDatagrams <= 0 {
		cfg.MaxDatagrams = DefaultConfig.MaxDatagrams
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultConfig.MaxBytes
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultConfig.Timeout
	}
	npages := cfg.MaxBytes >> pageShift
	nslots := max(min(cfg.MaxDatagrams, npages), 1)
	d := &Defragmenter{
		cfg:       cfg,
		mem:       make([]byte, npages<<pageShift),
		pages:     make([]page, npages),
		freePage:  noPage,
		slots:     make([]datagram, nslots),
		freeSlots: make([]int32, nslots),
		index:     hashindex.New(nslots),
		head:      noSlot,
		tail:      noSlot,
		seed:      maphash.MakeSeed(), // keyed hashing: crafted addresses cannot force long probes
		out:       make([]byte, outSize),
	}
	for i := npages - 1; i >= 0; i-- {
		d.pages[i].next = d.freePage
		d.freePage = int32(i)
	}
	d.nfree = npages
	for i := range d.freeSlots {
		d.freeSlots[i] = int32(nslots - 1 - i)
	}
	return d
}

// Config returns the limits in effect.
func (d *Defragmenter) Config() Config { return d.cfg }

// frag is a fragment as Add files it.
type frag struct {
	key     key
	off     int    // payload offset in bytes
	end     int    // off + len(data)
	more    bool   // MF / M flag
	data    []byte // the fragment's payload
	hdr     []byte // IPv4 header with options, or IPv6 header and unfragmentable extension headers
	nhOff   int    // IPv6: offset in hdr of the Next Header byte that names the Fragment header
	nextHdr uint8  // IPv6: the Fragment header's Next Header
	proto   uint8  // IPv4 protocol, or IPv6 Fragment header Next Header: the tiny check starts there
	v6      bool
}

// anomalies of one family.
type famAnoms struct{ overlap, diff, tooLarge, tiny decode.Anomaly }

var (
	anoms4 = famAnoms{decode.IPv4FragOverlap, decode.IPv4FragOverlapDiff, decode.IPv4FragTooLarge, decode.IPv4FragTiny}
	anoms6 = famAnoms{decode.IPv6FragOverlap, decode.IPv6FragOverlapDiff, decode.IPv6FragTooLarge, decode.IPv6FragTiny}
)

// Add files the fragment p has just decoded (p.Layers has decode.LayerFragment; p.Data is the
// frame, the IP header at p.NetOff). It records anomalies on p with p.Record, and when p
// completes a datagram it returns the whole reassembled datagram starting at its IP header,
// ready for p.DecodeDatagram, in a buffer owned by the Defragmenter and valid until the next
// call to Add. Otherwise it returns nil.
func (d *Defragmenter) Add(p *decode.Packet) []byte {
	d.Stats.Fragments++
	var f frag
	if !d.parse(p, &f) {
		return nil
	}
	an := &anoms4
	if f.v6 {
		an = &anoms6
	}
	if f.off == 0 && f.more && tiny(f.proto, f.data, f.v6) {
		p.Record(an.tiny)
		d.Stats.Tiny++
	}
	if f.v6 && f.off == 0 && !f.more {
		return d.atomic(&f)
	}
	d.expire(p.TS, expireBudget)

	h := uint32(maphash.Comparable(d.seed, f.key)) | 1 // never 0, so an index entry is never 0
	s := d.find(&f.key, h)
	var dg *datagram
	if s != noSlot {
		dg = &d.slots[s]
		if dg.dead {
			return nil
		}
	}

	// Too large: the smallest length the reassembled datagram can have is already over the
	// limit. The header counted is the first fragment's once known (IPv4 at least 20 bytes).
	hl := 0
	switch {
	case dg != nil && dg.hdrLen > 0:
		hl = int(dg.hdrLen)
	case f.off == 0:
		hl = len(f.hdr)
	case !f.v6:
		hl = 20
	}
	if f.v6 && hl > 0 {
		hl -= 40 // the IPv6 payload length excludes the fixed header
	}
	reach := f.end
	if dg != nil {
		reach = max(reach, int(dg.maxEnd))
	}
	if hl+reach > maxIPLen {
		p.Record(an.tooLarge)
		d.Stats.TooLarge++
		if s == noSlot {
			s = d.newSlot(&f.key, h, p.TS)
		}
		d.kill(s)
		return nil
	}

	// Settle the datagram's length: the first last fragment fixes it (see the package doc).
	o, e := f.off, f.end
	var overlap, diff, claimEnd bool
	if dg != nil && dg.last && e > int(dg.end) {
		overlap, diff = true, true
		e = int(dg.end)
	}
	if !f.more {
		switch {
		case dg != nil && dg.last:
			if f.end != int(dg.end) {
				overlap, diff = true, true
				if f.end < int(dg.end) {
					// Held bytes are tracked in 8-byte units, so a fragment that does not
					// end the datagram files whole units only.
					e = f.end &^ 7
				}
			}
		case dg != nil && int(dg.maxEnd) > f.end:
			overlap, diff = true, true
			e = f.end &^ 7
		default:
			claimEnd = true
		}
	}
	e = max(e, o)

	missing, fresh := 0, 0
	if e > o {
		var held, differ bool
		held, differ, missing, fresh = d.scan(s, &f, o, e)
		overlap = overlap || held
		diff = diff || differ
	}
	if overlap {
		p.Record(an.overlap)
		d.Stats.Overlaps++
		if diff {
			p.Record(an.diff)
			d.Stats.OverlapsDiff++
		}
	}

	needHdr := f.off == 0 && (dg == nil || dg.hdrLen == 0)
	need := missing
	if needHdr {
		need += (len(f.hdr) + pageSize - 1) >> pageShift
	}
	if need > 0 {
		held := 0
		if dg != nil {
			held = int(dg.npages)
		}
		if need+held > len(d.pages) { // it cannot fit even alone
			d.Stats.MemcapDrops++
			return nil
		}
	}
	if s == noSlot {
		s = d.newSlot(&f.key, h, p.TS)
	}
	for d.nfree < need {
		victim := d.head
		if victim == s {
			victim = d.slots[s].next
		}
		if victim == noSlot { // unreachable: the check above leaves room once the others are gone
			d.Stats.MemcapDrops++
			return nil
		}
		d.drop(victim, &d.Stats.MemcapDrops)
	}
	dg = &d.slots[s]

	if fresh > 0 {
		d.file(s, &f, o, e)
	}
	if needHdr {
		d.storeHdr(s, &f)
	}
	if claimEnd {
		dg.last, dg.end = true, int32(f.end)
	}
	if dg.last && dg.hdrLen > 0 && int(dg.units) == (int(dg.end)+7)>>3 {
		out := d.assemble(s)
		d.release(s)
		d.Stats.Reassembled++
		return out
	}
	return nil
}

// Expire drops every datagram older than Timeout at packet time now (counted as Timeouts). Its
// work is proportional to the datagrams in progress; Add expires a few at a time on its own.
func (d *Defragmenter) Expire(now int64) {
	for s := d.head; s != noSlot; {
		next := d.slots[s].next
		if d.expired(s, now) {
			d.drop(s, &d.Stats.Timeouts)
		}
		s = next
	}
}

func (d *Defragmenter) expired(s int32, now int64) bool {
	c := d.slots[s].created
	return now > c && uint64(now)-uint64(c) > uint64(d.cfg.Timeout) // no overflow at extreme times
}

// expire drops up to budget timed-out datagrams, oldest first.
func (d *Defragmenter) expire(now int64, budget int) {
	for ; budget > 0 && d.head != noSlot && d.expired(d.head, now); budget-- {
		d.drop(d.head, &d.Stats.Timeouts)
	}
}

// parse checks p and fills f; false when p is dropped (and counted).
func (d *Defragmenter) parse(p *decode.Packet, f *frag) bool {
	if p.Layers&decode.LayerFragment == 0 || p.NetOff < 0 || p.NetOff > len(p.Data) {
		d.Stats.Malformed++
		return false
	}
	b := p.Data[p.NetOff:]
	var ok bool
	switch {
	case p.Layers&decode.LayerIPv4 != 0 && p.IPVersion == 4:
		ok = d.parse4(p, b, f)
	case p.Layers&decode.LayerIPv6 != 0 && p.IPVersion == 6:
		ok = d.parse6(p, b, f)
	default:
		d.Stats.Malformed++
		return false
	}
	if !ok {
		return false
	}
	if len(f.data) == 0 || (f.more && len(f.data)%8 != 0) {
		// RFC 791, RFC 8200: every fragment but the last carries a multiple of 8 bytes. Stacks
		// differ on such fragments (Linux trims them, others drop them): dropped here, and
		// recorded, since the original teardrop tool sends exactly this.
		if f.key.v6 {
			p.Record(decode.IPv6FragInvalidLen)
		} else {
			p.Record(decode.IPv4FragInvalidLen)
		}
		d.Stats.Malformed++
		return false
	}
	f.end = f.off + len(f.data)
	if p.NumVLAN > 0 {
		f.key.vlan = p.VLAN[0]
	}
	return true
}

// short counts a fragment whose IP payload is not all in the frame.
func (d *Defragmenter) short(p *decode.Packet) bool {
	if p.Layers&decode.LayerTruncated != 0 {
		d.Stats.Truncated++
	} else {
		d.Stats.Malformed++ // the header claims more than was sent
	}
	return false
}

func (d *Defragmenter) parse4(p *decode.Packet, b []byte, f *frag) bool {
	h := &p.IPv4
	hlen, total := int(h.HeaderLen), int(h.TotalLen)
	if hlen < 20 || total < hlen || len(b) < hlen {
		d.Stats.Malformed++ // total 0 (segmentation offload) included: the length is unknown
		return false
	}
	if total > len(b) {
		return d.short(p)
	}
	f.key = key{src: p.Src.As16(), dst: p.Dst.As16(), id: uint32(h.ID), proto: h.Protocol}
	f.off = int(h.FragOff)
	f.more = h.Flags&decode.IPv4MoreFragments != 0
	f.hdr = b[:hlen]
	f.data = b[hlen:total]
	f.proto = h.Protocol
	return true
}

// parse6 finds the first Fragment header itself: the decoder does not export where it is, and
// the header before it must be patched in the reassembled datagram.
func (d *Defragmenter) parse6(p *decode.Packet, b []byte, f *frag) bool {
	if len(b) < 40 {
		d.Stats.Malformed++
		return false
	}
	plen := int(binary.BigEndian.Uint16(b[4:6]))
	if plen == 0 { // a jumbogram cannot be fragmented (RFC 2675)
		d.Stats.Malformed++
		return false
	}
	if 40+plen > len(b) {
		return d.short(p)
	}
	b = b[:40+plen]
	nh, off, nhOff := b[6], 40, 6
	for n := 0; nh != 44; n++ {
		hl, ext := extLen(nh, b[off:])
		if !ext || n == maxExtHdrs || hl > len(b)-off {
			d.Stats.Malformed++ // the chain ends, or is cut, before a Fragment header
			return false
		}
		nh, nhOff, off = b[off], off, off+hl
	}
	if off+8 > len(b) {
		d.Stats.Malformed++
		return false
	}
	fh := b[off : off+8]
	fo := binary.BigEndian.Uint16(fh[2:4])
	f.key = key{src: p.Src.As16(), dst: p.Dst.As16(), id: binary.BigEndian.Uint32(fh[4:8]), v6: true}
	f.off = int(fo &^ 7)
	f.more = fo&1 != 0
	f.hdr = b[:off]
	f.data = b[off+8:]
	f.nhOff = nhOff
	f.nextHdr = fh[0]
	f.proto = fh[0]
	f.v6 = true
	return true
}

// tiny reports whether a first fragment's payload is too short for the transport header:
// RFC 1858 for IPv4; for IPv6, RFC 7112 asks for the whole header chain, so the extension
// headers after the Fragment header are walked first.
func tiny(proto uint8, b []byte, v6 bool) bool {
	for n := 0; v6 && n < maxExtHdrs; n++ {
		hl, ext := extLen(proto, b)
		if !ext {
			break
		}
		if hl > len(b) {
			return true
		}
		proto, b = b[0], b[hl:]
	}
	need := 0
	switch proto {
	case 6:
		// Ports and flags: RFC 1858's concern. Options may spill into the next fragment; real
		// stacks do that with large SYNs, and filters need only the fixed header.
		need = 20
	case 17, 1, 58:
		need = 8
	}
	return len(b) < need
}

// extLen returns the length of the IPv6 extension header nh starting b, or ext false when nh is
// an upper-layer header (or ESP, whose length is unknowable). When b is too short to hold the
// length field, hl is 2: more than len(b), as for any header running past b.
func extLen(nh uint8, b []byte) (hl int, ext bool) {
	switch nh {
	case 0, 43, 60, 135, 139, 140, 253, 254, 51:
		if len(b) < 2 {
			return 2, true
		}
		if nh == 51 { // AH counts 32-bit words, minus 2
			return (int(b[1]) + 2) * 4, true
		}
		return (int(b[1]) + 1) * 8, true
	case 44:
		return 8, true
	}
	return 0, false
}

// scan compares the units of [o,e) that s already holds with f's bytes, and counts the pages
// and units missing. It changes nothing, so a fragment refused for memory is still judged.
func (d *Defragmenter) scan(s int32, f *frag, o, e int) (held, diff bool, missing, fresh int) {
	cur := int32(noPage)
	if s != noSlot {
		cur = d.slots[s].pages
	}
	for pi := (e - 1) >> pageShift; pi >= o>>pageShift; pi-- {
		for cur != noPage && int(d.pages[cur].idx) > pi {
			cur = d.pages[cur].next
		}
		base := pi << pageShift
		lo, hi := max(o, base)-base, min(e, base+pageSize)-base
		m := unitMask(lo>>3, (hi+7)>>3)
		if cur == noPage || int(d.pages[cur].idx) != pi {
			missing++
			fresh += bits.OnesCount64(m)
			continue
		}
		cov := d.pages[cur].cov
		fresh += bits.OnesCount64(m &^ cov)
		hm := cov & m
		held = held || hm != 0
		pm := d.mem[int(cur)<<pageShift:][:pageSize]
		for hm != 0 && !diff {
			u, v := run(hm)
			a, z := max(lo, u*8), min(hi, v*8)
			diff = !bytes.Equal(pm[a:z], f.data[base+a-f.off:base+z-f.off])
			hm &^= unitMask(u, v)
		}
	}
	return held, diff, missing, fresh
}

// file copies the units of [o,e) that s does not hold yet, adding the pages it lacks (scan
// counted them and Add made room).
func (d *Defragmenter) file(s int32, f *frag, o, e int) {
	dg := &d.slots[s]
	link := &dg.pages
	for pi := (e - 1) >> pageShift; pi >= o>>pageShift; pi-- {
		for *link != noPage && int(d.pages[*link].idx) > pi {
			link = &d.pages[*link].next
		}
		if *link == noPage || int(d.pages[*link].idx) != pi {
			pg := d.allocPage()
			d.pages[pg] = page{idx: uint16(pi), next: *link}
			*link = pg
			dg.npages++
		}
		cur := *link
		base := pi << pageShift
		lo, hi := max(o, base)-base, min(e, base+pageSize)-base
		m := unitMask(lo>>3, (hi+7)>>3)
		nm := m &^ d.pages[cur].cov
		d.pages[cur].cov |= nm
		dg.units += int32(bits.OnesCount64(nm))
		pm := d.mem[int(cur)<<pageShift:][:pageSize]
		for nm != 0 {
			u, v := run(nm)
			a, z := max(lo, u*8), min(hi, v*8)
			copy(pm[a:z], f.data[base+a-f.off:base+z-f.off])
			nm &^= unitMask(u, v)
		}
		link = &d.pages[cur].next
	}
	dg.maxEnd = max(dg.maxEnd, int32(e))
}

// storeHdr keeps the first fragment's header in a chain of pages (Add made room).
func (d *Defragmenter) storeHdr(s int32, f *frag) {
	dg := &d.slots[s]
	link := &dg.hdr
	for rest := f.hdr; len(rest) > 0; {
		pg := d.allocPage()
		d.pages[pg] = page{next: noPage}
		n := copy(d.mem[int(pg)<<pageShift:][:pageSize], rest)
		rest = rest[n:]
		*link = pg
		link = &d.pages[pg].next
		dg.npages++
	}
	dg.hdrLen = int32(len(f.hdr))
	dg.nhOff = int32(f.nhOff)
	dg.nextHdr = f.nextHdr
}

// assemble writes the complete datagram s into the output buffer.
func (d *Defragmenter) assemble(s int32) []byte {
	dg := &d.slots[s]
	hl, end := int(dg.hdrLen), int(dg.end)
	out := d.out[:hl+end]
	n := 0
	for pg := dg.hdr; pg != noPage && n < hl; pg = d.pages[pg].next {
		n += copy(out[n:hl], d.mem[int(pg)<<pageShift:][:pageSize])
	}
	for pg := dg.pages; pg != noPage; pg = d.pages[pg].next {
		if at := int(d.pages[pg].idx) << pageShift; at < end {
			copy(out[hl+at:], d.mem[int(pg)<<pageShift:][:min(pageSize, end-at)])
		}
	}
	if dg.key.v6 {
		binary.BigEndian.PutUint16(out[4:6], uint16(hl-40+end))
		out[dg.nhOff] = dg.nextHdr
	} else {
		finish4(out, hl)
	}
	return out
}

// finish4 sets an IPv4 header's total length, clears MF and the offset (keeping DF and the
// reserved bit as sent) and recomputes the checksum.
func finish4(out []byte, hl int) {
	binary.BigEndian.PutUint16(out[2:4], uint16(len(out)))
	out[6] &^= 0x3f
	out[7] = 0
	out[10], out[11] = 0, 0
	binary.BigEndian.PutUint16(out[10:12], checksum(out[:hl]))
}

// atomic returns an IPv6 atomic fragment as the datagram it is, without the Fragment header.
func (d *Defragmenter) atomic(f *frag) []byte {
	out := d.out[:len(f.hdr)+len(f.data)]
	n := copy(out, f.hdr)
	copy(out[n:], f.data)
	binary.BigEndian.PutUint16(out[4:6], uint16(len(out)-40))
	out[f.nhOff] = f.nextHdr
	d.Stats.Reassembled++
	return out
}

// checksum is the Internet checksum (RFC 1071) of an IPv4 header whose checksum field is 0.
func checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// unitMask returns bits u..v-1 (0 <= u < v <= 64).
func unitMask(u, v int) uint64 {
	if v-u >= 64 {
		return ^uint64(0)
	}
	return (uint64(1)<<(v-u) - 1) << u
}

// run returns the first run of set bits of m (m != 0) as units u..v-1.
func run(m uint64) (u, v int) {
	u = bits.TrailingZeros64(m)
	return u, u + bits.TrailingZeros64(^(m >> u))
}

func (d *Defragmenter) allocPage() int32 {
	pg := d.freePage
	d.freePage = d.pages[pg].next
	d.nfree--
	d.Stats.BytesHeld += pageSize
	return pg
}

func (d *Defragmenter) freeChain(pg int32) {
	for pg != noPage {
		next := d.pages[pg].next
		d.pages[pg].next = d.freePage
		d.freePage = pg
		d.nfree++
		d.Stats.BytesHeld -= pageSize
		pg = next
	}
}

// newSlot starts a datagram for k, dropping the oldest when every slot is taken.
func (d *Defragmenter) newSlot(k *key, h uint32, now int64) int32 {
	if len(d.freeSlots) == 0 {
		d.drop(d.head, &d.Stats.EvictedFull)
	}
	s := d.freeSlots[len(d.freeSlots)-1]
	d.freeSlots = d.freeSlots[:len(d.freeSlots)-1]
	d.slots[s] = datagram{key: *k, hash: h, created: now, prev: d.tail, next: noSlot, pages: noPage, hdr: noPage}
	if d.tail != noSlot {
		d.slots[d.tail].next = s
	} else {
		d.head = s
	}
	d.tail = s
	d.index.Insert(h, s)
	d.Stats.InProgress++
	return s
}

// kill discards s's bytes and keeps its key until it times out, so that the rest of a datagram
// found too large cannot start another one.
func (d *Defragmenter) kill(s int32) {
	dg := &d.slots[s]
	d.freeChain(dg.pages)
	d.freeChain(dg.hdr)
	dg.pages, dg.hdr, dg.npages, dg.units, dg.dead = noPage, noPage, 0, 0, true
}

// drop removes s, counting it in counter unless it was already discarded (and counted) as too large.
func (d *Defragmenter) drop(s int32, counter *uint64) {
	if !d.slots[s].dead {
		*counter++
	}
	d.release(s)
}

// release frees s and its pages.
func (d *Defragmenter) release(s int32) {
	dg := &d.slots[s]
	d.freeChain(dg.pages)
	d.freeChain(dg.hdr)
	if dg.prev != noSlot {
		d.slots[dg.prev].next = dg.next
	} else {
		d.head = dg.next
	}
	if dg.next != noSlot {
		d.slots[dg.next].prev = dg.prev
	} else {
		d.tail = dg.prev
	}
	d.index.Remove(dg.hash, s)
	*dg = datagram{}
	d.freeSlots = append(d.freeSlots, s)
	d.Stats.InProgress--
}

// find returns the slot of the datagram with key k and hash h, or noSlot.
func (d *Defragmenter) find(k *key, h uint32) int32 {
	c := d.index.Lookup(h)
	for {
		s, ok := c.Next()
		if !ok {
			return noSlot
		}
		if d.slots[s].key == *k {
			return s
		}
	}
}
