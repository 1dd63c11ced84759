// Package alert holds what a detection reports and the writers that put it on disk: EVE JSON
// (Suricata's schema, so existing pipelines ingest it unchanged) and fast (one line per alert,
// like Snort's and Suricata's fast.log). Writers append into reused buffers: writing an alert
// allocates nothing.
package alert

import (
	"net/netip"

	"github.com/ids-sensor/ids/rules"
)

// Alert is one detection. Detectors fill Evidence; the engine fills the rest from the packet.
type Alert struct {
	TS               int64  // packet time, Unix nanoseconds
	FlowID           uint64 // stable id of the packet's flow
	PcapCnt          uint64 // 1-based packet number in the run
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	HasPorts         bool  // TCP or UDP: ports are meaningful
	Proto            uint8 // IP protocol number
	VLAN             [4]uint16
	NumVLAN          uint8
	Sig              *rules.Signature
	Evidence         Evidence
	// Suppressed is how many matches of this alert's threshold bucket (signature and tracked
	// address) a threshold held back since the previous alert written from it; 0 otherwise.
	Suppressed uint64
}

// MaxEvidence is the number of evidence fields an alert carries.
const MaxEvidence = 16

// Evidence is detector-specific detail: the offending field values. In EVE it is an object named
// Object (usually the protocol, e.g. "icmp") next to "alert".
type Evidence struct {
	Object string
	n      int
	fields [MaxEvidence]Field
}

// Field is one evidence value.
type Field struct {
	Key  string
	Kind FieldKind
	Uint uint64
	Str  string
	Addr netip.Addr
}

// FieldKind says which of Field's values is set.
type FieldKind uint8

const (
	KindUint FieldKind = iota
	KindString
	KindAddr
	KindBool
)

// Reset empties the evidence and names its object.
func (e *Evidence) Reset(object string) { e.Object, e.n = object, 0 }

func (e *Evidence) add(f Field) {
	if e.n < MaxEvidence {
		e.fields[e.n] = f
		e.n++
	}
}

// Uint adds an integer field.
func (e *Evidence) Uint(key string, v uint64) { e.add(Field{Key: key, Kind: KindUint, Uint: v}) }

// Str adds a string field; s must not need to outlive the packet unless it is a constant.
func (e *Evidence) Str(key, s string) { e.add(Field{Key: key, Kind: KindString, Str: s}) }

// Addr adds an IP address field.
func (e *Evidence) Addr(key string, a netip.Addr) { e.add(Field{Key: key, Kind: KindAddr, Addr: a}) }

// Bool adds a boolean field.
func (e *Evidence) Bool(key string, v bool) {
	var u uint64
	if v {
		u = 1
	}
	e.add(Field{Key: key, Kind: KindBool, Uint: u})
}

// Fields returns the fields in the order added.
func (e *Evidence) Fields() []Field { return e.fields[:e.n] }

// Get returns the field with the given key.
func (e *Evidence) Get(key string) (Field, bool) {
	for _, f := range e.fields[:e.n] {
		if f.Key == key {
			return f, true
		}
	}
	return Field{}, false
}

// Sink receives alerts. Write must not retain a after it returns.
type Sink interface {
	Write(a *Alert) error
	Flush() error
}

// ProtoName is the protocol name EVE and fast.log print (Suricata's spelling).
func ProtoName(proto uint8) string {
	switch proto {
	case 1:
		return "ICMP"
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 58:
		return "IPv6-ICMP"
	case 132:
		return "SCTP"
	}
	return ""
}
