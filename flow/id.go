// Package flow tracks conversations: a bounded flow table keyed by the normalized 5-tuple and
// VLAN ids, with per-state idle timeouts and eviction, and per-connection TCP state.
package flow

import "github.com/ids-sensor/ids/decode"

// ID returns a stable id for a packet that has no flow entry (ICMP, say): a hash of its VLAN
// ids, protocol and endpoints in canonical order, the same in both directions, across runs and
// machines.
func ID(p *decode.Packet) uint64 {
	k, _ := KeyOf(p)
	return k.stableID(0)
}

// ID returns the flow's stable id (EVE flow_id). It is computed when asked, from the key and the
// flow's start, not stored: only alerts need it, and hashing every new flow's key cost a SYN
// flood a tenth of its time.
func (f *Flow) ID() uint64 { return f.Key.stableID(f.First) }

// stableID hashes the key and the flow's start time with FNV-1a: deterministic, so golden tests
// and reruns agree, and a reused 5-tuple gets a new id. It fits in 53 bits so JSON consumers that
// parse numbers as doubles keep it exact (EVE flow_id).
func (k *Key) stableID(start int64) uint64 {
	h := uint64(fnvOffset)
	byte8 := func(b byte) { h = (h ^ uint64(b)) * fnvPrime }
	for _, w := range [...]uint64{k.A[0], k.A[1], k.B[0], k.B[1]} { // the address bytes in order
		for i := 56; i >= 0; i -= 8 {
			byte8(byte(w >> i))
		}
	}
	for _, v := range [...]uint64{uint64(k.Ports >> 16), uint64(k.Ports & 0xffff), uint64(k.Proto), uint64(k.VLANs >> 16), uint64(k.VLANs & 0xffff), uint64(start)} {
		for i := 0; i < 8; i++ {
			byte8(byte(v >> (8 * i)))
		}
	}
	return h & (1<<53 - 1)
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)
