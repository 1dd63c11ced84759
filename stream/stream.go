// Package stream reassembles the payload of each direction of a TCP connection into the in-order
// byte stream that application-layer parsers consume incrementally.
//
// A segment that arrives in order is handed to the Consumer straight from the packet (zero copy);
// only segments that arrive ahead of a hole are copied, into fixed-size chunks from a pool that
// New preallocates, and held until the hole is filled, acknowledged (Ack) or given up (caps).
//
// Invariants, relied on by callers:
//   - No heap allocation after New. A Half is a few words inside the flow entry; the segments it
//     holds live in the Reassembler's pool and are named by chunk index.
//   - Every sequence number is delivered at most once, in order, either as data (Consumer.Data)
//     or as lost (Consumer.Gap). Bytes delivered plus gap bytes equal how far the stream advanced.
//   - Memory is bounded: a Half holds at most FlowCap bytes of chunks and all Halves together at
//     most Memcap. Caps are charged in whole chunks (ChunkSize bytes), the memory really used, so
//     tiny scattered segments reach a cap sooner than their byte count suggests.
//   - Work per segment is logarithmic in the chunks the Half holds, plus the chunks the segment
//     overlaps: the place of a segment among them is found in a B+tree (see index.go).
//   - Sequence numbers are compared modulo 2^32. A segment starting more than MaxAhead bytes past
//     the next expected byte is garbage: counted and ignored, so it can neither hold memory nor
//     report an absurd gap.
//
// Overlap policy "first": where a segment overlaps bytes already received, the bytes received
// first win, whatever the segments' boundaries. That is how Windows since Vista resolves
// overlapping TCP segments (Snort's "vista" policy, after Novak and Sturges, "Target-Based TCP
// Stream Reassembly"), and Windows hosts are what this sensor protects, so the parsers see what
// the target saw. (XP and Server 2003 differ: like BSD, they let a later segment that starts
// before a held one replace it.) Bytes already delivered are not kept, so a retransmission of
// them is dropped unexamined; an overlap with held bytes is compared and recorded on the packet
// as decode.StreamOverlap, plus decode.StreamOverlapDiff when the bytes differ (an evasion
// attempt: a host with another policy would have seen different data).
//
// Bytes a segment carried but the capture cut (snap length) are known to exist but not what they
// were: they take their place in the stream and are reported as a Gap. They are "received" for the
// overlap policy too, so a later copy of them does not replace them, exactly as a later copy of
// delivered bytes does not.
//
// When a cap stops a segment from being held, the hole before it is given up: held data and gaps
// are delivered up to the segment, which is then delivered in order. A hole that is never filled
// (a capture drop whose Ack the sensor also missed) thus costs at most one Half's FlowCap before
// parsing resumes, and an attacker who fills the cap can force a gap — bounded reassembly cannot
// avoid that. Data held after the segment stays held.
//
// Use: offer every TCP segment of a flow to Segment with the Half of its direction, SYNs included
// (they fix where the stream starts); for a segment with ACK set, also call Ack on the other
// direction's Half with its acknowledgment number, so holes the sensor will never see filled are
// given up promptly; call Release when the flow ends. A Reassembler is not safe for concurrent
// use: each worker owns one, with the flows it serves.
package stream

import (
	"bytes"

	"github.com/ids-sensor/ids/decode"
)

// ChunkSize is the size of the pool's chunks: a full-size segment takes three, and contiguous
// out-of-order segments are packed into the same chunks.
const ChunkSize = 512

// MaxAhead is how far past the next expected byte a segment may start before it is garbage: the
// largest window TCP can advertise (65535 << 14).
const MaxAhead = 1 << 30

// maxChunks keeps chunk indexes (and 0 for none) within uint32 and int on 32-bit platforms.
const maxChunks = 1<<31 - 2

// Defaults for zero Config fields.
const (
	DefaultMemcap  = 64 << 20
	DefaultFlowCap = 1 << 20
)

