package detectors_test

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// conn builds the frames of one TCP connection with consistent sequence numbers, so detectors
// that judge packets against connection state can be tested on real-looking conversations.
type conn struct {
	t            testing.TB
	cli, srv     string
	cport, sport uint16
	v6           bool
	cseq, sseq   uint32 // next sequence number each side sends
	cttl, sttl   uint8
	cisn, sisn   uint32
	frames       [][]byte
}

func newConn(t testing.TB, cli, srv string, cport, sport uint16, v6 bool) *conn {
	return &conn{t: t, cli: cli, srv: srv, cport: cport, sport: sport, v6: v6,
		cseq: 1000, sseq: 5000, cisn: 1000, sisn: 5000, cttl: 64, sttl: 128}
}

// raw builds one segment; fromClient picks the direction. It does not advance sequence numbers.
func (c *conn) raw(fromClient bool, flags string, seq, ack uint32, ttl uint8, payload []byte) []byte {
	src, dst, sp, dp := c.srv, c.cli, c.sport, c.cport
	if fromClient {
		src, dst, sp, dp = c.cli, c.srv, c.cport, c.sport
	}
	var nl gopacket.NetworkLayer
	var first gopacket.SerializableLayer
	var et layers.EthernetType
	if c.v6 {
		ip := ip6(src, dst, layers.IPProtocolTCP)
		ip.HopLimit = ttl
		nl, first, et = ip, ip, layers.EthernetTypeIPv6
	} else {
		ip := ip4(src, dst, layers.IPProtocolTCP)
		ip.TTL = ttl
		nl, first, et = ip, ip, layers.EthernetTypeIPv4
	}
	tc := tcpSeg(sp, dp, flags, nl)
	tc.Seq, tc.Ack, tc.Window = seq, ack, 8192
	return serialize(c.t, eth(et), first, tc, gopacket.Payload(payload))
}

// send appends a segment from one side at its next sequence number and advances it.
func (c *conn) send(fromClient bool, flags string, n int) []byte {
	seq, ack, ttl := &c.sseq, c.cseq, c.sttl
	if fromClient {
		seq, ack, ttl = &c.cseq, c.sseq, c.cttl
	}
	a := ack
	if flags == "S" {
		a = 0
	}
	f := c.raw(fromClient, flags, *seq, a, ttl, make([]byte, n))
	*seq += uint32(n)
	for _, ch := range flags {
		if ch == 'S' || ch == 'F' {
			*seq++
		}
	}
	c.frames = append(c.frames, f)
	return f
}

// sendBytes appends a data segment with this payload from one side and advances its sequence.
func (c *conn) sendBytes(fromClient bool, payload []byte) []byte {
	seq, ack, ttl := &c.sseq, c.cseq, c.sttl
	if fromClient {
		seq, ack, ttl = &c.cseq, c.sseq, c.cttl
	}
	f := c.raw(fromClient, "PA", *seq, ack, ttl, payload)
	*seq += uint32(len(payload))
	c.frames = append(c.frames, f)
	return f
}

func (c *conn) handshake() *conn {
	c.send(true, "S", 0)
	c.send(false, "SA", 0)
	c.send(true, "A", 0)
	return c
}

// exchange sends a request and a response and acknowledges both.
func (c *conn) exchange() *conn {
	c.send(true, "PA", 100)
	c.send(false, "PA", 300)
	c.send(true, "A", 0)
	return c
}

// rst appends a RST (with ACK) from one side at the given sequence number and TTL.
func (c *conn) rst(fromClient bool, seq uint32, ttl uint8) *conn {
	ack := c.cseq
	if fromClient {
		ack = c.sseq
	}
	c.frames = append(c.frames, c.raw(fromClient, "RA", seq, ack, ttl, nil))
	return c
}
