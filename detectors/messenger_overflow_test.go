package detectors_test

import (
	"encoding/binary"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/decode"
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

// coPDU is a connection-oriented DCE/RPC PDU (C706 12.6.3.1), little-endian, around body.
func coPDU(ptype, flags uint8, callID uint32, body []byte) []byte {
	h := []byte{5, 0, ptype, flags, 0x10, 0, 0, 0}
	h = binary.LittleEndian.AppendUint16(h, uint16(16+len(body)))
	h = binary.LittleEndian.AppendUint16(h, 0)
	h = binary.LittleEndian.AppendUint32(h, callID)
	return append(h, body...)
}

// coBindMessenger binds context 0 to the Messenger interface 1.0 with the NDR transfer syntax.
func coBindMessenger() []byte {
	return coBind([]byte{0xf8, 0x91, 0x7b, 0x5a, 0x00, 0xff, 0xd0, 0x11, 0xa9, 0xb2, 0x00, 0xc0, 0x4f, 0xb6, 0xe6, 0xfc}, 1)
}

// coBind binds context 0 to an interface (its UUID as on the wire, little-endian fields) and
// version with the NDR transfer syntax.
func coBind(iface []byte, version uint32) []byte {
	b := binary.LittleEndian.AppendUint16(nil, 5840)
	b = binary.LittleEndian.AppendUint16(b, 5840)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, 1, 0, 0, 0) // one context
	b = append(b, 0, 0, 1, 0) // context id 0, one transfer syntax
	b = append(b, iface...)
	b = binary.LittleEndian.AppendUint32(b, version)
	b = append(b, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60)
	b = binary.LittleEndian.AppendUint32(b, 2)
	return coPDU(11, 3, 1, b)
}

// coRequests is a request for opnum 0 on context ctx, its stub split into n fragments.
func coRequests(ctx uint16, stub []byte, n int) []byte { return coRequestsOp(ctx, 0, stub, n) }

// coRequestsOp is a request for opnum on context ctx, its stub split into n fragments.
func coRequestsOp(ctx, opnum uint16, stub []byte, n int) []byte {
	var out []byte
	size := (len(stub) + n - 1) / n
	for i := 0; i < n; i++ {
		part := stub[min(i*size, len(stub)):min((i+1)*size, len(stub))]
		var flags uint8
		if i == 0 {
			flags |= 1
		}
		if i == n-1 {
			flags |= 2
		}
		b := binary.LittleEndian.AppendUint32(nil, uint32(len(stub)))
		b = binary.LittleEndian.AppendUint16(b, ctx)
		b = binary.LittleEndian.AppendUint16(b, opnum)
		out = append(out, coPDU(0, flags, 2, append(b, part...))...)
	}
	return out
}

// runStats runs frames with the default rules and returns the signature ids and anomaly counts.
func runStats(t *testing.T, frames ...[]byte) ([]uint32, [decode.NumAnomalies]uint64) {
	t.Helper()
	got, anomalies := runEngine(t, testRules(t), frames...)
	var sids []uint32
	for _, f := range got {
		sids = append(sids, f.sid)
	}
	return sids, anomalies
}

func TestMessengerOverflowTCP(t *testing.T) {
	msg := func(from, to, text string) []byte {
		return append(append(ndrStr(from, 0, 0), ndrStr(to, 0, 0)...), ndrStr(text, 0, 0)...)
	}
	long := msg("ALERT", "WS1", strings.Repeat("A", 1300))
	split := func(b []byte, n int) [][]byte {
		var out [][]byte
		for len(b) > n {
			out, b = append(out, b[:n]), b[n:]
		}
		return append(out, b)
	}
	cases := []struct {
		name    string
		port    uint16
		chunks  [][]byte
		want    []uint32
		stubLen uint64
		anomaly decode.Anomaly
	}{
		{"long_text", 135, [][]byte{coBindMessenger(), coRequests(0, long, 1)}, []uint32{9200401}, uint64(len(long)), 0},
		{"long_text_three_fragments", 135, [][]byte{coBindMessenger(), coRequests(0, long, 3)}, []uint32{9200401}, uint64(len(long)), 0},
		{"long_text_one_byte_segments", 135, split(append(coBindMessenger(), coRequests(0, long, 3)...), 1), []uint32{9200401}, uint64(len(long)), 0},
		{"long_text_other_port", 1025, [][]byte{coBindMessenger(), coRequests(0, long, 2)}, []uint32{9200401}, uint64(len(long)), 0},
		{"short_message", 135, [][]byte{coBindMessenger(), coRequests(0, msg("ADMIN", "WS1", "backup finished"), 1)}, nil, 0, 0},
		{"unbound_context", 135, [][]byte{coBindMessenger(), coRequests(3, long, 1)}, nil, 0, decode.RPCContextUnknown},
		{"no_bind", 135, [][]byte{coRequests(0, long, 1)}, nil, 0, decode.RPCContextUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newConn(t, "192.0.2.66", "198.51.100.9", 1030, tc.port, false).handshake()
			for _, ch := range tc.chunks {
				c.sendBytes(true, ch)
			}
			sids, anomalies := runStats(t, c.frames...)
			if !reflect.DeepEqual(sids, tc.want) {
				t.Fatalf("alerts %v, want %v", sids, tc.want)
			}
			if tc.anomaly != 0 && anomalies[tc.anomaly] != 1 {
				t.Errorf("anomaly %v counted %d times, want 1", tc.anomaly, anomalies[tc.anomaly])
			}
			if tc.stubLen != 0 {
				got := run(t, testRules(t), c.frames...)
				if got[0].evidence["stub_len"] != tc.stubLen || got[0].evidence["argument"] != "text" {
					t.Errorf("evidence %v, want stub_len %d", got[0].evidence, tc.stubLen)
				}
			}
		})
	}
}
