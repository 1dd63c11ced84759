package main

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// fragment4 is the fragment of the IPv4 datagram dg that carries data at payload offset off (a
// multiple of 8): dg's header with the total length, flags (MF when more, never DF), offset and
// checksum rewritten. data need not be dg's own bytes, so overlaps can lie.
func fragment4(dg []byte, off int, data []byte, more bool) []byte {
	hl := int(dg[0]&0x0f) * 4
	b := cat(dg[:hl], data)
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	ff := uint16(off/8) & 0x1fff
	if more {
		ff |= 0x2000
	}
	binary.BigEndian.PutUint16(b[6:], ff)
	binary.BigEndian.PutUint16(b[10:], 0)
	binary.BigEndian.PutUint16(b[10:], fold(sum(0, b[:hl])))
	return b
}

// split4 cuts dg into fragments carrying size payload bytes each (a multiple of 8; the last
// carries the rest), in order. dg's total length field is ignored, so it may be too large.
func split4(dg []byte, size int) [][]byte {
	pl := dg[int(dg[0]&0x0f)*4:]
	var out [][]byte
	for off := 0; off < len(pl); off += size {
		end := min(off+size, len(pl))
		out = append(out, fragment4(dg, off, pl[off:end], end < len(pl)))
	}
	return out
}

// fragment6 is the fragment of the IPv6 datagram dg (no extension headers) that carries data at
// payload offset off (a multiple of 8): dg's header followed by a Fragment header (RFC 8200
// section 4.5) naming dg's transport protocol.
func fragment6(dg []byte, id uint32, off int, data []byte, more bool) []byte {
	b := make([]byte, 48, 48+len(data))
	copy(b, dg[:40])
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(data)))
	b[6] = 44
	b[40] = dg[6]
	fo := uint16(off) &^ 7
	if more {
		fo |= 1
	}
	binary.BigEndian.PutUint16(b[42:], fo)
	binary.BigEndian.PutUint32(b[44:], id)
	return append(b, data...)
}

// split6 is split4 for IPv6.
func split6(dg []byte, id uint32, size int) [][]byte {
	pl := dg[40:]
	var out [][]byte
	for off := 0; off < len(pl); off += size {
		end := min(off+size, len(pl))
		out = append(out, fragment6(dg, id, off, pl[off:end], end < len(pl)))
	}
	return out
}

// flipped is a copy of b with every bit inverted: bytes that differ everywhere from b's.
func flipped(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[i] = ^x
	}
	return out
}

// edns adds an OPT pseudo-record (RFC 6891) offering a 4096-byte UDP payload to a DNS message
// that has no additional records: what lets a response outgrow 512 bytes and be fragmented.
func edns(m []byte) []byte {
	b := append([]byte(nil), m...)
	binary.BigEndian.PutUint16(b[10:], 1)
	return append(b, 0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0)
}

// bigAnswer answers an A (qtype 1) or AAAA (28) query with n records.
func bigAnswer(id uint16, name string, qtype uint16, n int) []byte {
	rd := make([][]byte, n)
	for i := range rd {
		if qtype == 1 {
			rd[i] = []byte{203, 0, 113, byte(1 + i)}
		} else {
			rd[i] = addr(fmt.Sprintf("2001:db8:2::%x", 0x1000+i)).AsSlice()
		}
	}
	return edns(dnsAnswer(id, name, qtype, 60, rd))
}

func fragAlert(sid int, src, dst netip.Addr) expect {
	return alert(detFrag, sid, src.String(), dst.String())
}

func fragCases() []*capture {
	return []*capture{fragTeardrop(), fragPingOfDeath(), fragTiny(), fragIPv6Overlap(), fragBenignUDP(), fragDuplicate()}
}

