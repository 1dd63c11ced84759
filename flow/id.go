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

// stableID hashes the key and the flow's start time with FNV-1a: deterministic, so golden tests
// and reruns agree, and a reused 5-tuple gets a new id. It fits in 53 bits so JSON consumers that
// parse numbers as doubles keep it exact (EVE flow_id).
func (k *Key) stableID(start int64) uint64 {
	h := uint64(fnvOffset)
	byte8 := func(b byte) { h = (h ^ uint64(b)) * fnvPrime }
	for _, b := range k.A {
		byte8(b)
	}
	for _, b := range k.B {
		byte8(b)
	}
	for _, v := range [...]uint64{uint64(k.PA), uint64(k.PB), uint64(k.Proto), uint64(k.VLAN[0]), uint64(k.VLAN[1]), uint64(start)} {
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
