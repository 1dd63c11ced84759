package decode

import (
	"slices"
	"testing"
)

func TestRecordAndHasAnomaly(t *testing.T) {
	var p Packet
	data := eth(0x0800, synV4())
	p.Decode(ltEther, data, testTS, len(data))
	if p.HasAnomaly(StreamOverlapDiff) || len(p.Anomalies()) != 0 {
		t.Fatalf("fresh packet has anomalies %v", p.Anomalies())
	}
	p.Record(StreamOverlapDiff)
	if !p.HasAnomaly(StreamOverlapDiff) || !slices.Equal(p.Anomalies(), []Anomaly{StreamOverlapDiff}) {
		t.Errorf("after Record: %v", p.Anomalies())
	}
	for range MaxAnomalies + 3 {
		p.Record(StreamOverlap)
	}
	if len(p.Anomalies()) != MaxAnomalies || p.AnomaliesDropped != 4 {
		t.Errorf("after %d records: %d kept, %d dropped", MaxAnomalies+4, len(p.Anomalies()), p.AnomaliesDropped)
	}
	p.Decode(ltEther, data, testTS, len(data))
	if len(p.Anomalies()) != 0 || p.AnomaliesDropped != 0 {
		t.Errorf("Decode kept %v, %d dropped", p.Anomalies(), p.AnomaliesDropped)
	}
	if !p.Has(LayerEthernet|LayerIPv4|LayerTCP) || p.Has(LayerIPv4|LayerUDP) || !p.Has(0) {
		t.Errorf("Has: layers %s", layerNames(p.Layers))
	}
}

func TestAnomaliesDroppedSaturates(t *testing.T) {
	var p Packet
	for range 300 {
		p.Record(StreamOverlap)
	}
	if p.AnomaliesDropped != 255 {
		t.Errorf("AnomaliesDropped = %d, want 255", p.AnomaliesDropped)
	}
}

// TestDecodeDatagram decodes the fragment that completes a datagram, then the reassembled
// datagram in its place.
func TestDecodeDatagram(t *testing.T) {
	last := ethVLAN(0x0800, frag4(1480, false, bigUDP4[1480:]), vtag{0x8100, 42})
	datagram := ip4{id: 0x4d2, proto: 17, src: cliV4, dst: srvV4, payload: bigUDP4}.bytes()

	var p Packet
	p.Decode(ltEther, last, testTS, len(last))
	if !p.Has(LayerFragment) {
		t.Fatalf("setup: layers %s", layerNames(p.Layers))
	}
	p.Record(IPv4FragOverlap) // as defragmentation would, on the fragment
	p.DecodeDatagram(datagram)

	eq(t, "layers", layerNames(p.Layers), layerNames(LayerEthernet|LayerVLAN|LayerReassembled|LayerIPv4|LayerUDP))
	eq(t, "TS", p.TS, testTS)
	eq(t, "LinkType", p.LinkType, ltEther)
	eq(t, "len(Data)", len(p.Data), len(datagram))
	wantVLANs(42)(t, &p)
	wantIP(4, cliV4, srvV4, 17)(t, &p)
	wantOffsets(0, 20)(t, &p)
	wantPorts(5353, 5353)(t, &p)
	wantPayload(bigUDP4[8:])(t, &p)
	// The anomaly list is the datagram's own: what was recorded on the fragment is not carried.
	if len(p.Anomalies()) != 0 || p.AnomaliesDropped != 0 {
		t.Errorf("anomalies %v (%d dropped), want none", p.Anomalies(), p.AnomaliesDropped)
	}

	// IPv6, and a datagram that is not IP at all.
	p.Decode(ltRaw, dnsV6(), testTS, len(dnsV6()))
	p.DecodeDatagram(synV6())
	eq(t, "layers", layerNames(p.Layers), layerNames(LayerReassembled|LayerIPv6|LayerTCP))
	wantPorts(51514, 443)(t, &p)
	p.DecodeDatagram([]byte{0x00, 0x01})
	if !slices.Equal(p.Anomalies(), []Anomaly{IPRawInvalidVersion}) || p.IPVersion != 0 {
		t.Errorf("garbage datagram: anomalies %v, IP version %d", p.Anomalies(), p.IPVersion)
	}
}
