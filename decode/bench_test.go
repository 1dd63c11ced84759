package decode

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// BenchmarkDecode measures Decode per kind of packet, reporting packets per second.
func BenchmarkDecode(b *testing.B) {
	kinds := []struct {
		name string
		lt   layers.LinkType
		data []byte
	}{
		{"tcp4", ltEther, padTo(eth(0x0800, ackV4()), 60)},
		{"tcp4_options", ltEther, eth(0x0800, synV4())},
		{"udp6", ltEther, eth(0x86dd, dnsV6())},
		{"icmp4_error_quote", ltEther, eth(0x0800, icmpErr4(ICMPv4Unreachable, ICMPv4CodeFragNeeded, 1492, synV4()[:28]))},
		{"vlan_qinq_tcp", ltEther, ethVLAN(0x0800, ip4{id: 2, flags: IPv4DontFragment, proto: 6, src: cliV4, dst: srvV4,
			payload: tcpH{sport: 51514, dport: 443, seq: 1, ack: 2, flags: TCPPsh | TCPAck, opts: cat(optNOP(), optNOP(), optTS(5, 6)),
				payload: make([]byte, 512)}.bytes()}.bytes(), vtag{0x88a8, 200}, vtag{0x8100, 100})},
		{"ipv4_bad_options", ltEther, eth(0x0800, ip4{proto: 6, src: cliV4, dst: srvV4,
			opts:    hx("44 0e 05 01", "00 00 34 70 49 42 20 02 01 05", "07 07 05 00 00 00 00", "94 03 00", "59 e8"),
			payload: tcpH{sport: 4, dport: 225, flags: TCPAck}.bytes()}.bytes())},
	}
	for _, k := range kinds {
		b.Run(k.name, func(b *testing.B) {
			var p Packet
			b.ReportAllocs()
			b.SetBytes(int64(len(k.data)))
			n := 0
			for b.Loop() {
				p.Decode(k.lt, k.data, testTS, len(k.data))
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkReset measures clearing a whole Packet, which is what reset does (TestResetClearsStaleFields).
func BenchmarkReset(b *testing.B) {
	var p Packet
	for b.Loop() {
		p = Packet{}
	}
	_ = p
}