// Config bounds the memory used for out-of-order data. Zero fields take the defaults.
// Caps are rounded down to whole chunks: below ChunkSize nothing is held.
type Config struct {
	Memcap  int // bytes of out-of-order data held across all connections
	FlowCap int // bytes of out-of-order data held per direction of one connection
}

// Consumer receives one direction's bytes in order. It must not call back into the Reassembler
// for the same Half.
type Consumer interface {
	Data(dir int, b []byte) // the next in-order bytes; b is only valid during the call
	Gap(dir int, n uint32)  // n bytes that will never be delivered (capture loss, caps); delivery resumes after them
}

// Stats counts what the Reassembler did. Segments are those carrying payload.
type Stats struct {
	Segments     uint64 // segments offered
	InOrder      uint64 // delivered without copying (they started at the next expected byte)
	OutOfOrder   uint64 // held, at least in part, to be delivered once the hole before them closes
	Retransmits  uint64 // wholly duplicate data (already delivered or held), dropped
	Trimmed      uint64 // partly old: the already delivered head was dropped, the rest processed
	Overlaps     uint64 // segments partially or wholly overlapping held bytes
	OverlapsDiff uint64 // overlaps whose bytes differ from what was already received
	Garbage      uint64 // more than MaxAhead past the next expected byte, ignored
	Gaps         uint64 // gaps reported
	GapBytes     uint64
	HeldBytes    uint64 // gauge: out-of-order bytes held
	HeldChunks   uint64 // gauge: chunks in use (HeldChunks*ChunkSize <= Memcap)
	MemcapHits   uint64 // segments not held because Memcap was reached
	FlowCapHits  uint64 // segments not held because FlowCap was reached
}

// chunk is one pool entry: up to ChunkSize held bytes starting at seq, then cut bytes the capture
// removed (known sent, content unknown). A Half's chunks form a list sorted by seq whose ranges
// [seq, seq+n+cut) are disjoint and lie after Half.next. The list is the truth; a Half holding
// many chunks also indexes a prefix of it (see index.go), whose chunks are marked indexed.
type chunk struct {
	seq     uint32
	cut     uint32
	next    uint32 // next chunk in the Half's list; 0 ends it
	n       uint16
	indexed bool // in the Half's index
}

func (k *chunk) end() uint32 { return k.seq + uint32(k.n) + k.cut }

// Reassembler owns the chunk pool shared by the Halves of one worker's flows.
type Reassembler struct {
	Stats Stats

	chunks     []chunk // index 0 is unused so that 0 can mean "none"
	buf        []byte  // chunk i's bytes are buf[(i-1)*ChunkSize:][:ChunkSize]
	pool       pool    // which chunks are in use (pool.go)
	flowChunks uint32  // FlowCap in chunks

	nodes     []node // the Halves' index nodes (index.go); index 0 is unused
	nodeFree  uint32 // free list of returned nodes, linked through val[0]
	nodeFresh uint32 // nodes[nodeFresh:] have never been used
	nodesUsed int

	// The nodes the last search or index of the current Half descended through, from the leaf
	// (path[0]) up, and the child taken in each: a chunk inserted next to the last one found
	// skips the descent. Valid while pathOK: insert clears it, as does any change but adding a
	// key to a leaf.
	path   [maxLevels]uint32
	at     [maxLevels]uint8
	pathOK bool

	gap uint32 // gap bytes not yet reported: adjacent gaps are reported as one
}

// Half is one direction's reassembly state; the engine embeds two per TCP flow. The zero value
// means nothing seen. Release must be called before a Half that holds data is dropped or reused.
type Half struct {
	next   uint32 // sequence number of the next byte to deliver, when halfStarted
	fin    uint32 // sequence number of the FIN, when halfFIN
	head   uint32 // held chunks, lowest sequence first; 0 when none
	tail   uint32 // the last held chunk, 0 if none; while halfIndexed, the index's root node, which keeps it
	chunks uint32 // chunks held
	flags  uint8
}

