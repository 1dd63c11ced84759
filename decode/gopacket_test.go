package decode

// Differential test: every packet of the shared real-capture corpus is decoded by gopacket (the
// oracle) and by Decode, and wherever gopacket decodes a layer cleanly the two must agree.

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// diffStats counts comparisons and agreements per field group.
type diffStats struct {
	packets, readErrs             int
	ip, ipOK                      int
	tcp, tcpOK, udp, udpOK        int
	icmp, icmpOK                  int
	quoted, quotedOK              int
	vlan, vlanOK                  int
	netOff, netOffOK              int
	transOff, transOffOK          int
	ipOnlyOurs, transportOnlyOurs int // we decoded a layer gopacket did not decode cleanly
	excluded                      map[string]int
}

// gpDecoded is one packet as gopacket sees it. base is added to gopacket's offsets: it is
// non-zero when gopacket was given only part of the frame (NFLOG, which it cannot decode).
type gpDecoded struct {
	pkt  gopacket.Packet
	base int
}

// gopacketDecode decodes a frame with gopacket. Link types it has no decoder for are handed to it
// as what they carry: DLT_RAW as written by OpenBSD (12) and BSD/OS (14) as LINKTYPE_RAW,
// LINKTYPE_IPV4/IPV6 (228/229) as an IPv4/IPv6 first layer, and NFLOG by giving it the
// NFULA_PAYLOAD attribute found by nflogPayload.
func gopacketDecode(lt layers.LinkType, data []byte) (gpDecoded, bool) {
	switch lt {
	case layers.LinkTypeIPv4:
		return gpDecoded{pkt: gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)}, true
	case layers.LinkTypeIPv6:
		return gpDecoded{pkt: gopacket.NewPacket(data, layers.LayerTypeIPv6, gopacket.Default)}, true
	case 12, 14:
		return gpDecoded{pkt: gopacket.NewPacket(data, layers.LinkTypeRaw, gopacket.Default)}, true
	case LinkTypeNFLog:
		off, payload, ok := nflogPayload(data)
		if !ok || len(payload) == 0 {
			return gpDecoded{}, false
		}
		first := layers.LayerTypeIPv4
		if payload[0]>>4 == 6 {
			first = layers.LayerTypeIPv6
		}
		return gpDecoded{pkt: gopacket.NewPacket(payload, first, gopacket.Default), base: off}, true
	}
	return gpDecoded{pkt: gopacket.NewPacket(data, lt, gopacket.Default)}, true
}

// nflogPayload finds the NFULA_PAYLOAD attribute of an NFLOG frame, written here independently
// of the decoder: TLVs after a 4-byte header, little-endian length (header included, padding
// excluded) and type, each padded to 4 bytes.
func nflogPayload(b []byte) (int, []byte, bool) {
	for off := 4; off+4 <= len(b); {
		tlen := int(binary.LittleEndian.Uint16(b[off:]))
		typ := binary.LittleEndian.Uint16(b[off+2:]) & 0x7fff
		if tlen < 4 {
			return 0, nil, false
		}
		if typ == 9 {
			return off + 4, b[off+4 : min(off+tlen, len(b))], true
		}
		off += (tlen + 3) &^ 3
	}
	return 0, nil, false
}

// clean reports whether gopacket decoded l without error. gopacket adds a layer and then a
// DecodeFailure when the layer's decoder errs, but also when the decoder of the layer after it
// (DNS, DHCP, ...) errs without adding its layer, so the layer's own decoder is run again on the
// bytes it was given: l is clean when that succeeds.
func clean(pkt gopacket.Packet, l gopacket.Layer) bool {
	if l == nil {
		return false
	}
	ls := pkt.Layers()
	i := slices.Index(ls, l)
	if i < 0 {
		return false
	}
	if i+1 == len(ls) || ls[i+1].LayerType() != gopacket.LayerTypeDecodeFailure {
		return true
	}
	dl, ok := reflect.New(reflect.TypeOf(l).Elem()).Interface().(gopacket.DecodingLayer)
	off := offsetIn(pkt.Data(), l.LayerContents())
	if !ok || off < 0 {
		return false
	}
	return dl.DecodeFromBytes(pkt.Data()[off:], gopacket.NilDecodeFeedback) == nil
}

