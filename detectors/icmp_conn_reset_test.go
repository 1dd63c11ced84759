package detectors_test

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// icmpError builds an ICMP error from a router to the client, quoting the first 28 (IPv4) or 48
// (IPv6) bytes of a client segment at sequence number seq.
func (c *conn) icmpError(typ, code uint8, rest uint32, seq uint32) *conn {
	inner := c.raw(true, "PA", seq, c.sseq, c.cttl, make([]byte, 100))[14:]
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, rest)
	if c.v6 {
		outer := ip6("2001:db8:ff::1", c.cli, layers.IPProtocolICMPv6)
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
		icmp.SetNetworkLayerForChecksum(outer)
		c.frames = append(c.frames, serialize(c.t, eth(layers.EthernetTypeIPv6), outer, icmp, rawPayload(append(b, inner[:48]...))))
		return c
	}
	outer := ip4("203.0.113.1", c.cli, layers.IPProtocolICMPv4)
	c.frames = append(c.frames, serialize(c.t, eth(layers.EthernetTypeIPv4), outer,
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: uint16(rest >> 16), Seq: uint16(rest)}, rawPayload(inner[:28])))
	return c
}

func TestICMPConnReset(t *testing.T) {
	const cli, srv = "192.0.2.10", "198.51.100.20"
	established := func(t *testing.T) *conn {
		c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
		c.send(true, "PA", 1000) // in flight: [cseq-1000, cseq]
		return c
	}
	cases := []struct {
		name  string
		build func(t *testing.T) *conn
		want  []uint32
	}{
		{"port_unreachable_seq_outside", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 3, 0, c.cseq+50000)
		}, []uint32{9200111}},
		{"host_unreachable_seq_outside", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 1, 0, c.cseq-90000)
		}, []uint32{9200111}},
		{"port_unreachable_in_flight", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 3, 0, c.cseq-1000)
		}, []uint32{9200112}},
		{"protocol_unreachable_in_flight", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 2, 0, c.cseq-1000)
		}, []uint32{9200112}},
		{"host_unreachable_in_flight", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 1, 0, c.cseq-1000)
		}, nil},
		{"no_connection", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false)
			return c.icmpError(3, 3, 0, 12345)
		}, nil},
		{"syn_only_not_established", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false)
			c.send(true, "S", 0)
			return c.icmpError(3, 3, 0, 999999)
		}, nil},
		{"frag_needed_plausible_mtu_seq_outside", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 4, 1400, c.cseq+50000)
		}, []uint32{9200013}},
		{"frag_needed_plausible_mtu_in_flight", func(t *testing.T) *conn {
			c := established(t)
			return c.icmpError(3, 4, 1400, c.cseq-1000)
		}, nil},
		{"short_quote_after_another_error", func(t *testing.T) *conn {
			// The second error quotes too little to decode: it must not be judged by the
			// first error's quote, left over in the reused packet.
			c := established(t)
			c.icmpError(3, 1, 0, c.cseq+50000)
			c.icmpError(3, 4, 1400, c.cseq+50000)
			last := c.frames[len(c.frames)-1]
			short := append([]byte(nil), last[:34+8+12]...)
			binary.BigEndian.PutUint16(short[16:], uint16(len(short)-14))
			c.frames[len(c.frames)-1] = short
			return c
		}, []uint32{9200111}},
		{"ipv6_port_unreachable_outside", func(t *testing.T) *conn {
			c := newConn(t, "2001:db8::10", "2001:db8::20", 40000, 80, true).handshake().exchange()
			return c.icmpError(1, 4, 0, c.cseq+50000)
		}, []uint32{9200111}},
		{"ipv6_port_unreachable_in_flight", func(t *testing.T) *conn {
			c := newConn(t, "2001:db8::10", "2001:db8::20", 40000, 80, true).handshake().exchange()
			c.send(true, "PA", 1000)
			return c.icmpError(1, 4, 0, c.cseq-1000)
		}, []uint32{9200112}},
		{"ipv6_ptb_1400_outside", func(t *testing.T) *conn {
			c := newConn(t, "2001:db8::10", "2001:db8::20", 40000, 80, true).handshake().exchange()
			return c.icmpError(2, 0, 1400, c.cseq+50000)
		}, []uint32{9200013}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.build(t)
			var got []uint32
			for _, f := range run(t, testRules(t), c.frames...) {
				got = append(got, f.sid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
}

func TestICMPConnResetEvidence(t *testing.T) {
	c := newConn(t, "192.0.2.10", "198.51.100.20", 40000, 80, false).handshake().exchange()
	c.icmpError(3, 3, 0, c.cseq+50000)
	got := run(t, testRules(t), c.frames...)
	if len(got) != 1 {
		t.Fatalf("alerts %+v", got)
	}
	want := map[string]any{"type": uint64(3), "code": uint64(3), "check": "sequence",
		"inner_src_ip": "192.0.2.10", "inner_dest_ip": "198.51.100.20", "inner_proto": uint64(6),
		"inner_src_port": uint64(40000), "inner_dest_port": uint64(80), "inner_seq": uint64(c.cseq + 50000),
		"snd_una": uint64(c.cseq), "snd_nxt": uint64(c.cseq), "seq_in_flight": false, "confidence": "high"}
	if !reflect.DeepEqual(got[0].evidence, want) || got[0].src != "203.0.113.1" || got[0].dst != "192.0.2.10" {
		t.Errorf("got %+v\nwant evidence %v", got[0], want)
	}
}
