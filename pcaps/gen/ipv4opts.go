package main

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/gopacket/gopacket/layers"
)

// optPkt is one IPv4 packet with hand-written option bytes and what it must raise.
type optPkt struct {
	src      string
	opts     []byte // raw, padding included
	ihl      int    // IHL override, for header-length malformations
	totalLen int    // total length override
	l4       byte   // 'i' ICMP echo request, 'u' UDP (DNS query), 't' TCP SYN, 'g' IGMPv2 report
	dport    uint16 // TCP/UDP destination port (default 53 for UDP, 80 for TCP)
	anoms    []string
}

const optVictim = "192.0.2.1"

// build returns the IP packet and its expectations: the decoder anomalies, and one alert when
// the header is malformed at all (one per packet, however many options are bad). The alert's
// endpoints carry ports when the transport header is decoded, which it is unless the header
// length itself is broken.
func (o optPkt) build(id uint16) ([]byte, []expect) {
	src, dst := addr(o.src), addr(optVictim)
	h := ip4{src: src, dst: dst, id: id, opts: o.opts, ihl: o.ihl, totalLen: o.totalLen}
	final := finalDst(o.opts, dst)
	sport, dport := 40000+id, o.dport
	var l4 []byte
	switch o.l4 {
	case 'i':
		h.proto = protoICMP
		l4 = icmp4(8, 0, echoRest(0x0400+id, 1), echoBody(32, byte(id)))
	case 'u':
		h.proto = protoUDP
		if dport == 0 {
			dport = 53
		}
		l4 = udp(src, final, sport, dport, dnsQuery(id, "example.com", 1))
	case 't':
		h.proto = protoTCP
		if dport == 0 {
			dport = 80
		}
		l4 = tcp{sport: sport, dport: dport, seq: uint32(id) << 20, flags: flagSYN, win: 8192,
			opts: cat(optMSS(1460), optNOP(), optNOP(), optSACKPerm())}.bytes(src, final)
	case 'g':
		h.proto, h.tos, h.ttl, h.dst = protoIGMP, 0xc0, 1, addr("224.0.0.251")
		l4 = igmpReport(h.dst)
	default:
		panic("optPkt: unknown transport")
	}
	var e []expect
	for _, a := range o.anoms {
		e = append(e, anomaly(a))
	}
	if len(o.anoms) > 0 {
		s, d := src.String(), dst.String()
		if (o.l4 == 'u' || o.l4 == 't') && o.ihl == 0 && o.totalLen == 0 {
			s = netip.AddrPortFrom(src, sport).String()
			d = netip.AddrPortFrom(dst, dport).String()
		}
		e = append(e, optAlert(s, d))
	}
	return h.packet(l4), e
}

// finalDst is where a packet is finally going: the last address of a well-formed source route
// option, or dst. TCP and UDP checksum their pseudo-header with it (RFC 1122 3.3.5.2).
func finalDst(opts []byte, dst netip.Addr) netip.Addr {
	for i := 0; i < len(opts); {
		switch t := opts[i]; {
		case t == 0:
			return dst
		case t == 1:
			i++
		case i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts):
			return dst
		default:
			l := int(opts[i+1])
			if (t == 131 || t == 137) && l >= 7 {
				return netip.AddrFrom4([4]byte(opts[i+l-4 : i+l]))
			}
			i += l
		}
	}
	return dst
}

// igmpReport is an IGMPv2 membership report for group (RFC 2236), sent with Router Alert.
func igmpReport(group netip.Addr) []byte {
	// Same layout and checksum as an ICMP header: type, max response time, checksum, group.
	return icmp4(0x16, 0, binary.BigEndian.Uint32(group.AsSlice()), nil)
}

func (c *capture) addOpts(ps []optPkt) {
	for i, p := range ps {
		ip, e := p.build(uint16(0x100 + i))
		c.send(ip, e...)
	}
}

// Option bytes. IPv4 option types: 0 EOL, 1 NOP, 7 RR, 68 TS, 130 Security, 131 LSRR,
// 133 Extended Security, 134 CIPSO, 136 Stream ID, 137 SSRR, 148 Router Alert.
var (
	a1 = []byte{198, 51, 100, 1}
	a2 = []byte{198, 51, 100, 2}
	a3 = []byte{203, 0, 113, 200}
)

