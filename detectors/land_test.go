package detectors_test

import (
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

func landSYN4(t *testing.T, src, dst string, sport, dport uint16, flags string) []byte {
	ip := ip4(src, dst, layers.IPProtocolTCP)
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, tcpSeg(sport, dport, flags, ip))
}

func landSYN6(t *testing.T, src, dst string, sport, dport uint16, flags string) []byte {
	ip := ip6(src, dst, layers.IPProtocolTCP)
	return serialize(t, eth(layers.EthernetTypeIPv6), ip, tcpSeg(sport, dport, flags, ip))
}

func TestLand(t *testing.T) {
	selfConnectOn := []string{"  self_connect:\n    enabled: false", "  self_connect:\n    enabled: true"}
	landOff := []string{"land:\n  enabled: true", "land:\n  enabled: false"}
	quoted := func(t *testing.T) []byte {
		// Port unreachable from 192.0.2.9 to itself, quoting a LAND SYN: not a packet on the wire.
		inner := landSYN4(t, "192.0.2.9", "192.0.2.9", 139, 139, "S")[14:]
		outer := ip4("192.0.2.9", "192.0.2.9", layers.IPProtocolICMPv4)
		return serialize(t, eth(layers.EthernetTypeIPv4), outer,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(3, 3)}, rawPayload(inner[:28]))
	}
	cases := []struct {
		name  string
		edits []string
		frame func(t *testing.T) []byte
		want  []fired
	}{
		{"ipv4_land", nil, func(t *testing.T) []byte { return landSYN4(t, "192.0.2.5", "192.0.2.5", 139, 139, "S") },
			[]fired{{sid: 9200001, src: "192.0.2.5:139", dst: "192.0.2.5:139", evidence: map[string]any{"seq": uint64(1000), "ttl": uint64(64), "window": uint64(8192)}}}},
		{"ipv6_land", nil, func(t *testing.T) []byte { return landSYN6(t, "2001:db8::5", "2001:db8::5", 445, 445, "S") },
			[]fired{{sid: 9200001, src: "2001:db8::5:445", dst: "2001:db8::5:445", evidence: map[string]any{"seq": uint64(1000), "ttl": uint64(64), "window": uint64(8192)}}}},
		{"normal_syn", nil, func(t *testing.T) []byte { return landSYN4(t, "192.0.2.5", "192.0.2.6", 139, 139, "S") }, nil},
		{"synack_same_endpoint", nil, func(t *testing.T) []byte { return landSYN4(t, "192.0.2.5", "192.0.2.5", 139, 139, "SA") }, nil},
		{"rst_same_endpoint", nil, func(t *testing.T) []byte { return landSYN4(t, "192.0.2.5", "192.0.2.5", 139, 139, "R") }, nil},
		{"self_connect_off_by_default", nil, func(t *testing.T) []byte { return landSYN4(t, "127.0.0.1", "127.0.0.1", 40000, 8080, "S") }, nil},
		{"self_connect_enabled", selfConnectOn, func(t *testing.T) []byte { return landSYN4(t, "127.0.0.1", "127.0.0.1", 40000, 8080, "S") },
			[]fired{{sid: 9200002, src: "127.0.0.1:40000", dst: "127.0.0.1:8080", evidence: map[string]any{"seq": uint64(1000), "ttl": uint64(64), "window": uint64(8192)}}}},
		{"detector_disabled", landOff, func(t *testing.T) []byte { return landSYN4(t, "192.0.2.5", "192.0.2.5", 139, 139, "S") }, nil},
		{"icmp_quoting_land_syn", nil, quoted, nil},
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