const (
	halfStarted = 1 << iota
	halfFIN
	halfIndexed // the Half has an index: tail is its root node (Reassembler.tailOf)
)

// New returns a Reassembler whose pool holds Memcap bytes in ChunkSize chunks, with index nodes
// for the worst case (nodesFor). The pool is allocated here, once; pages the OS has not yet
// handed out are only touched when first used.
func New(cfg Config) *Reassembler {
	if cfg.Memcap <= 0 {
		cfg.Memcap = DefaultMemcap
	}
	if cfg.FlowCap <= 0 {
		cfg.FlowCap = DefaultFlowCap
	}
	n := min(cfg.Memcap/ChunkSize, maxChunks)
	return &Reassembler{
		chunks:     make([]chunk, n+1),
		buf:        make([]byte, n*ChunkSize),
		pool:       newPool(n + 1),
		flowChunks: uint32(min(cfg.FlowCap/ChunkSize, n)),
		nodes:      make([]node, nodesFor(n)+1),
		nodeFresh:  1,
	}
}

// Begin starts h at seq, the sequence number of its first payload byte, unless it has started.
// For engines that know the ISN from the flow's TCP state but do not offer the SYN to Segment.
func (h *Half) Begin(seq uint32) {
	if h.flags&halfStarted == 0 {
		h.next = seq
		h.flags |= halfStarted
	}
}

// Segment offers one TCP segment (p has decode.LayerTCP) travelling in direction dir of a
// connection whose half for that direction is h. Offer every segment, SYNs included: the first
// payload byte of a Half that has not started is the SYN's seq+1 when Segment saw a SYN, else the
// first payload-carrying segment's seq (mid-stream pickup). Payload bytes beyond len(p.Payload)
// up to p.TCP.SegLen (cut by the capture) are reported as a Gap. A RST's payload is not stream
// data (the receiver discards it) and is ignored.
func (r *Reassembler) Segment(h *Half, dir int, p *decode.Packet, c Consumer) {
	t := &p.TCP
	if p.Layers&decode.LayerTCP == 0 || t.Flags&decode.TCPRst != 0 {
		return
	}
	seq := t.Seq
	if t.Flags&decode.TCPSyn != 0 {
		seq++ // the SYN occupies one sequence number before the data
	}
	d := p.Payload
	if t.SegLen > MaxAhead { // no IP length allows this; never let it reach the arithmetic
		r.Stats.Garbage++
		return
	}
	L := uint32(max(t.SegLen, len(d)))
	if h.flags&halfStarted == 0 {
		if L == 0 && t.Flags&decode.TCPSyn == 0 {
			return // a bare ACK's seq may be a keepalive's next-1: wait for data or a SYN
		}
		h.next = seq
		h.flags |= halfStarted
	}
	off := int32(seq - h.next)
	if off > MaxAhead {
		r.Stats.Garbage++
		return
	}
	if t.Flags&decode.TCPFin != 0 {
		h.fin = seq + L // the latest: a forged early FIN must not hide the real one
		h.flags |= halfFIN
	}
	if L == 0 {
		return
	}
	r.Stats.Segments++
	if int32(seq+L-h.next) <= 0 {
		r.Stats.Retransmits++
		return
	}
	if off < 0 { // starts before the next expected byte: drop the part already delivered
		r.Stats.Trimmed++
		k := uint32(-off)
		d = d[min(k, uint32(len(d))):]
		seq, L = h.next, L-k
	}

	var ov overlap
	if seq == h.next {
		r.Stats.InOrder++
		r.deliver(h, dir, d, L, c, &ov)
	} else {
		held, reached, hit := r.insert(h, seq, d, L, &ov)
		switch {
		case hit != 0:
			if hit == hitFlowCap {
				r.Stats.FlowCapHits++
			} else {
				r.Stats.MemcapHits++
			}
			// Give up the hole: everything up to where holding stopped, then the rest in order.
			r.flush(h, dir, seq+reached, c)
			r.deliver(h, dir, d[min(reached, uint32(len(d))):], L-reached, c, &ov)
		case held:
			r.Stats.OutOfOrder++
		default:
			r.Stats.Retransmits++ // every byte was already held
		}
	}
	if ov.any {
		r.Stats.Overlaps++
		p.Record(decode.StreamOverlap)
	}
	if ov.diff {
		r.Stats.OverlapsDiff++
		p.Record(decode.StreamOverlapDiff)
	}
	r.flushGap(c, dir)
}

