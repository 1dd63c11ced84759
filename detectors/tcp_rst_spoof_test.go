package detectors_test

import (
	"reflect"
	"testing"
)

func TestTCPRSTSpoof(t *testing.T) {
	const cli, srv = "192.0.2.10", "198.51.100.20"
	cases := []struct {
		name  string
		build func(t *testing.T) *conn
		want  []uint32 // signature ids, in order
	}{
		{"exact_close_after_data", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			return c.rst(false, c.sseq, 128)
		}, nil},
		{"rst_within_unacked_range", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake()
			c.send(false, "PA", 500) // not yet acknowledged: RST may carry any seq in [una, nxt]
			return c.rst(false, c.sseq-200, 128)
		}, nil},
		{"blind_in_window", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			return c.rst(false, c.sseq+1000, 128)
		}, []uint32{9200101}},
		{"blind_in_window_ipv6", func(t *testing.T) *conn {
			c := newConn(t, "2001:db8::10", "2001:db8::20", 40000, 80, true).handshake().exchange()
			return c.rst(true, c.cseq+4000, 64)
		}, []uint32{9200101}},
		{"single_out_of_window", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			return c.rst(false, c.sseq+3000000, 128)
		}, nil},
		{"burst_walking_the_window", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			for i := uint32(1); i <= 12; i++ {
				c.rst(false, c.sseq+i*70000, 128) // all outside the 8192 window
			}
			return c
		}, []uint32{9200102}},
		{"repeated_rst_same_seq", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			for range 5 {
				c.rst(false, c.sseq+3000000, 128)
			}
			return c
		}, nil},
		{"syn_refused", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 81, false)
			c.send(true, "S", 0)
			c.frames = append(c.frames, c.raw(false, "RA", 0, c.cseq, 128, nil))
			return c
		}, nil},
		{"forged_refusal_then_synack", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false)
			c.send(true, "S", 0)
			c.frames = append(c.frames, c.raw(false, "RA", 0, c.cseq, 64, nil))
			c.send(false, "SA", 0)
			c.send(true, "A", 0)
			return c.exchange()
		}, []uint32{9200103}},
		{"client_data_after_own_reset", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			c.rst(true, c.cseq, 64)
			c.send(true, "PA", 50)
			return c
		}, []uint32{9200103}},
		{"reset_then_new_connection_same_ports", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			c.rst(true, c.cseq, 64)
			c.cseq += 777777 // a new ISN
			return c.handshake().exchange()
		}, nil},
		{"rst_after_fin_exchange", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).handshake().exchange()
			c.send(true, "FA", 0)
			c.send(false, "FA", 0)
			return c.rst(true, c.cseq, 64)
		}, nil},
		{"midstream_in_window_not_judged", func(t *testing.T) *conn {
			c := newConn(t, cli, srv, 40000, 80, false).exchange()
			return c.rst(false, c.sseq+1000, 128)
		}, nil},
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

func TestTCPRSTSpoofEvidence(t *testing.T) {
	c := newConn(t, "192.0.2.10", "198.51.100.20", 40000, 80, false).handshake().exchange()
	c.rst(false, c.sseq+1000, 200) // baseline 128: another sender
	got := run(t, testRules(t), c.frames...)
	if len(got) != 1 {
		t.Fatalf("alerts %+v", got)
	}
	want := map[string]any{"check": "in_window", "rst_seq": uint64(c.sseq + 1000), "expected_seq": uint64(c.sseq),
		"window": uint64(8192), "count": uint64(1), "seq_spread": uint64(0), "ttl": uint64(200),
		"ttl_baseline_min": uint64(128), "ttl_baseline_max": uint64(128), "confidence": "high"}
	if !reflect.DeepEqual(got[0].evidence, want) || got[0].src != "198.51.100.20:80" {
		t.Errorf("got %+v\nwant evidence %v", got[0], want)
	}
}
