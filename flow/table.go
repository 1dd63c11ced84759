package flow

import (
	"encoding/binary"
	"net/netip"

	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/internal/hashindex"
	"github.com/ids-sensor/ids/stream"
)

// Config bounds a flow table. Times are in nanoseconds of packet time.
type Config struct {
	Max         int   // entries; preallocated, never exceeded
	TimeoutNew  int64 // flows that never completed a handshake (SYN floods, scans, one-way UDP)
	TimeoutEst  int64 // established flows, idle
	TimeoutDone int64 // closed flows (FIN both ways, or RST): kept briefly for late packets
}

// DefaultConfig is used when the rules file does not override it.
var DefaultConfig = Config{Max: 262144, TimeoutNew: 30e9, TimeoutEst: 600e9, TimeoutDone: 10e9}

// State is a flow's lifecycle stage; each has its own idle timeout and eviction list.
type State uint8

const (
	StateNew         State = iota // no completed handshake yet
	StateEstablished              // TCP handshake completed, picked up mid-stream, or UDP both ways
	StateDone                     // TCP closed by FIN exchange or RST
	numStates
)

// Eviction reasons, for counters.
const (
	EvictTimeoutNew = iota
	EvictTimeoutEstablished
	EvictTimeoutDone
	EvictPressure // the table was full and a new flow needed the slot
	NumEvictReasons
)

// EvictReasonNames are the label values of the eviction counters.
var EvictReasonNames = [NumEvictReasons]string{"timeout_new", "timeout_established", "timeout_done", "pressure"}

// Key identifies a flow in both directions: the endpoints in canonical order.
type Key struct {
	A, B  [2]uint64 // addresses as two big-endian words (IPv4-mapped for IPv4); A sorts before B
	Ports uint32    // A's port << 16 | B's port
	VLANs uint32    // outer VLAN id << 16 | the next one
	Proto uint8
}

// Flow is one conversation. Direction 0 is the initiator's (the source of the first packet seen).
type Flow struct {
	Key       Key
	First     int64 // packet time of the first packet (with Key, it makes the flow's ID)
	Last      int64 // packet time of the latest packet
	State     State
	aIsClient bool // Key.A is the initiator
	Pkts      [2]uint64
	Bytes     [2]uint64
	TCP       TCPConn
	App       AppState       // per-flow state of whichever detectors ask for it
	Stream    [2]stream.Half // reassembly of each direction, when StreamMask is not 0
	StreamFor uint16         // bit set of the stream detectors reading this flow (engine-assigned)

	listed     int64 // Last when the flow was last moved to the front of its eviction list
	hash       uint32
	slot       int32 // own index in Table.flows
	prev, next int32 // eviction list links (slot indexes, -1 = none)
}

// AppState is scratch space detectors keep per flow (e.g. a RST burst being counted). It is
// zeroed when the flow is created.
type AppState struct {
	RST RSTState
}

// RSTState tracks resets seen on a TCP connection, for the spoofed-RST detector.
type RSTState struct {
	Count           uint16 // RSTs in the current burst window
	Distinct        uint16 // of which with a sequence number different from the one before
	First           int64  // time of the window's first RST
	MinSeq, MaxSeq  uint32 // the sequence numbers' spread
	LastSeq         uint32
	AlertedInWindow bool // the window's in-window alert was raised
	AlertedBurst    bool // the window's burst alert was raised

	// A RST claimed to come from direction d stays pending until d's next packet: if that is
	// not a new SYN, the sender kept talking and the RST was forged.
	Pending    [2]bool
	PendingSeq [2]uint32
	PendingTTL [2]uint8
	PendingAt  [2]uint64 // packet number of the pending RST
}

// Stats counts what a table did.
type Stats struct {
	Created  uint64
	Reused   uint64 // closed flows whose 5-tuple started a new connection
	Active   uint64
	Evicted  [NumEvictReasons]uint64
	Lookups  uint64
	NoRoom   uint64 // packets that could not get a flow (table full of flows younger than this packet)
	MaxProbe uint64 // longest probe sequence seen
}

// Table is a bounded, preallocated flow table with per-state LRU eviction. Not safe for
// concurrent use: one per worker.
type Table struct {
	// OnEvict, when set, is called for every flow leaving the table (or starting over as a new
	// connection), before its entry is reused: the owner of per-flow resources frees them.
	OnEvict func(*Flow)

	cfg   Config
	flows []Flow
	free  []int32
	index hashindex.Index // Flow.hash -> slot
	lists [numStates]list
	Stats Stats
}

// list is a doubly linked LRU list of slots: head most recently used, tail least.
type list struct{ head, tail int32 }

// New preallocates a table for cfg.Max flows.
func New(cfg Config) *Table {
	if cfg.Max < 1 {
		cfg.Max = 1
	}
	t := &Table{cfg: cfg, flows: make([]Flow, cfg.Max), free: make([]int32, cfg.Max), index: hashindex.New(cfg.Max)}
	for i := range t.free {
		t.free[i] = int32(cfg.Max - 1 - i)
	}
	for i := range t.lists {
		t.lists[i] = list{-1, -1}
	}
	return t
}

