package decode

import (
	"encoding/binary"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
)

// snapshot is what a decode exposes: the exported fields of a Packet (unexported ones zeroed)
// and its anomaly list.
type snapshot struct {
	P         Packet
	Anomalies []Anomaly
}

func exported(p *Packet) snapshot {
	var q Packet
	src, dst := reflect.ValueOf(p).Elem(), reflect.ValueOf(&q).Elem()
	for i := range src.NumField() {
		if src.Type().Field(i).IsExported() {
			dst.Field(i).Set(src.Field(i))
		}
	}
	return snapshot{P: q, Anomalies: slices.Clone(p.Anomalies())}
}

// validView is exported(p) with every field outside its documented validity zeroed: VLAN ids past
// NumVLAN, Src/Dst/NetOff without an IP version, each header struct without its layer bit, TCP
// option values without their Has bit, TransOff without a transport layer.
func validView(p *Packet) snapshot {
	s := exported(p)
	q := &s.P
	for i := int(q.NumVLAN); i < MaxVLANs; i++ {
		q.VLAN[i] = 0
	}
	if q.IPVersion == 0 {
		q.Src, q.Dst, q.NetOff = netip.Addr{}, netip.Addr{}, 0
	}
	if !q.Has(LayerIPv4) {
		q.IPv4 = IPv4{}
	}
	if !q.Has(LayerIPv6) {
		q.IPv6 = IPv6{}
	}
	if !q.Has(LayerFragment) {
		q.Frag = Frag{}
	}
	if q.Layers&(LayerTCP|LayerUDP|LayerICMPv4|LayerICMPv6) == 0 {
		q.TransOff = 0
	}
	if !q.Has(LayerTCP) {
		q.TCP = TCP{}
	} else {
		o := &q.TCP.Opt
		if o.Has&TCPOptMSS == 0 {
			o.MSS = 0
		}
		if o.Has&TCPOptWScale == 0 {
			o.WScale = 0
		}
		if o.Has&TCPOptTimestamps == 0 {
			o.TSVal, o.TSEcr = 0, 0
		}
	}
	if !q.Has(LayerUDP) {
		q.UDP = UDP{}
	}
	if q.Layers&(LayerICMPv4|LayerICMPv6) == 0 {
		q.ICMP = ICMP{}
	}
	if !q.Has(LayerQuoted) {
		q.Quoted = Quoted{}
	}
	return s
}