func zeros(n int) []byte { return make([]byte, n) }

// malformations is one packet per kind of malformed IPv4 header, each from its own source.
var malformations = []optPkt{
	// Header length below 20 bytes (IHL 4); nothing after the fixed header can be trusted.
	{src: "203.0.113.1", ihl: 4, l4: 'i', anoms: []string{"ipv4.hlen_too_small"}},
	// IHL 6 (24 bytes) but total length 22.
	{src: "203.0.113.2", opts: []byte{1, 1, 1, 0}, totalLen: 22, l4: 'i', anoms: []string{"ipv4.iplen_smaller_than_hlen"}},
	// Record Route with length 1: below the 2 every multi-byte option needs.
	{src: "203.0.113.3", opts: []byte{7, 1, 0, 0}, l4: 'i', anoms: []string{"ipv4.opt_len_too_small"}},
	// Timestamp claiming 40 bytes in an 8-byte option area.
	{src: "203.0.113.4", opts: cat([]byte{68, 40, 5, 0}, zeros(4)), l4: 'i', anoms: []string{"ipv4.opt_len_overrun"}},
	// An option type (RR) as the very last header byte: no room for its length.
	{src: "203.0.113.5", opts: []byte{1, 1, 1, 7}, l4: 'i', anoms: []string{"ipv4.opt_truncated"}},
	// Record Route of length 8: not 3+4n.
	{src: "203.0.113.6", opts: cat([]byte{7, 8, 4}, zeros(5)), l4: 'u', anoms: []string{"ipv4.opt_invalid_len"}},
	// Record Route (length 7) with pointer 12: beyond length+1.
	{src: "203.0.113.7", opts: cat([]byte{7, 7, 12}, zeros(4), []byte{0}), l4: 'i', anoms: []string{"ipv4.opt_invalid_ptr"}},
	// Loose source route with pointer 3: below the first slot (4). Source routing's own sid is
	// disabled; the malformation alone alerts.
	{src: "203.0.113.8", opts: cat([]byte{131, 7, 3}, a1, []byte{0}), l4: 'i', anoms: []string{"ipv4.opt_invalid_ptr"}},
	// Timestamp, flag 0 (timestamps only), length 6: not 4+4n.
	{src: "203.0.113.9", opts: cat([]byte{68, 6, 5, 0}, zeros(4)), l4: 'i', anoms: []string{"ipv4.opt_invalid_len"}},
	// Timestamp with flag 2, which is undefined.
	{src: "203.0.113.10", opts: cat([]byte{68, 12, 5, 2}, zeros(8)), l4: 'u', anoms: []string{"ipv4.opt_invalid_len"}},
	// Timestamp, flag 1 (address and timestamp, 8-byte entries), pointer 9: a flag-0 slot, not
	// 5+8k.
	{src: "203.0.113.11", opts: cat([]byte{68, 12, 9, 1}, a1, zeros(4)), l4: 'i', anoms: []string{"ipv4.opt_invalid_ptr"}},
	// Router Alert of length 6: must be 4.
	{src: "203.0.113.12", opts: cat([]byte{148, 6}, zeros(6)), l4: 't', anoms: []string{"ipv4.opt_invalid_len"}},
	// Stream ID of length 3: must be 4.
	{src: "203.0.113.13", opts: []byte{136, 3, 0, 0}, l4: 'i', anoms: []string{"ipv4.opt_invalid_len"}},
	// Security of length 2: must be at least 3.
	{src: "203.0.113.14", opts: []byte{130, 2, 0, 0}, l4: 'u', anoms: []string{"ipv4.opt_invalid_len"}},
	// Extended Security of length 2: must be at least 3.
	{src: "203.0.113.15", opts: []byte{133, 2, 0, 0}, l4: 'i', anoms: []string{"ipv4.opt_invalid_len"}},
	// CIPSO of length 5: must be at least 6.
	{src: "203.0.113.16", opts: cat([]byte{134, 5}, zeros(6)), l4: 'i', anoms: []string{"ipv4.opt_invalid_len"}},
	// Two bad options in one header (Router Alert length 2, then a Timestamp with pointer 6):
	// both are recorded, the packet alerts once.
	{src: "203.0.113.17", opts: cat([]byte{148, 2}, []byte{68, 8, 6, 0}, zeros(4), []byte{0, 0}), l4: 'i',
		anoms: []string{"ipv4.opt_invalid_len", "ipv4.opt_invalid_ptr"}},
}

