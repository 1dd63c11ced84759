package detectors_test

import (
	"reflect"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func rawPayload(b []byte) gopacket.SerializableLayer { return gopacket.Payload(b) }

// fragNeeded is an ICMPv4 type 3 from a router to a host, quoting the host's TCP segment.
func fragNeeded(t *testing.T, code uint8, mtu uint16) []byte {
	inner := landSYN4(t, "198.51.100.7", "203.0.113.80", 40000, 80, "A")[14:]
	outer := ip4("192.0.2.1", "198.51.100.7", layers.IPProtocolICMPv4)
	return serialize(t, eth(layers.EthernetTypeIPv4), outer,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, code), Seq: mtu}, rawPayload(inner[:28]))
}

// packetTooBig is an ICMPv6 type 2 quoting an IPv6 TCP segment.
func packetTooBig(t *testing.T, mtu uint32) []byte {
	inner := landSYN6(t, "2001:db8::7", "2001:db8:1::80", 40000, 80, "A")[14:]
	outer := ip6("2001:db8:ff::1", "2001:db8::7", layers.IPProtocolICMPv6)
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(2, 0)}
	icmp.SetNetworkLayerForChecksum(outer)
	rest := []byte{byte(mtu >> 24), byte(mtu >> 16), byte(mtu >> 8), byte(mtu)}
	return serialize(t, eth(layers.EthernetTypeIPv6), outer, icmp, rawPayload(append(rest, inner[:48]...)))
}

func TestICMPPMTU(t *testing.T) {
	quote4 := map[string]any{"type": uint64(3), "code": uint64(4), "check": "mtu", "inner_src_ip": "198.51.100.7", "inner_dest_ip": "203.0.113.80",
		"inner_proto": uint64(6), "inner_src_port": uint64(40000), "inner_dest_port": uint64(80), "inner_seq": uint64(1000)}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{k: v}
		for k, v := range m {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name  string
		edits []string
		frame func(t *testing.T) []byte
		want  []fired
	}{
		{"mtu_68", nil, func(t *testing.T) []byte { return fragNeeded(t, 4, 68) },
			[]fired{{sid: 9200011, src: "192.0.2.1", dst: "198.51.100.7", evidence: with(quote4, "next_hop_mtu", uint64(68))}}},
		{"mtu_0", nil, func(t *testing.T) []byte { return fragNeeded(t, 4, 0) },
			[]fired{{sid: 9200011, src: "192.0.2.1", dst: "198.51.100.7", evidence: with(quote4, "next_hop_mtu", uint64(0))}}},
		{"mtu_575_just_below", nil, func(t *testing.T) []byte { return fragNeeded(t, 4, 575) },
			[]fired{{sid: 9200011, src: "192.0.2.1", dst: "198.51.100.7", evidence: with(quote4, "next_hop_mtu", uint64(575))}}},
		{"mtu_576_floor", nil, func(t *testing.T) []byte { return fragNeeded(t, 4, 576) }, nil},
		{"mtu_1492_pppoe", nil, func(t *testing.T) []byte { return fragNeeded(t, 4, 1492) }, nil},
		{"port_unreachable_small_rest", nil, func(t *testing.T) []byte { return fragNeeded(t, 3, 68) }, nil},
		{"threshold_from_rules", []string{"min_mtu: 576", "min_mtu: 1400"}, func(t *testing.T) []byte { return fragNeeded(t, 4, 1300) },
			[]fired{{sid: 9200011, src: "192.0.2.1", dst: "198.51.100.7", evidence: with(quote4, "next_hop_mtu", uint64(1300))}}},
		{"v6_ptb_500", nil, func(t *testing.T) []byte { return packetTooBig(t, 500) },
			[]fired{{sid: 9200012, src: "2001:db8:ff::1", dst: "2001:db8::7", evidence: map[string]any{"type": uint64(2), "code": uint64(0), "check": "mtu",
				"next_hop_mtu": uint64(500), "inner_src_ip": "2001:db8::7", "inner_dest_ip": "2001:db8:1::80", "inner_proto": uint64(6),
				"inner_src_port": uint64(40000), "inner_dest_port": uint64(80), "inner_seq": uint64(1000)}}}},
		{"v6_ptb_1280_minimum", nil, func(t *testing.T) []byte { return packetTooBig(t, 1280) }, nil},
		{"v6_signature_disabled", []string{"    enabled: true\n    sid: 9200012", "    enabled: false\n    sid: 9200012"},
			func(t *testing.T) []byte { return packetTooBig(t, 500) }, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := run(t, testRules(t, c.edits...), c.frame(t))
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}