func fragTeardrop() *capture {
	c := newCapture("ip-frag/attack-teardrop.pcap", layers.LinkTypeEthernet, eth{},
		"a 56-byte UDP datagram 203.0.113.66:31337 -> 192.0.2.66:9 in two fragments: bytes 0-39 (MF), then bytes 24-55 whose first 16 bytes differ from the first fragment's",
		"the second fragment overlaps the first with different data (teardrop, CVE-1999-0015): one ip-frag 9200201 alert on it (a non-first fragment: addresses only); anomalies overlap and overlap_different_data once each")
	src, dst := addr("203.0.113.66"), addr("192.0.2.66")
	dg := ip4{src: src, dst: dst, proto: protoUDP, id: 0x0d0d}.packet(udp(src, dst, 31337, 9, filler(48, 'T')))
	pl := dg[20:]
	c.send(fragment4(dg, 0, pl[:40], true))
	c.send(fragment4(dg, 24, cat(flipped(pl[24:40]), pl[40:]), false),
		fragAlert(sidFragOverlap, src, dst), anomaly("ipv4.frag_overlap"), anomaly("ipv4.frag_overlap_different_data"))
	return c
}

func fragPingOfDeath() *capture {
	c := newCapture("ip-frag/attack-ping-of-death.pcap", layers.LinkTypeEthernet, eth{},
		"ICMP echo request 203.0.113.67 -> 192.0.2.67 with 65510 data bytes (ping -s 65510), in 45 fragments of 1480 bytes in order: the last, at offset 65120, ends at 65518, so the datagram is 65538 bytes",
		"the last fragment makes the datagram exceed 65535 bytes (ping of death, CVE-1999-0128): one ip-frag 9200202 alert and one frag_too_large anomaly; the datagram is discarded")
	src, dst := addr("203.0.113.67"), addr("192.0.2.67")
	dg := ip4{src: src, dst: dst, proto: protoICMP, id: 0x7a69}.packet(icmp4(8, 0, echoRest(0x0667, 1), echoBody(65510, 0)))
	frags := split4(dg, 1480)
	for i, f := range frags {
		if i == len(frags)-1 {
			c.send(f, fragAlert(sidFragTooLarge, src, dst), anomaly("ipv4.frag_too_large"))
		} else {
			c.send(f)
		}
	}
	return c
}

// linuxSYN is a TCP SYN with Linux's options (40-byte header).
func linuxSYN(src, dst netip.AddrPort, seq uint32) []byte {
	return tcp{sport: src.Port(), dport: dst.Port(), seq: seq, flags: flagSYN, win: 64240,
		opts: cat(optMSS(1460), optSACKPerm(), optTS(0x01e24000, 0), optNOP(), optWS(7))}.bytes(src.Addr(), dst.Addr())
}

func fragTiny() *capture {
	c := newCapture("ip-frag/attack-tiny-first-fragment.pcap", layers.LinkTypeEthernet, eth{},
		"a TCP SYN 203.0.113.68:40404 -> 192.0.2.68:22 with Linux options (40-byte header) in two fragments, in order: the first carries 8 bytes of TCP header (ports and sequence number), the second the other 32",
		"the first fragment holds less than a TCP header, hiding the flags (RFC 1858): one ip-frag 9200203 alert on it (transport not decoded: addresses only) and one frag_tiny anomaly; the reassembled SYN is ordinary")
	src, dst := addrPort("203.0.113.68:40404"), addrPort("192.0.2.68:22")
	syn := linuxSYN(src, dst, 0x1858abcd)
	dg := ip4{src: src.Addr(), dst: dst.Addr(), proto: protoTCP, id: 0x1858}.packet(syn)
	c.send(fragment4(dg, 0, syn[:8], true), fragAlert(sidFragTiny, src.Addr(), dst.Addr()), anomaly("ipv4.frag_tiny"))
	c.send(fragment4(dg, 8, syn[8:], false))
	return c
}