// offsetIn returns where s starts in data, or -1 when s is not a sub-slice of data. Empty
// slices without capacity cannot be located and count as inside.
func offsetIn(data, s []byte) int {
	if cap(s) == 0 {
		return 0
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	ptr := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	if cap(data) == 0 || ptr < base || ptr+uintptr(len(s)) > base+uintptr(len(data)) {
		return -1
	}
	return int(ptr - base)
}

// checkInvariants checks what must hold for any input. s is the view whose slices are checked:
// the whole Packet for a fresh decode, the valid view for a reused one.
func checkInvariants(t *testing.T, p *Packet, s snapshot, data []byte, wire int) {
	t.Helper()
	q := &s.P
	if len(p.Data) != len(data) || offsetIn(data, p.Data) != 0 {
		t.Fatalf("Data is not the frame")
	}
	for name, b := range map[string][]byte{"Payload": q.Payload, "IPv4.Options": q.IPv4.Options, "TCP.Options": q.TCP.Options} {
		if offsetIn(data, b) < 0 {
			t.Fatalf("%s (%d bytes) is not a sub-slice of the frame", name, len(b))
		}
	}
	if q.NetOff < 0 || q.NetOff > len(data) || q.TransOff < 0 || q.TransOff > len(data) {
		t.Fatalf("NetOff %d TransOff %d outside [0,%d]", q.NetOff, q.TransOff, len(data))
	}
	as := p.Anomalies()
	if len(as) > MaxAnomalies || (p.AnomaliesDropped > 0 && len(as) != MaxAnomalies) {
		t.Fatalf("%d anomalies, %d dropped", len(as), p.AnomaliesDropped)
	}
	for _, a := range as {
		if a == AnomalyNone || a >= numAnomalies {
			t.Fatalf("anomaly code %d", a)
		}
		if a == CaptureTruncated && wire <= len(data) {
			t.Fatalf("capture.truncated without a capture cut (wire %d, captured %d)", wire, len(data))
		}
	}
	if p.Has(LayerTruncated) != (wire > len(data)) {
		t.Fatalf("LayerTruncated %v with wire %d, captured %d", p.Has(LayerTruncated), wire, len(data))
	}

	// Layer bits agree with each other and with the fields.
	l := p.Layers
	if (p.IPVersion == 4) != p.Has(LayerIPv4) || (p.IPVersion == 6) != p.Has(LayerIPv6) || (p.IPVersion != 0 && p.IPVersion != 4 && p.IPVersion != 6) {
		t.Fatalf("IPVersion %d with layers %s", p.IPVersion, layerNames(l))
	}
	transports := 0
	for _, b := range []Layer{LayerTCP, LayerUDP, LayerICMPv4, LayerICMPv6} {
		if l&b != 0 {
			transports++
		}
	}
	if transports > 1 || (transports == 1 && p.IPVersion == 0) {
		t.Fatalf("layers %s", layerNames(l))
	}
	if p.Has(LayerQuoted) && l&(LayerICMPv4|LayerICMPv6) == 0 || p.Has(LayerICMPv4) && p.IPVersion != 4 || p.Has(LayerICMPv6) && p.IPVersion != 6 {
		t.Fatalf("layers %s, IP version %d", layerNames(l), p.IPVersion)
	}
	if int(p.NumVLAN) > MaxVLANs || (p.NumVLAN > 0) != p.Has(LayerVLAN) {
		t.Fatalf("NumVLAN %d with layers %s", p.NumVLAN, layerNames(l))
	}
	if l&(LayerTCP|LayerUDP) == 0 && (p.SrcPort != 0 || p.DstPort != 0) {
		t.Fatalf("ports %d %d without TCP/UDP", p.SrcPort, p.DstPort)
	}
	if l&(LayerTCP|LayerUDP|LayerICMPv4|LayerICMPv6) == 0 && p.Payload != nil {
		t.Fatalf("payload without a transport layer")
	}

	// Offsets point at the headers they name.
	if p.IPVersion != 0 {
		if p.NetOff >= len(data) || data[p.NetOff]>>4 != p.IPVersion {
			t.Fatalf("NetOff %d does not point at an IPv%d header", p.NetOff, p.IPVersion)
		}
		var src netip.Addr
		if p.IPVersion == 4 {
			src = netip.AddrFrom4([4]byte(data[p.NetOff+12:]))
		} else {
			src = netip.AddrFrom16([16]byte(data[p.NetOff+8:]))
		}
		if src != p.Src {
			t.Fatalf("Src %v, frame at NetOff+src holds %v", p.Src, src)
		}
	}
	if l&(LayerTCP|LayerUDP) != 0 {
		if p.TransOff+4 > len(data) || binary.BigEndian.Uint16(data[p.TransOff:]) != p.SrcPort || binary.BigEndian.Uint16(data[p.TransOff+2:]) != p.DstPort {
			t.Fatalf("TransOff %d does not point at ports %d>%d", p.TransOff, p.SrcPort, p.DstPort)
		}
	}
	if l&(LayerICMPv4|LayerICMPv6) != 0 && (p.TransOff >= len(data) || data[p.TransOff] != p.ICMP.Type) {
		t.Fatalf("TransOff %d does not point at ICMP type %d", p.TransOff, p.ICMP.Type)
	}
	if p.Has(LayerTCP) && p.Payload != nil && cap(p.Payload) > 0 && offsetIn(data, p.Payload) != p.TransOff+int(p.TCP.HeaderLen) {
		t.Fatalf("TCP payload at %d, header at %d+%d", offsetIn(data, p.Payload), p.TransOff, p.TCP.HeaderLen)
	}
}

// fuzzOthers are decoded into a Packet before the fuzz input, to find state a decode leaks.
var fuzzOthers = []struct {
	lt   layers.LinkType
	data []byte
}{
	{ltEther, staleY()},
	{ltEther, staleY2()},
	{ltRaw, icmpErr6(ICMPv6PacketTooBig, 0, 1280, udp6Chain(nhHBH, optsHdr6(nhRt, 0), rtHdr6(nhFrag, 0, "2001:db8::1"), fragHdr6(nhUDP, 0, true, 3)))},
	{ltRaw, ip4{proto: 6, src: cliV4, dst: srvV4, payload: tcpH{sport: 1, dport: 2, opts: hx(
		"04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 04 03 00 02 04 05 b4 08 0a 00 00 00 01 00 00 00")}.bytes()}.bytes()},
}

func FuzzDecode(f *testing.F) {
	for _, c := range allCases() {
		data, wire := c.frame()
		f.Add(uint16(c.lt), data, uint16(min(wire-len(data), 0xffff)))
	}
	if _, files := corpusDir(); len(files) > 0 {
		for _, file := range files {
			pkts, _ := readCapture(file, 8)
			for _, pk := range pkts {
				f.Add(uint16(pk.lt), pk.data, uint16(min(max(pk.wire-len(pk.data), 0), 0xffff)))
			}
		}
	}
	f.Fuzz(func(t *testing.T, lt uint16, data []byte, cut uint16) {
		wire := len(data) + int(cut)
		fresh := new(Packet)
		fresh.Decode(layers.LinkType(lt), data, 42, wire)
		want := exported(fresh)
		checkInvariants(t, fresh, want, data, wire)

		// The same input twice into one Packet.
		again := new(Packet)
		again.Decode(layers.LinkType(lt), data, 42, wire)
		again.Decode(layers.LinkType(lt), data, 42, wire)
		if got := exported(again); !reflect.DeepEqual(got, want) {
			t.Fatalf("second decode differs:\n got %+v\nwant %+v", got, want)
		}

		// The same frame cut shorter by the snap length (same wire length): a cut header is
		// capture.truncated, never a protocol anomaly, so the cut adds no other anomaly and no
		// layer. The cut point is derived from the input.
		if len(data) > 0 && fresh.AnomaliesDropped == 0 {
			n := len(data) - 1 - int(cut)%len(data)
			short := new(Packet)
			short.Decode(layers.LinkType(lt), data[:n], 42, wire)
			checkInvariants(t, short, exported(short), data[:n], wire)
			var extra []Anomaly
			for _, a := range short.Anomalies() {
				if a != CaptureTruncated && !fresh.HasAnomaly(a) {
					extra = append(extra, a)
				}
			}
			if len(extra) > 0 {
				t.Fatalf("cut to %d of %d bytes: anomalies %v, uncut %v", n, len(data), short.Anomalies(), fresh.Anomalies())
			}
			if l := short.Layers &^ LayerTruncated; l&^fresh.Layers != 0 {
				t.Fatalf("cut to %d of %d bytes: layers %s, uncut %s", n, len(data), layerNames(short.Layers), layerNames(fresh.Layers))
			}
		}

		// After another input: the reset must be complete.
		for i, o := range fuzzOthers {
			reused := new(Packet)
			reused.Decode(o.lt, o.data, 7, len(o.data))
			reused.Decode(layers.LinkType(lt), data, 42, wire)
			view := validView(reused)
			checkInvariants(t, reused, view, data, wire)
			if fv := validView(fresh); !reflect.DeepEqual(view, fv) {
				t.Fatalf("after other input %d, the valid fields differ from a fresh decode:\n got %+v\nwant %+v", i, view, fv)
			}
			// Every exported field, valid or not.
			if got := exported(reused); !reflect.DeepEqual(got, want) {
				t.Fatalf("after other input %d, exported fields differ from a fresh decode:\n got %+v\nwant %+v", i, got.P, want.P)
			}
		}
	})
}
