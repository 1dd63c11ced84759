// Package flow identifies flows: the bidirectional conversation a packet belongs to.
package flow

import (
	"net/netip"

	"github.com/ids-sensor/ids/decode"
)

// ID returns a stable id for p's flow: the same for both directions, for every packet of the
// flow, and across runs and machines (EVE flow_id). It hashes the VLAN ids, the transport
// protocol and the address/port pairs in a canonical order. The value fits in 53 bits so JSON
// consumers that parse numbers as doubles keep it exact.
func ID(p *decode.Packet) uint64 {
	h := uint64(fnvOffset)
	for _, v := range p.VLAN[:p.NumVLAN] {
		h = mix16(h, v)
	}
	h = mix16(h, uint16(p.Proto))
	a, b := endpoint{p.Src, p.SrcPort}, endpoint{p.Dst, p.DstPort}
	if b.less(a) {
		a, b = b, a
	}
	h = a.mix(h)
	h = b.mix(h)
	return h & (1<<53 - 1)
}

type endpoint struct {
	addr netip.Addr
	port uint16
}

func (e endpoint) less(o endpoint) bool {
	if c := e.addr.Compare(o.addr); c != 0 {
		return c < 0
	}
	return e.port < o.port
}

func (e endpoint) mix(h uint64) uint64 {
	for _, c := range e.addr.As16() {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return mix16(h, e.port)
}

// FNV-1a, 64-bit: simple, stable, and only computed when an alert is written.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func mix16(h uint64, v uint16) uint64 {
	h = (h ^ uint64(v>>8)) * fnvPrime
	return (h ^ uint64(v&0xff)) * fnvPrime
}