func fragIPv6Overlap() *capture {
	c := newCapture("ip-frag/attack-ipv6-overlap.pcap", layers.LinkTypeEthernet, eth{},
		"a 64-byte UDP datagram [2001:db8:2::69]:31337 -> [2001:db8:1::69]:9 in two IPv6 fragments: bytes 0-47 (M), then bytes 32-63 whose first 16 bytes differ from the first fragment's",
		"the second fragment overlaps the first with different data (RFC 5722 forbids overlaps altogether): one ip-frag 9200201 alert on it (addresses only); anomalies ipv6 overlap and overlap_different_data once each")
	src, dst := addr("2001:db8:2::69"), addr("2001:db8:1::69")
	dg := ipOver(src, dst, protoUDP, 0, udp(src, dst, 31337, 9, filler(56, 'V')))
	pl := dg[40:]
	c.send(fragment6(dg, 0x69696969, 0, pl[:48], true))
	c.send(fragment6(dg, 0x69696969, 32, cat(flipped(pl[32:48]), pl[48:]), false),
		fragAlert(sidFragOverlap, src, dst), anomaly("ipv6.frag_overlap"), anomaly("ipv6.frag_overlap_different_data"))
	return c
}

// fragBenignUDP is large DNS answers (EDNS0), the commonest fragmented traffic there is.
func fragBenignUDP() *capture {
	c := newCapture("ip-frag/benign-fragmented-udp.pcap", layers.LinkTypeEthernet, eth{},
		"four DNS queries with EDNS0 and their large answers, each answer fragmented: 250 A records from 198.51.100.53 to 192.0.2.100 in 3 fragments in order, then in reverse order; 140 AAAA records from 2001:db8:53::53 to 2001:db8:1::100 in 3 fragments in order, then in reverse order",
		"fragments that do not overlap, reassemble below 65535 bytes and carry whole transport headers first, in whatever order: no alert, no anomaly")
	for i, fam := range []struct {
		cli, res string
		qtype    uint16
		n, size  int
	}{
		{"192.0.2.100", "198.51.100.53", 1, 250, 1480},
		{"2001:db8:1::100", "2001:db8:53::53", 28, 140, 1448},
	} {
		cli, res := addr(fam.cli), addr(fam.res)
		for j, name := range []string{"cdn.example.net", "pool.example.org"} {
			n := i*2 + j
			id, sp := uint16(0x6a00+n), uint16(53100+n)
			c.send(ipOver(cli, res, protoUDP, uint16(0x200+n), udp(cli, res, sp, 53, edns(dnsQuery(id, name, fam.qtype)))))
			ans := udp(res, cli, 53, sp, bigAnswer(id, name, fam.qtype, fam.n))
			var frags [][]byte
			if cli.Is4() {
				frags = split4(ip4{src: res, dst: cli, proto: protoUDP, id: uint16(0x3000 + n)}.packet(ans), fam.size)
			} else {
				frags = split6(ipOver(res, cli, protoUDP, 0, ans), 0x00f00000+uint32(n), fam.size)
			}
			for k := range frags {
				if j == 1 {
					k = len(frags) - 1 - k
				}
				c.send(frags[k])
			}
		}
	}
	return c
}

func fragDuplicate() *capture {
	c := newCapture("ip-frag/benign-duplicate-fragment.pcap", layers.LinkTypeEthernet, eth{},
		"a DNS query with EDNS0 192.0.2.101 -> 198.51.100.53, then its 250-record answer in 3 fragments, the middle one sent twice, byte for byte the same",
		"a duplicated fragment (a retransmission, or a capture seeing it twice) overlaps with identical bytes: one frag_overlap anomaly on the copy, no alert")
	cli, res := addr("192.0.2.101"), addr("198.51.100.53")
	c.send(ipOver(cli, res, protoUDP, 0x0201, udp(cli, res, 53201, 53, edns(dnsQuery(0x6b01, "cdn.example.net", 1)))))
	ans := udp(res, cli, 53, 53201, bigAnswer(0x6b01, "cdn.example.net", 1, 250))
	frags := split4(ip4{src: res, dst: cli, proto: protoUDP, id: 0x3101}.packet(ans), 1480)
	c.send(frags[0])
	c.send(frags[1])
	c.send(frags[1], anomaly("ipv4.frag_overlap"))
	c.send(frags[2])
	return c
}