// Ack tells the reassembler that the other side acknowledged up to ack for this direction: bytes
// before ack that never arrived were lost before the sensor, so the hole is reported as a Gap and
// held data after it is delivered. An ack of the FIN (its seq+1) acknowledges no byte at the FIN's
// sequence number; an ack that is old, or more than MaxAhead ahead, is ignored.
func (r *Reassembler) Ack(h *Half, dir int, ack uint32, c Consumer) {
	if h.flags&halfStarted == 0 {
		return
	}
	if h.flags&halfFIN != 0 && ack == h.fin+1 {
		ack = h.fin // the FIN's own sequence number is not a byte
	}
	if d := int32(ack - h.next); d <= 0 || d > MaxAhead {
		return
	}
	r.flush(h, dir, ack, c)
	r.drain(h, dir, c)
	r.flushGap(c, dir)
}

// Release frees everything h holds (flow evicted or closed), reporting nothing, and resets h to
// its zero value.
func (r *Reassembler) Release(h *Half) {
	i := h.head
	if h.flags&halfIndexed != 0 {
		i = r.releaseIndex(h) // the leaves name the indexed chunks: no walk from chunk to chunk
	}
	for i != 0 {
		next := r.chunks[i].next
		r.freeChunk(h, i)
		i = next
	}
	*h = Half{}
}

// overlap is what a segment's comparison with held bytes found.
type overlap struct{ any, diff bool }

// deliver delivers a segment starting at h.next: d holds its captured bytes, L counts the bytes
// it carried (L >= len(d); the rest were cut). Held bytes win where they overlap it.
func (r *Reassembler) deliver(h *Half, dir int, d []byte, L uint32, c Consumer, ov *overlap) {
	D := uint32(len(d))
	for i := uint32(0); i < L; { // i bytes of the segment consumed; h.next is its seq+i
		if h.head != 0 {
			k := &r.chunks[h.head]
			if k.seq == h.next {
				r.compare(k, h.head, d[min(i, D):], L-i, ov)
				i += min(L-i, k.end()-k.seq)
				r.popHead(h, dir, c)
				continue
			}
		}
		lim := L
		if h.head != 0 {
			lim = min(L, i+(r.chunks[h.head].seq-h.next))
		}
		if i < D {
			r.data(c, dir, d[i:min(lim, D)])
		}
		if lim > D {
			r.gap += lim - max(i, D)
		}
		h.next += lim - i
		i = lim
	}
	r.drain(h, dir, c)
}

// compare records how segment bytes starting at k.seq (d captured, L carried) overlap chunk k.
func (r *Reassembler) compare(k *chunk, idx uint32, d []byte, L uint32, ov *overlap) {
	ov.any = true
	n := min(uint32(len(d)), L, uint32(k.n))
	if n > 0 && !bytes.Equal(d[:n], r.bytes(idx)[:n]) {
		ov.diff = true
	}
}