// layerOffset returns where gopacket's layer starts in the frame.
func (g gpDecoded) layerOffset(l gopacket.Layer) int {
	return g.base + offsetIn(g.pkt.Data(), l.LayerContents())
}

func isIPv6Ext(t gopacket.LayerType) bool {
	switch t {
	case layers.LayerTypeIPv6HopByHop, layers.LayerTypeIPv6Routing, layers.LayerTypeIPv6Fragment,
		layers.LayerTypeIPv6Destination, layers.LayerTypeIPSecAH:
		return true
	}
	return false
}

func extNextHeader(l gopacket.Layer) (layers.IPProtocol, bool) {
	switch x := l.(type) {
	case *layers.IPv6HopByHop:
		return x.NextHeader, true
	case *layers.IPv6Routing:
		return x.NextHeader, true
	case *layers.IPv6Fragment:
		return x.NextHeader, true
	case *layers.IPv6Destination:
		return x.NextHeader, true
	case *layers.IPSecAH:
		return x.NextHeader, true
	}
	return 0, false
}

// afterNetwork returns the layer that follows the network layer and the IPv6 extension headers
// gopacket decoded after it, with the protocol number the chain ends on and the chain's last
// header. ok is false when gopacket failed inside the chain.
func afterNetwork(pkt gopacket.Packet, nl gopacket.Layer) (next gopacket.Layer, proto uint8, ok bool) {
	next, proto, _, ok = afterNetworkLast(pkt, nl)
	return next, proto, ok
}

func afterNetworkLast(pkt gopacket.Packet, nl gopacket.Layer) (next gopacket.Layer, proto uint8, last gopacket.Layer, ok bool) {
	ls := pkt.Layers()
	i := slices.Index(ls, gopacket.Layer(nl))
	switch x := nl.(type) {
	case *layers.IPv4:
		proto = uint8(x.Protocol)
	case *layers.IPv6:
		proto = uint8(x.NextHeader)
	}
	for i++; i < len(ls) && isIPv6Ext(ls[i].LayerType()); i++ {
		if !clean(pkt, ls[i]) {
			return nil, 0, nil, false
		}
		nh, _ := extNextHeader(ls[i])
		proto, last = uint8(nh), ls[i]
	}
	if i < len(ls) {
		next = ls[i]
	}
	return next, proto, last, true
}

// stopsAtFirstFragment reports whether gopacket's chain ends on a fragment header of offset 0.
// gopacket's decodeIPv6Fragment hands everything after any fragment header to DecodeFragment,
// even for an atomic fragment (offset 0, M=0, RFC 6946) whose next header it could decode; its
// chain then ends on the fragment header's next-header value, while Decode walks on through a
// first fragment to the transport header.
func stopsAtFirstFragment(last gopacket.Layer) bool {
	f, ok := last.(*layers.IPv6Fragment)
	return ok && f.FragmentOffset == 0
}

// ourWalkedExt are next-header values Decode walks as extension headers and gopacket treats as
// upper-layer protocols it cannot decode (Mobility, HIP, Shim6, experimental): where gopacket's
// chain ends on one of these, ours legitimately goes on, so Proto is not compared.
var ourWalkedExt = []uint8{135, 139, 140, 253, 254}

func addrOf(ip []byte) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func tcpFlags(t *layers.TCP) uint16 {
	var f uint16
	for i, b := range []bool{t.FIN, t.SYN, t.RST, t.PSH, t.ACK, t.URG, t.ECE, t.CWR, t.NS} {
		if b {
			f |= 1 << i
		}
	}
	return f
}

type differ struct {
	st      *diffStats
	errs    []string
	offErrs []string // NetOff/TransOff that differ from gopacket's
}