// wellFormed is every option layout a normal stack sends, or might, none malformed.
var wellFormed = []optPkt{
	// ping -R: Record Route with 9 empty slots, pointer at the first.
	{src: "192.0.2.50", opts: cat([]byte{7, 39, 4}, zeros(36), []byte{0}), l4: 'i'},
	// Record Route full: pointer = length+1.
	{src: "192.0.2.51", opts: cat([]byte{7, 11, 12}, a1, a2, []byte{0}), l4: 'u'},
	// ping -T tsonly: Timestamp flag 0, 9 empty slots.
	{src: "192.0.2.52", opts: cat([]byte{68, 40, 5, 0}, zeros(36)), l4: 'i'},
	// ping -T tsandaddr: Timestamp flag 1, one slot filled (pointer 13), then EOL padding.
	{src: "192.0.2.53", opts: cat([]byte{68, 36, 13, 1}, a1, []byte{0, 0x36, 0xee, 0x80}, zeros(24), zeros(4)), l4: 'i'},
	// Timestamp flag 3 (prespecified addresses), full (pointer = length+1) with overflow count 2.
	{src: "192.0.2.54", opts: cat([]byte{68, 20, 21, 0x23}, a1, []byte{0, 0x36, 0xee, 0x80}, a2, []byte{0, 0x36, 0xee, 0x81}), l4: 'i'},
	// Router Alert on an IGMP report, as every IGMP report carries it.
	{src: "192.0.2.55", opts: []byte{148, 4, 0, 0}, l4: 'g'},
	// RFC 1108 basic security: Unclassified, no protection authority flags (length 3), then EOL.
	{src: "192.0.2.56", opts: []byte{130, 3, 0xab, 0}, l4: 'u'},
	// RFC 1108 extended security: format code 1, one byte of information.
	{src: "192.0.2.57", opts: []byte{133, 4, 1, 0x42}, l4: 'i'},
	// CIPSO: DOI 1, tag 1 (restricted bitmap) with sensitivity level 5, then NOP padding.
	{src: "192.0.2.58", opts: []byte{134, 10, 0, 0, 0, 1, 1, 4, 0, 5, 1, 1}, l4: 't'},
	// NOPs then EOL: padding only.
	{src: "192.0.2.59", opts: []byte{1, 1, 1, 0}, l4: 'i'},
	// EOL followed by non-zero bytes: after End of List everything is padding and unchecked.
	{src: "192.0.2.60", opts: []byte{0, 0xde, 0xad, 0xbe}, l4: 'i'},
	// An option type the decoder does not know (0x5e) with a sane length.
	{src: "192.0.2.61", opts: []byte{0x5e, 4, 0x12, 0x34}, l4: 'u'},
	// Stream ID, length 4.
	{src: "192.0.2.62", opts: []byte{136, 4, 0x00, 0x2a}, l4: 'u'},
	// Loose source route via two hops, pointer at the first: source routing (sid 9200022) is
	// disabled by default.
	{src: "192.0.2.63", opts: cat([]byte{131, 11, 4}, a1, a3, []byte{0}), l4: 'i'},
	// Strict source route via one hop.
	{src: "192.0.2.64", opts: cat([]byte{137, 7, 4}, a2, []byte{0}), l4: 't'},
}

