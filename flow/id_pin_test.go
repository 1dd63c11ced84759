package flow

import (
	"testing"

	"github.com/ids-sensor/ids/decode"
)

// TestStableIDPinned: flow ids are part of the output (EVE flow_id) and must not change between
// versions of the key's layout: these were computed by the first implementation.
func TestStableIDPinned(t *testing.T) {
	v6 := pkt("2001:db8::1", "2001:db8::2", 445, 50000, 6, 0)
	v6.VLAN, v6.NumVLAN = [decode.MaxVLANs]uint16{100, 200}, 2
	for _, c := range []struct {
		p     *decode.Packet
		start int64
		want  uint64
	}{
		{pkt("192.0.2.1", "192.0.2.9", 53, 5000, 17, 0), 1, 6414705036241461},
		{pkt("192.0.2.9", "192.0.2.1", 5000, 53, 17, 0), 1, 6414705036241461},
		{pkt("10.0.0.1", "10.0.0.2", 1025, 445, 6, 0), 1700000000123456789, 5922006439568865},
		{v6, 42, 4831273340528043},
	} {
		k, _ := KeyOf(c.p)
		if got := k.stableID(c.start); got != c.want {
			t.Errorf("%v:%d -> %v:%d start %d: id %d, want %d", c.p.Src, c.p.SrcPort, c.p.Dst, c.p.DstPort, c.start, got, c.want)
		}
	}
}