// Max returns how many flows the table holds at most: the size of per-slot side tables.
func (t *Table) Max() int { return len(t.flows) }

// Config returns the table's limits.
func (t *Table) Config() Config { return t.cfg }

// KeyOf returns p's flow key and whether p's source is the key's A side.
func KeyOf(p *decode.Packet) (Key, bool) {
	var k Key
	srcIsA := k.set(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto, p.VLAN, p.NumVLAN)
	return k, srcIsA
}

// set fills k in place (a key built and returned by value costs store-forwarding stalls on the
// packet path) and says whether src is the A side. Endpoints are ordered as (address, port)
// integers, the same order as comparing their bytes.
func (k *Key) set(src, dst netip.Addr, sport, dport uint16, proto uint8, vlan [decode.MaxVLANs]uint16, nvlan uint8) bool {
	s, d := src.As16(), dst.As16()
	sh, sl := binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:])
	dh, dl := binary.BigEndian.Uint64(d[:8]), binary.BigEndian.Uint64(d[8:])
	srcIsA := sh < dh || sh == dh && (sl < dl || sl == dl && sport <= dport)
	if srcIsA {
		k.A, k.B, k.Ports = [2]uint64{sh, sl}, [2]uint64{dh, dl}, uint32(sport)<<16|uint32(dport)
	} else {
		k.A, k.B, k.Ports = [2]uint64{dh, dl}, [2]uint64{sh, sl}, uint32(dport)<<16|uint32(sport)
	}
	k.VLANs = 0
	if nvlan > 0 {
		k.VLANs = uint32(vlan[0]) << 16
	}
	if nvlan > 1 {
		k.VLANs |= uint32(vlan[1])
	}
	k.Proto = proto
	return srcIsA
}

// equal compares word by word, inline (== on the struct calls memequal for its padded layout).
func (k *Key) equal(o *Key) bool {
	return k.A[0] == o.A[0] && k.A[1] == o.A[1] && k.B[0] == o.B[0] && k.B[1] == o.B[1] &&
		k.Ports == o.Ports && k.VLANs == o.VLANs && k.Proto == o.Proto
}

// hash mixes a key into 32 bits: multiply-xorshift rounds over the key's words.
func (k *Key) hash() uint32 {
	h := uint64(k.Proto)<<32 ^ uint64(k.Ports) ^ uint64(k.VLANs)<<40
	for _, w := range [4]uint64{k.A[0], k.A[1], k.B[0], k.B[1]} {
		h = (h ^ w) * 0x9e3779b97f4a7c15
		h ^= h >> 29
	}
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return uint32(h)
}

// Lookup finds p's flow, creating it when create is set and p may start one. dir is 0 when p
// goes from the flow's initiator, 1 otherwise. f is nil when there is no flow and none could be
// made. Expired flows are evicted along the way, a bounded amount per call.
func (t *Table) Lookup(p *decode.Packet, create bool) (f *Flow, dir int, created bool) {
	var a Ahead
	a.set(p)
	return t.LookupAhead(p, &a, create)
}

// Ahead is a flow lookup begun before its packet's turn (engine.Push): the key and hash,
// computed once, whose index entry Prefetch starts loading.
type Ahead struct {
	key    Key
	hash   uint32
	srcIsA bool
}

func (a *Ahead) set(p *decode.Packet) {
	a.srcIsA = a.key.set(p.Src, p.Dst, p.SrcPort, p.DstPort, p.Proto, p.VLAN, p.NumVLAN)
	a.hash = a.key.hash()
}

// Prefetch fills a for p and starts loading the index entry where its flow's lookup begins.
func (t *Table) Prefetch(p *decode.Packet, a *Ahead) {
	a.set(p)
	t.index.Prefetch(a.hash)
}

// LookupAhead is Lookup with the key and hash that Prefetch computed for p.
func (t *Table) LookupAhead(p *decode.Packet, a *Ahead, create bool) (f *Flow, dir int, created bool) {
	t.expire(p.TS)
	t.Stats.Lookups++
	k, h, srcIsA := &a.key, a.hash, a.srcIsA
	if slot := t.find(k, h); slot >= 0 {
		f = &t.flows[slot]
		f.Last = max(f.Last, p.TS)
		if f.Last-f.listed >= relistEvery {
			t.touch(slot)
		}
		return f, f.dirOf(srcIsA), false
	}
	if !create {
		return nil, 0, false
	}
	slot := t.alloc(p.TS)
	if slot < 0 {
		t.Stats.NoRoom++
		return nil, 0, false
	}
	f = &t.flows[slot]
	*f = Flow{Key: *k, First: p.TS, Last: p.TS, listed: p.TS, aIsClient: srcIsA, hash: h, slot: slot, prev: -1, next: -1}
	t.index.Insert(h, slot)
	t.lists[StateNew].pushFront(t, slot)
	t.Stats.Created++
	t.Stats.Active++
	return f, 0, true
}