func optionCases() []*capture {
	var cs []*capture
	c := newCapture("ipv4-options/attack-each-malformation.pcap", layers.LinkTypeEthernet, eth{},
		"one IPv4 packet per kind of malformed option or header length ("+strconv.Itoa(len(malformations))+" packets, sources 203.0.113.1-"+strconv.Itoa(len(malformations))+", ICMP echo, UDP or TCP SYN)",
		"each header is malformed (CVE-2005-0048): one ipv4-options alert per packet with ports when TCP/UDP was decoded, one anomaly per bad option")
	c.addOpts(malformations)
	cs = append(cs, c)

	c = newCapture("ipv4-options/attack-vlan.pcap", layers.LinkTypeEthernet, eth{tags: []tag{{tpid: 0x8100, vid: 100}}},
		"UDP from 203.0.113.30 whose Timestamp option overruns the header, in an 802.1Q frame (VLAN 100)",
		"malformed option length: one ipv4-options alert and the overrun anomaly")
	c.addOpts([]optPkt{{src: "203.0.113.30", opts: cat([]byte{68, 20, 5, 0}, zeros(8)), l4: 'u', anoms: []string{"ipv4.opt_len_overrun"}}})
	cs = append(cs, c)

	c = newCapture("ipv4-options/attack-sll.pcapng", layers.LinkTypeLinuxSLL, sll{},
		"ICMP echo from 203.0.113.31 with a Record Route pointer inside the address slot (5), Linux cooked capture v1 in pcapng",
		"malformed option pointer: one ipv4-options alert and the invalid-pointer anomaly")
	c.addOpts([]optPkt{{src: "203.0.113.31", opts: cat([]byte{7, 7, 5}, zeros(4), []byte{0}), l4: 'i', anoms: []string{"ipv4.opt_invalid_ptr"}}})
	cs = append(cs, c)

	c = newCapture("ipv4-options/attack-with-transport.pcap", layers.LinkTypeEthernet, eth{},
		"a TCP SYN from 203.0.113.32 to 192.0.2.1:445 whose Timestamp option has length 0",
		"malformed option on a decoded TCP header: one ipv4-options alert whose endpoints carry the ports")
	c.addOpts([]optPkt{{src: "203.0.113.32", opts: []byte{68, 0, 0, 0}, l4: 't', dport: 445, anoms: []string{"ipv4.opt_len_too_small"}}})
	cs = append(cs, c)

	c = newCapture("ipv4-options/benign-well-formed.pcap", layers.LinkTypeEthernet, eth{},
		"well-formed options: RR (empty and full), TS flags 0/1/3, Router Alert on IGMP, Security, Extended Security, CIPSO, NOP/EOL padding, junk after EOL, unknown 0x5e, Stream ID, LSRR, SSRR",
		"every option has a legal length and pointer: no anomaly; source routing (sid 9200022) is disabled by default: no alert")
	c.addOpts(wellFormed)
	cs = append(cs, c)

	c = newCapture("ipv4-options/benign-no-options.pcap", layers.LinkTypeEthernet, eth{},
		"plain IPv4 (and some IPv6) traffic without options: a TCP connection, DNS over UDP, ICMP echo",
		"20-byte IPv4 headers cannot be malformed in their options: no alert, no anomaly")
	plainTraffic(c, 0)
	cs = append(cs, c)
	return cs
}

// plainTraffic adds an HTTP connection, a DNS lookup and a ping over IPv4, and a ping over IPv6.
func plainTraffic(c *capture, n int) {
	cli, srv, dns := addr("192.0.2.70"), addr("203.0.113.70"), addr("198.51.100.53")
	f := newFlow(&c.stream, c.l, "192.0.2.70:"+strconv.Itoa(51000+n), "203.0.113.70:80", 0x70707070+uint32(n))
	c.send(ipOver(cli, dns, protoUDP, 1, udp(cli, dns, 53000, 53, dnsQuery(0x7000, "www.example.com", 1))))
	c.send(ipOver(dns, cli, protoUDP, 2, udp(dns, cli, 53, 53000, dnsAnswer(0x7000, "www.example.com", 1, 300, [][]byte{srv.AsSlice()}))))
	f.open(true)
	f.data(true, httpGet("www.example.com", "/about"))
	f.ack(false)
	f.data(false, httpResponse(1100, 'p'))
	f.ack(true)
	f.close()
	c.send(ipOver(cli, srv, protoICMP, 3, icmp4(8, 0, echoRest(7, 1), echoBody(56, 0))))
	c.send(ipOver(srv, cli, protoICMP, 4, icmp4(0, 0, echoRest(7, 1), echoBody(56, 0))))
	c6, s6 := addr("2001:db8:1::70"), addr("2001:db8:2::70")
	c.send(ipOver(c6, s6, protoICMPv6, 0, icmp6(c6, s6, 128, 0, echoRest(8, 1), echoBody(56, 0))))
	c.send(ipOver(s6, c6, protoICMPv6, 0, icmp6(s6, c6, 129, 0, echoRest(8, 1), echoBody(56, 0))))
}
