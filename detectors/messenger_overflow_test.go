package detectors_test

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// ndrStr is an NDR conformant varying string of 1-byte characters (C706 14.3.4.2), NUL
// included, padded to 4; maxCount and offset override the consistent values when not 0.
func ndrStr(s string, maxCount, offset uint32) []byte {
	n := uint32(len(s) + 1)
	if maxCount == 0 {
		maxCount = n
	}
	b := binary.LittleEndian.AppendUint32(nil, maxCount)
	b = binary.LittleEndian.AppendUint32(b, offset)
	b = binary.LittleEndian.AppendUint32(b, n)
	b = append(append(b, s...), 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// clRequest is a connectionless DCE/RPC request (C706 12.5) for the Messenger interface.
func clRequest(opnum uint16, flags1 uint8, body []byte) []byte {
	h := make([]byte, 80)
	h[0], h[1], h[2], h[4] = 4, 0, flags1|0x20, 0x10 // version 4, request, idempotent; little-endian drep
	iface := []byte{0xf8, 0x91, 0x7b, 0x5a, 0x00, 0xff, 0xd0, 0x11, 0xa9, 0xb2, 0x00, 0xc0, 0x4f, 0xb6, 0xe6, 0xfc}
	copy(h[24:40], iface)
	binary.LittleEndian.PutUint32(h[60:], 1) // interface version 1.0
	binary.LittleEndian.PutUint16(h[68:], opnum)
	binary.LittleEndian.PutUint16(h[70:], 0xffff)
	binary.LittleEndian.PutUint16(h[72:], 0xffff)
	binary.LittleEndian.PutUint16(h[74:], uint16(len(body)))
	return append(h, body...)
}

func messengerFrame(t *testing.T, dst string, dport uint16, pdu []byte) []byte {
	ip := ip4("192.0.2.66", dst, layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: 1026, DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(ip)
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, u, rawPayload(pdu))
}

func TestMessengerOverflow(t *testing.T) {
	msg := func(from, to, text string) []byte {
		return append(append(ndrStr(from, 0, 0), ndrStr(to, 0, 0)...), ndrStr(text, 0, 0)...)
	}
	cases := []struct {
		name  string
		dst   string
		port  uint16
		pdu   []byte
		want  []uint32
		check map[string]any
	}{
		{"short_net_send", "198.51.100.9", 135, clRequest(0, 0, msg("ADMIN", "WS1", "backup finished at 02:00")), nil, nil},
		{"long_text", "198.51.100.9", 135, clRequest(0, 0, msg("ALERT", "WS1", strings.Repeat("A", 1300))), []uint32{9200401},
			map[string]any{"argument": "text", "actual_count": uint64(1301)}},
		{"long_from_broadcast_other_port", "255.255.255.255", 1029, clRequest(0, 0, msg(strings.Repeat("B", 300), "WS1", "hi")), []uint32{9200401},
			map[string]any{"argument": "from", "actual_count": uint64(301)}},
		{"inconsistent_counts", "198.51.100.9", 135,
			clRequest(0, 0, append(append(ndrStr("ADMIN", 3, 0), ndrStr("WS1", 0, 0)...), ndrStr("hi", 0, 0)...)), []uint32{9200402},
			map[string]any{"argument": "from", "max_count": uint64(3), "actual_count": uint64(6)}},
		{"other_opnum", "198.51.100.9", 135, clRequest(1, 0, msg("ALERT", "WS1", strings.Repeat("A", 1300))), nil, nil},
		{"first_fragment_long_text", "198.51.100.9", 135, clRequest(0, 0x04, msg("ALERT", "WS1", strings.Repeat("A", 1300))[:600]), []uint32{9200401},
			map[string]any{"argument": "text", "fragmented": true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, testRules(t), messengerFrame(t, tc.dst, tc.port, tc.pdu))
			var sids []uint32
			for _, f := range got {
				sids = append(sids, f.sid)
			}
			if !reflect.DeepEqual(sids, tc.want) {
				t.Fatalf("alerts %v, want %v", sids, tc.want)
			}
			for k, v := range tc.check {
				if got[0].evidence[k] != v {
					t.Errorf("evidence %s = %v, want %v (%v)", k, got[0].evidence[k], v, got[0].evidence)
				}
			}
		})
	}
}
