package decode

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// allocFrame is a frame prepared before measuring, so that only Decode runs in the loop.
type allocFrame struct {
	name string
	lt   layers.LinkType
	data []byte
	wire int
}

func tableFrames() []allocFrame {
	var frames []allocFrame
	for _, c := range allCases() {
		data, wire := c.frame()
		frames = append(frames, allocFrame{c.name, c.lt, data, wire})
	}
	return frames
}

// TestDecodeAllocs: Decode must not allocate, for any kind of packet: every link type, IPv4
// with options, IPv6 extension chains, TCP options, UDP, ICMP errors with quotes, and every
// malformed case of the tables.
func TestDecodeAllocs(t *testing.T) {
	frames := tableFrames()
	kinds := map[layers.LinkType]bool{}
	for _, f := range frames {
		kinds[f.lt] = true
	}
	for _, lt := range []layers.LinkType{ltEther, ltRaw, 12, 14, ltIPv4, ltIPv6, ltSLL, ltSLL2, ltNull, ltLoop, ltNFLog} {
		if !kinds[lt] {
			t.Errorf("no table frame of link type %d", lt)
		}
	}
	var p Packet
	allocs := testing.AllocsPerRun(20, func() {
		for _, f := range frames {
			p.Decode(f.lt, f.data, testTS, f.wire)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations decoding %d frames", allocs, len(frames))
		for _, f := range frames {
			if a := testing.AllocsPerRun(5, func() { p.Decode(f.lt, f.data, testTS, f.wire) }); a != 0 {
				t.Errorf("%s: %v allocations", f.name, a)
			}
		}
	}
	t.Logf("%d table frames, %v allocations per pass", len(frames), allocs)
}

// TestDecodeAllocsCorpus does the same over the first packets of every shared capture.
func TestDecodeAllocsCorpus(t *testing.T) {
	var frames []allocFrame
	for _, file := range corpusFiles(t) {
		pkts, _ := readCapture(file, 200)
		for _, pk := range pkts {
			frames = append(frames, allocFrame{pk.file, pk.lt, pk.data, pk.wire})
		}
	}
	var p Packet
	allocs := testing.AllocsPerRun(3, func() {
		for _, f := range frames {
			p.Decode(f.lt, f.data, testTS, f.wire)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations decoding %d corpus frames", allocs, len(frames))
	}
	t.Logf("%d corpus frames, %v allocations per pass", len(frames), allocs)
}

// TestDecodeDatagramAllocs: the reassembly path must not allocate either.
func TestDecodeDatagramAllocs(t *testing.T) {
	last := ethVLAN(0x0800, frag4(1480, false, bigUDP4[1480:]), vtag{0x8100, 42})
	datagram := ip4{id: 0x4d2, proto: 17, src: cliV4, dst: srvV4, payload: bigUDP4}.bytes()
	var p Packet
	if a := testing.AllocsPerRun(100, func() {
		p.Decode(ltEther, last, testTS, len(last))
		p.Record(IPv4FragOverlap)
		p.DecodeDatagram(datagram)
	}); a != 0 {
		t.Errorf("%v allocations", a)
	}
}