func (d *differ) errorf(where, format string, args ...any) {
	d.errs = append(d.errs, where+": "+fmt.Sprintf(format, args...))
}

func (d *differ) exclude(why string) { d.st.excluded[why]++ }

// compare decodes one captured packet both ways and records every disagreement.
func (d *differ) compare(pk capPacket) {
	st := d.st
	st.packets++
	where := fmt.Sprintf("%s#%d", pk.file, pk.index)
	var p Packet
	p.Decode(pk.lt, pk.data, 0, pk.wire)
	g, ok := gopacketDecode(pk.lt, pk.data)
	if !ok {
		return
	}
	pkt := g.pkt

	// VLAN ids, outermost first.
	var vids []uint16
	vlanClean := true
	for _, l := range pkt.Layers() {
		if q, ok := l.(*layers.Dot1Q); ok {
			vids = append(vids, q.VLANIdentifier)
			vlanClean = vlanClean && clean(pkt, l)
		}
	}
	if len(vids) > 0 && vlanClean && len(vids) <= MaxVLANs {
		st.vlan++
		if got := p.VLAN[:p.NumVLAN]; slices.Equal(got, vids) {
			st.vlanOK++
		} else {
			d.errorf(where, "VLANs %v, gopacket %v", got, vids)
		}
	}

	nl := pkt.NetworkLayer()
	if nl == nil || (nl.LayerType() != layers.LayerTypeIPv4 && nl.LayerType() != layers.LayerTypeIPv6) || !clean(pkt, nl) {
		if p.IPVersion != 0 {
			st.ipOnlyOurs++
		}
		return
	}

	// Network layer.
	next, proto, last, chainOK := afterNetworkLast(pkt, nl)
	st.ip++
	ipOK := true
	switch ip := nl.(type) {
	case *layers.IPv4:
		if p.IPVersion != 4 || p.Src != addrOf(ip.SrcIP) || p.Dst != addrOf(ip.DstIP) || p.Proto != uint8(ip.Protocol) {
			ipOK = false
			d.errorf(where, "IPv%d %v>%v proto %d, gopacket IPv4 %v>%v proto %d", p.IPVersion, p.Src, p.Dst, p.Proto, ip.SrcIP, ip.DstIP, ip.Protocol)
		}
	case *layers.IPv6:
		if p.IPVersion != 6 || p.Src != addrOf(ip.SrcIP) || p.Dst != addrOf(ip.DstIP) {
			ipOK = false
			d.errorf(where, "IPv%d %v>%v, gopacket IPv6 %v>%v", p.IPVersion, p.Src, p.Dst, ip.SrcIP, ip.DstIP)
		}
		switch {
		case !chainOK:
			d.exclude("ipv6 proto: gopacket failed inside the extension chain")
		case slices.Contains(ourWalkedExt, proto):
			d.exclude("ipv6 proto: chain continues past a header gopacket does not walk")
		case stopsAtFirstFragment(last):
			d.exclude("ipv6 proto: gopacket stops at a first/atomic fragment header")
		case p.Proto != proto:
			ipOK = false
			d.errorf(where, "IPv6 proto %d, gopacket's chain ends on %d", p.Proto, proto)
		}
	}
	if ipOK {
		st.ipOK++
	}
	st.netOff++
	gpNetOff := g.layerOffset(nl)
	if gpNetOff == p.NetOff {
		st.netOffOK++
	} else {
		d.offErrs = append(d.offErrs, fmt.Sprintf("%s: NetOff %d, gopacket %d", where, p.NetOff, gpNetOff))
	}

	if p.Has(LayerFragment) && p.Frag.Offset > 0 {
		return // later fragments carry no transport header
	}
	// Only a transport layer right after the IP header (and its extension chain) is this
	// packet's: gopacket also decodes tunnels (IP-in-IP, 6in4, GRE, Teredo), whose inner
	// transport Decode does not reach by design.
	if next == nil || !clean(pkt, next) {
		if p.Layers&(LayerTCP|LayerUDP|LayerICMPv4|LayerICMPv6) != 0 && (next == nil || next.LayerType() != gopacket.LayerTypeDecodeFailure) {
			st.transportOnlyOurs++
		}
		return
	}
	transOff := -1
	switch tr := next.(type) {
	case *layers.TCP:
		st.tcp++
		transOff = g.layerOffset(tr)
		if p.Has(LayerTCP) && p.SrcPort == uint16(tr.SrcPort) && p.DstPort == uint16(tr.DstPort) &&
			p.TCP.Seq == tr.Seq && p.TCP.Ack == tr.Ack && p.TCP.Flags == tcpFlags(tr) {
			st.tcpOK++
		} else {
			d.errorf(where, "TCP %v %d>%d seq %d ack %d flags %#x, gopacket %d>%d seq %d ack %d flags %#x",
				p.Has(LayerTCP), p.SrcPort, p.DstPort, p.TCP.Seq, p.TCP.Ack, p.TCP.Flags, tr.SrcPort, tr.DstPort, tr.Seq, tr.Ack, tcpFlags(tr))
		}
	case *layers.UDP:
		st.udp++
		transOff = g.layerOffset(tr)
		if p.Has(LayerUDP) && p.SrcPort == uint16(tr.SrcPort) && p.DstPort == uint16(tr.DstPort) {
			st.udpOK++
		} else {
			d.errorf(where, "UDP %v %d>%d, gopacket %d>%d", p.Has(LayerUDP), p.SrcPort, p.DstPort, tr.SrcPort, tr.DstPort)
		}
	case *layers.ICMPv4:
		st.icmp++
		transOff = g.layerOffset(tr)
		if p.Has(LayerICMPv4) && p.ICMP.Type == tr.TypeCode.Type() && p.ICMP.Code == tr.TypeCode.Code() {
			st.icmpOK++
		} else {
			d.errorf(where, "ICMPv4 %v %d/%d, gopacket %v", p.Has(LayerICMPv4), p.ICMP.Type, p.ICMP.Code, tr.TypeCode)
		}
		if isICMPv4Error(tr.TypeCode.Type()) {
			d.compareQuoted(where, &p, g, tr, layers.LayerTypeIPv4)
		}
	case *layers.ICMPv6:
		st.icmp++
		transOff = g.layerOffset(tr)
		if p.Has(LayerICMPv6) && p.ICMP.Type == tr.TypeCode.Type() && p.ICMP.Code == tr.TypeCode.Code() {
			st.icmpOK++
		} else {
			d.errorf(where, "ICMPv6 %v %d/%d, gopacket %v", p.Has(LayerICMPv6), p.ICMP.Type, p.ICMP.Code, tr.TypeCode)
		}
		if t := tr.TypeCode.Type(); t >= 1 && t <= 4 {
			d.compareQuoted(where, &p, g, tr, layers.LayerTypeIPv6)
		}
	}
	if transOff >= 0 {
		st.transOff++
		if transOff == p.TransOff {
			st.transOffOK++
		} else {
			d.offErrs = append(d.offErrs, fmt.Sprintf("%s: TransOff %d, gopacket %d (IP total %d, frame %d)", where, p.TransOff, transOff, ipTotal(&p), len(pk.data)))
		}
	}
}