// Find returns the flow with the given endpoints without creating or touching it; dir is the
// direction of a packet from src to dst.
func (t *Table) Find(src, dst netip.Addr, sport, dport uint16, proto uint8, vlan [decode.MaxVLANs]uint16, nvlan uint8) (*Flow, int) {
	var k Key
	srcIsA := k.set(src, dst, sport, dport, proto, vlan, nvlan)
	if slot := t.find(&k, k.hash()); slot >= 0 {
		f := &t.flows[slot]
		return f, f.dirOf(srcIsA)
	}
	return nil, 0
}

// Slot is the flow's index in its table: stable while the flow lives, reused after it leaves.
// Per-flow state kept outside the Flow (application parsers) is indexed by it.
func (f *Flow) Slot() int { return int(f.slot) }

func (f *Flow) dirOf(srcIsA bool) int {
	if srcIsA == f.aIsClient {
		return 0
	}
	return 1
}

// find returns the slot of the flow with key k and hash h, or -1.
func (t *Table) find(k *Key, h uint32) int32 {
	c := t.index.Lookup(h)
	for {
		slot, ok := c.Next()
		if !ok {
			return -1
		}
		if t.flows[slot].Key.equal(k) {
			if probes := uint64(c.Probes()); probes > t.Stats.MaxProbe {
				t.Stats.MaxProbe = probes
			}
			return slot
		}
	}
}

// alloc returns a free slot, evicting the least recently used flow under pressure: new flows
// first (a SYN flood must not push out established connections), then closed, then established.
func (t *Table) alloc(now int64) int32 {
	if n := len(t.free); n > 0 {
		slot := t.free[n-1]
		t.free = t.free[:n-1]
		return slot
	}
	for _, st := range [...]State{StateNew, StateDone, StateEstablished} {
		if slot := t.lists[st].tail; slot >= 0 {
			t.evict(slot, EvictPressure)
			return t.alloc(now)
		}
	}
	return -1
}

// maxExpirePerCall bounds eviction work per packet so a burst of expiries never stalls it.
const maxExpirePerCall = 4

func (t *Table) expire(now int64) {
	timeouts := [numStates]int64{t.cfg.TimeoutNew, t.cfg.TimeoutEst, t.cfg.TimeoutDone}
	reasons := [numStates]int{EvictTimeoutNew, EvictTimeoutEstablished, EvictTimeoutDone}
	budget := maxExpirePerCall
	for st := range t.lists {
		for budget > 0 {
			slot := t.lists[st].tail
			if slot < 0 || now-t.flows[slot].Last <= timeouts[st] {
				break
			}
			t.evict(slot, reasons[st])
			budget--
		}
	}
}

// ExpireAll evicts every flow idle past its timeout at time now, without a work bound (end of
// a replay, idle periods of a sensor).
func (t *Table) ExpireAll(now int64) {
	for n := t.Stats.Active; n > 0; n-- {
		before := t.Stats.Active
		t.expire(now)
		if t.Stats.Active == before {
			return
		}
	}
}

func (t *Table) evict(slot int32, reason int) {
	f := &t.flows[slot]
	if t.OnEvict != nil {
		t.OnEvict(f)
	}
	t.lists[f.State].remove(t, slot)
	t.index.Remove(f.hash, slot)
	t.free = append(t.free, slot)
	t.Stats.Evicted[reason]++
	t.Stats.Active--
}

// relistEvery is how much packet time passes before a flow's packet moves it to the front of
// its eviction list again. Moving it on every packet would touch three other flows' memory (its
// list neighbours) per packet; this way an active flow pays that once a second, and the lists
// stay ordered by last activity to within a second, which is what timeouts of seconds need.
const relistEvery = 1e9

// touch marks slot most recently used in its state's list.
func (t *Table) touch(slot int32) {
	f := &t.flows[slot]
	f.listed = f.Last
	l := &t.lists[f.State]
	if l.head != slot {
		l.remove(t, slot)
		l.pushFront(t, slot)
	}
}

// SetState moves f to state st (and to the front of that state's eviction list).
func (t *Table) SetState(f *Flow, st State) {
	if f.State == st {
		return
	}
	t.lists[f.State].remove(t, f.slot)
	f.State = st
	f.listed = f.Last
	t.lists[st].pushFront(t, f.slot)
}

func (l *list) pushFront(t *Table, slot int32) {
	f := &t.flows[slot]
	f.prev, f.next = -1, l.head
	if l.head >= 0 {
		t.flows[l.head].prev = slot
	}
	l.head = slot
	if l.tail < 0 {
		l.tail = slot
	}
}

func (l *list) remove(t *Table, slot int32) {
	f := &t.flows[slot]
	if f.prev >= 0 {
		t.flows[f.prev].next = f.next
	} else {
		l.head = f.next
	}
	if f.next >= 0 {
		t.flows[f.next].prev = f.prev
	} else {
		l.tail = f.prev
	}
	f.prev, f.next = -1, -1
}

// ForEach calls fn for every flow in the table (for a rules reload, not the packet path).
func (t *Table) ForEach(fn func(*Flow)) {
	for _, l := range t.lists {
		for s := l.head; s >= 0; s = t.flows[s].next {
			fn(&t.flows[s])
		}
	}
}
