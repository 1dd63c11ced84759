package detectors_test

import (
	"encoding/binary"
	"reflect"
	"strconv"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// withOptions inserts raw option bytes (a multiple of 4) into the IPv4 header of an
// Ethernet/IPv4 ICMP echo built by gopacket, fixing IHL, total length and checksum; ihl and
// total, when not zero, override the computed values to build malformed headers.
func withOptions(t *testing.T, src string, opts []byte, ihl uint8, total uint16) []byte {
	if len(opts)%4 != 0 {
		t.Fatalf("options of %d bytes", len(opts))
	}
	ip := ip4(src, "198.51.100.7", layers.IPProtocolICMPv4)
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0)}, rawPayload([]byte("ping")))
	out := append(append(append([]byte{}, frame[:34]...), opts...), frame[34:]...)
	h := out[14 : 34+len(opts)]
	if ihl == 0 {
		ihl = uint8(len(h) / 4)
	}
	if total == 0 { // gopacket pads the frame to 60 bytes: the datagram ends earlier
		total = binary.BigEndian.Uint16(frame[16:18]) + uint16(len(opts))
	}
	h[0] = 0x40 | ihl
	binary.BigEndian.PutUint16(h[2:], total)
	binary.BigEndian.PutUint16(h[10:], 0)
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return out
}

func TestIPv4Options(t *testing.T) {
	bad := func(src, reason string, typ, l, off uint64) []fired {
		return []fired{{sid: 9200021, src: src, dst: "198.51.100.7", evidence: map[string]any{
			"reason": reason, "header_len": uint64(24), "total_len": uint64(36),
			"option_type": typ, "option_len": l, "option_offset": off}}}
	}
	badHeader := func(src, reason string, hl, total uint64) []fired {
		return []fired{{sid: 9200021, src: src, dst: "198.51.100.7", evidence: map[string]any{
			"reason": reason, "header_len": hl, "total_len": total}}}
	}
	sourceRouteOn := []string{"  source_route:\n    enabled: false", "  source_route:\n    enabled: true"}
	cases := []struct {
		name  string
		edits []string
		opts  []byte
		ihl   uint8
		total uint16
		want  []fired
	}{
		{"rr_len_1", nil, []byte{7, 1, 0, 0}, 0, 0, bad("192.0.2.1", "ipv4.opt_len_too_small", 7, 1, 20)},
		{"overrun", nil, []byte{0x59, 40, 0, 0}, 0, 0, bad("192.0.2.2", "ipv4.opt_len_overrun", 0x59, 40, 20)},
		{"type_byte_last", nil, []byte{1, 1, 1, 0x44}, 0, 0, bad("192.0.2.3", "ipv4.opt_truncated", 0x44, 0, 23)},
		{"router_alert_len_3", nil, []byte{148, 3, 0, 0}, 0, 0, bad("192.0.2.4", "ipv4.opt_invalid_len", 148, 3, 20)},
		{"rr_bad_len", nil, []byte{7, 4, 4, 0}, 0, 0, bad("192.0.2.5", "ipv4.opt_invalid_len", 7, 4, 20)},
		{"hlen_too_small", nil, nil, 4, 0, badHeader("192.0.2.6", "ipv4.hlen_too_small", 16, 32)},
		{"hlen_beyond_total", nil, []byte{1, 1, 1, 0}, 0, 20, badHeader("192.0.2.7", "ipv4.iplen_smaller_than_hlen", 24, 20)},
		{"well_formed_ra", nil, []byte{148, 4, 0, 0}, 0, 0, nil},
		{"nop_eol_padding", nil, []byte{1, 1, 0, 0}, 0, 0, nil},
		{"eol_then_junk", nil, []byte{0, 0xff, 7, 1}, 0, 0, nil},
		{"unknown_option_sane_len", nil, []byte{0x5e, 4, 1, 2}, 0, 0, nil},
		{"lsrr_off_by_default", nil, []byte{131, 7, 4, 192, 0, 2, 99, 0}, 0, 0, nil},
		{"lsrr_enabled", sourceRouteOn, []byte{131, 7, 4, 192, 0, 2, 99, 0}, 0, 0,
			[]fired{{sid: 9200022, src: "192.0.2.13", dst: "198.51.100.7", evidence: map[string]any{"loose": true, "strict": false}}}},
		{"no_options", nil, nil, 0, 0, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "192.0.2." + strconv.Itoa(i+1) // each case its own source, so wants name it
			got := run(t, testRules(t, c.edits...), withOptions(t, src, c.opts, c.ihl, c.total))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}