// ipTotal is the datagram length the IP header declares.
func ipTotal(p *Packet) int {
	if p.IPVersion == 4 {
		return int(p.IPv4.TotalLen)
	}
	return 40 + int(p.IPv6.PayloadLen)
}

// compareQuoted decodes the bytes an ICMP error quotes (after its 8-byte header) with gopacket
// and compares what it decodes cleanly with Packet.Quoted.
func (d *differ) compareQuoted(where string, p *Packet, g gpDecoded, icmp gopacket.Layer, first gopacket.LayerType) {
	raw := append(slices.Clip(icmp.LayerContents()), icmp.LayerPayload()...)
	if len(raw) < 8 {
		return
	}
	q := gopacket.NewPacket(raw[8:], first, gopacket.Default)
	nl := q.NetworkLayer()
	if nl == nil || !clean(q, nl) {
		return
	}
	d.st.quoted++
	var src, dst netip.Addr
	var proto uint8
	next, chainProto, chainOK := afterNetwork(q, nl)
	switch ip := nl.(type) {
	case *layers.IPv4:
		src, dst, proto = addrOf(ip.SrcIP), addrOf(ip.DstIP), uint8(ip.Protocol)
	case *layers.IPv6:
		src, dst, proto = addrOf(ip.SrcIP), addrOf(ip.DstIP), chainProto
		if !chainOK {
			proto = p.Quoted.Proto
		}
	default:
		return
	}
	ok := p.Has(LayerQuoted) && p.Quoted.Src == src && p.Quoted.Dst == dst && p.Quoted.Proto == proto
	if next != nil && clean(q, next) {
		var sp, dp uint16
		isPorts := true
		switch tr := next.(type) {
		case *layers.TCP:
			sp, dp = uint16(tr.SrcPort), uint16(tr.DstPort)
			ok = ok && p.Quoted.HasSeq && p.Quoted.Seq == tr.Seq
		case *layers.UDP:
			sp, dp = uint16(tr.SrcPort), uint16(tr.DstPort)
		default:
			isPorts = false
		}
		if isPorts {
			ok = ok && p.Quoted.HasPorts && p.Quoted.SrcPort == sp && p.Quoted.DstPort == dp
		}
	}
	if ok {
		d.st.quotedOK++
	} else {
		d.errorf(where, "quoted %+v, gopacket %v>%v proto %d (%s)", p.Quoted, src, dst, proto, q.String())
	}
}