// insert holds the bytes of a segment that starts after h.next, except those already held. It
// reports whether any byte was newly held and, when a cap stopped it (hit != 0), how many bytes
// of the segment from its start are held (reached): the segment's bytes after that are not.
func (r *Reassembler) insert(h *Half, seq uint32, d []byte, L uint32, ov *overlap) (held bool, reached uint32, hit capHit) {
	base := seq - h.next // offsets from h.next order the list without wraparound worries
	prev, cur := uint32(0), h.head
	r.pathOK = false // it may be another Half's
	if t := r.tailOf(h); t != 0 && r.chunks[t].end()-h.next <= base {
		prev, cur = t, 0 // the common case: appending after the last held segment
	} else if q, next := r.place(h, base); q != 0 {
		if r.chunks[q].end()-h.next <= base {
			prev, cur = q, next
		} else {
			cur = q // q holds byte base: the loop passes it (an overlap) before it needs prev
		}
	}
	for i := uint32(0); i < L; {
		for cur != 0 && r.chunks[cur].end()-h.next <= base+i {
			prev, cur = cur, r.chunks[cur].next
		}
		if cur != 0 {
			k := &r.chunks[cur]
			if ks := k.seq - h.next; ks <= base+i { // byte i is held: the held byte wins
				co := base + i - ks
				ov.any = true
				if n := min(uint32(len(d))-min(i, uint32(len(d))), L-i, uint32(k.n)-min(co, uint32(k.n))); n > 0 &&
					!bytes.Equal(d[i:i+n], r.bytes(cur)[co:co+n]) {
					ov.diff = true
				}
				i = min(L, k.end()-h.next-base)
				continue
			}
		}
		lim := L
		if cur != 0 {
			lim = min(L, r.chunks[cur].seq-h.next-base)
		}
		got, hit := r.hold(h, &prev, cur, seq, d, i, lim)
		held = held || got > i
		if hit != 0 {
			return held, got, hit
		}
		i = lim
	}
	return held, 0, 0
}

type capHit uint8

const (
	hitFlowCap capHit = 1 + iota
	hitMemcap
)

// hold copies segment bytes [from, to) (seq is the segment's start; bytes at or past len(d) were
// cut) into a hole of h's list between *prev and cur, packing them into the neighbours' spare
// room. It returns how far it got, which is short of to only when a cap stopped it.
func (r *Reassembler) hold(h *Half, prev *uint32, cur, seq uint32, d []byte, from, to uint32) (uint32, capHit) {
	D := uint32(len(d))
	// The piece's tail goes to the front of cur when they touch (segments arriving in reverse
	// order), but only once the rest is held: a cap must leave every byte after the point it
	// stopped at unheld, so that the segment can then be delivered from there in order.
	end, m := to, uint32(0)
	if cur != 0 && to <= D {
		if k := &r.chunks[cur]; k.seq == seq+to && k.n < ChunkSize {
			m = min(ChunkSize-uint32(k.n), to-from)
			to -= m
		}
	}
	pos := from
	if k := &r.chunks[*prev]; *prev != 0 && k.end() == seq+pos { // prev ends where the piece starts
		if pos < D && k.cut == 0 && k.n < ChunkSize {
			n := min(ChunkSize-uint32(k.n), min(to, D)-pos)
			copy(r.bytes(*prev)[k.n:], d[pos:pos+n])
			k.n += uint16(n)
			r.Stats.HeldBytes += uint64(n)
			pos += n
		}
		if pos >= D && pos < to { // only cut bytes remain: they extend prev's unknown tail
			k.cut += to - pos
			pos = to
		}
	}
	for pos < to {
		i, hit := r.alloc(h)
		if hit != 0 {
			return pos, hit
		}
		// The new chunk takes captured bytes up to its size, then, once only cut bytes remain,
		// all of them. Its header is written field by field and not read back: a load of it, or
		// of a whole struct built on the stack, would wait for the data stores before it to
		// reach the cache (store forwarding fails for such loads), and those may be misses.
		n, lim := uint32(0), min(to, D)
		if pos < lim {
			n = min(ChunkSize, lim-pos)
			copy(r.bytes(i), d[pos:pos+n])
			r.Stats.HeldBytes += uint64(n)
		}
		cut := uint32(0)
		if pos+n >= D {
			cut = to - pos - n
		}
		ix := cur != 0 && r.chunks[cur].indexed // the index holds a prefix of the list: i joins it
		k := &r.chunks[i]
		k.seq, k.cut, k.next, k.n, k.indexed = seq+pos, cut, cur, uint16(n), ix
		if *prev == 0 {
			h.head = i
		} else {
			r.chunks[*prev].next = i
		}
		if ix {
			r.index(h, i, seq+pos)
		}
		pos += n + cut
		if cur == 0 {
			r.setTail(h, i)
		}
		*prev = i
	}
	if m > 0 {
		k := &r.chunks[cur]
		b := r.bytes(cur)
		copy(b[m:], b[:k.n])
		copy(b, d[to:end])
		k.seq -= m
		k.n += uint16(m)
		r.Stats.HeldBytes += uint64(m)
	}
	return end, 0
}