func TestGopacketDifferential(t *testing.T) {
	files := corpusFiles(t)
	st := &diffStats{excluded: map[string]int{}}
	d := &differ{st: st}
	for _, file := range files {
		pkts, err := readCapture(file, 0)
		if err != nil {
			st.readErrs++
			t.Logf("%s: pcapgo stopped after %d packets: %v", file, len(pkts), err)
		}
		for _, pk := range pkts {
			d.compare(pk)
		}
	}
	pct := func(ok, n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d (%.2f%%)", ok, n, 100*float64(ok)/float64(n))
	}
	t.Logf("%d files (%d with read errors), %d packets", len(files), st.readErrs, st.packets)
	t.Logf("agreement where gopacket decoded cleanly: IP %s, TCP %s, UDP %s, ICMP %s, quoted %s, VLAN %s",
		pct(st.ipOK, st.ip), pct(st.tcpOK, st.tcp), pct(st.udpOK, st.udp), pct(st.icmpOK, st.icmp), pct(st.quotedOK, st.quoted), pct(st.vlanOK, st.vlan))
	t.Logf("offsets: NetOff %s, TransOff %s", pct(st.netOffOK, st.netOff), pct(st.transOffOK, st.transOff))
	t.Logf("decoded by us only (gopacket failed or stopped): IP %d, transport %d; excluded: %v", st.ipOnlyOurs, st.transportOnlyOurs, st.excluded)
	if st.ip == 0 || st.tcp == 0 || st.udp == 0 {
		t.Errorf("the corpus gave nothing to compare")
	}

	t.Run("fields", func(t *testing.T) {
		for i, e := range d.errs {
			if i == 50 {
				t.Errorf("... and %d more", len(d.errs)-50)
				break
			}
			t.Error(e)
		}
	})
	// Offsets are compared wherever the layer itself was: the exclusions above (gopacket's
	// NFLOG, tunnel and later-fragment gaps) apply, and every other mismatch is an error.
	t.Run("offsets", func(t *testing.T) {
		for i, e := range d.offErrs {
			if i == 50 {
				t.Errorf("... and %d more", len(d.offErrs)-50)
				break
			}
			t.Error(e)
		}
	})
}