// flush advances h to target, delivering the held chunks before it and reporting the holes
// between them as gaps. The last chunk delivered may take h past target.
func (r *Reassembler) flush(h *Half, dir int, target uint32, c Consumer) {
	for int32(target-h.next) > 0 {
		if h.head != 0 {
			k := &r.chunks[h.head]
			if k.seq == h.next {
				r.popHead(h, dir, c)
				continue
			}
			if int32(k.seq-target) < 0 {
				r.gap += k.seq - h.next
				h.next = k.seq
				continue
			}
		}
		r.gap += target - h.next
		h.next = target
	}
}

// drain delivers the held chunks that have become contiguous with h.next.
func (r *Reassembler) drain(h *Half, dir int, c Consumer) {
	for h.head != 0 && r.chunks[h.head].seq == h.next {
		r.popHead(h, dir, c)
	}
}

// popHead delivers h's first chunk, which starts at h.next, and frees it.
func (r *Reassembler) popHead(h *Half, dir int, c Consumer) {
	i := h.head
	k := &r.chunks[i]
	r.data(c, dir, r.bytes(i)[:k.n])
	r.gap += k.cut
	h.next = k.end()
	h.head = k.next
	if k.indexed {
		r.unindexHead(h)
	}
	r.freeChunk(h, i)
	if h.flags&halfIndexed != 0 && (h.chunks < indexDrop || r.nodes[h.tail].n == 0) {
		r.dropIndex(h)
	}
	if h.head == 0 {
		h.tail = 0
	}
}

func (r *Reassembler) data(c Consumer, dir int, b []byte) {
	if len(b) == 0 {
		return
	}
	r.flushGap(c, dir)
	c.Data(dir, b)
}

// flushGap reports the pending gap; every exported method ends with it.
func (r *Reassembler) flushGap(c Consumer, dir int) {
	if r.gap == 0 {
		return
	}
	n := r.gap
	r.gap = 0
	r.Stats.Gaps++
	r.Stats.GapBytes += uint64(n)
	c.Gap(dir, n)
}

func (r *Reassembler) bytes(i uint32) []byte {
	o := int(i-1) * ChunkSize
	return r.buf[o : o+ChunkSize : o+ChunkSize]
}

func (r *Reassembler) alloc(h *Half) (uint32, capHit) {
	if h.chunks >= r.flowChunks {
		return 0, hitFlowCap
	}
	i := r.pool.take()
	if i == 0 {
		return 0, hitMemcap
	}
	h.chunks++
	r.Stats.HeldChunks++
	return i, 0
}

// freeChunk returns chunk i, held by h, to the pool. The chunk is left as is: alloc's caller
// overwrites it.
func (r *Reassembler) freeChunk(h *Half, i uint32) {
	r.Stats.HeldBytes -= uint64(r.chunks[i].n)
	r.Stats.HeldChunks--
	h.chunks--
	r.pool.put(i)
}
