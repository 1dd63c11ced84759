package detectors_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/rules"
)

// Packets in these tests are built with gopacket's serializers: an implementation independent
// of the decoder under test.

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

var (
	macA = net.HardwareAddr{0, 0x11, 0x22, 0x33, 0x44, 0x55}
	macB = net.HardwareAddr{0, 0x66, 0x77, 0x88, 0x99, 0xaa}
)

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(src, dst string, proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, TTL: 64, Protocol: proto, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
}

func ip6(src, dst string, next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: next, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
}

// tcpSeg builds a TCP header; flags is a string of S, A, R, F, P.
func tcpSeg(sport, dport uint16, flags string, nl gopacket.NetworkLayer) *layers.TCP {
	tc := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), Seq: 1000, Window: 8192,
		SYN: strings.Contains(flags, "S"), ACK: strings.Contains(flags, "A"), RST: strings.Contains(flags, "R"),
		FIN: strings.Contains(flags, "F"), PSH: strings.Contains(flags, "P")}
	tc.SetNetworkLayerForChecksum(nl)
	return tc
}

// testRules returns the default rules with each edit (old => new text) applied to the file.
func testRules(t testing.TB, edits ...string) *rules.Set {
	t.Helper()
	text := string(rules.DefaultYAML())
	for i := 0; i+1 < len(edits); i += 2 {
		if strings.Count(text, edits[i]) != 1 {
			t.Fatalf("edit %q does not match once", edits[i])
		}
		text = strings.Replace(text, edits[i], edits[i+1], 1)
	}
	set, err := rules.Parse("test.yaml", []byte(text), detectors.Schemas())
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// fired is a copy of what an alert said, for comparisons.
type fired struct {
	sid      uint32
	src, dst string
	evidence map[string]any
}

// run replays Ethernet frames, 1 ms apart, through the real engine (decode, flow table and TCP
// state, every enabled detector) and returns what the alerts said.
func run(t testing.TB, set *rules.Set, frames ...[]byte) []fired {
	t.Helper()
	out, _ := runEngine(t, set, frames...)
	return out
}

// runEngine is run, also returning the engine's decode anomaly counts.
func runEngine(t testing.TB, set *rules.Set, frames ...[]byte) ([]fired, [decode.NumAnomalies]uint64) {
	t.Helper()
	var out []fired
	e := engine.New(set, sinkFunc(func(a *alert.Alert) error {
		f := fired{sid: a.Sig.SID, src: a.Src.String(), dst: a.Dst.String(), evidence: map[string]any{}}
		if a.HasPorts {
			f.src += ":" + strconv.Itoa(int(a.SrcPort))
			f.dst += ":" + strconv.Itoa(int(a.DstPort))
		}
		for _, ev := range a.Evidence.Fields() {
			switch ev.Kind {
			case alert.KindUint:
				f.evidence[ev.Key] = ev.Uint
			case alert.KindString:
				f.evidence[ev.Key] = ev.Str
			case alert.KindAddr:
				f.evidence[ev.Key] = ev.Addr.String()
			case alert.KindBool:
				f.evidence[ev.Key] = ev.Uint != 0
			}
		}
		out = append(out, f)
		return nil
	}))
	for i, fr := range frames {
		e.Process(fr, capture.Info{Timestamp: int64(i) * 1e6, LinkType: layers.LinkTypeEthernet, CapLen: len(fr), WireLen: len(fr)})
	}
	if e.Stats.Panics > 0 {
		t.Fatal(e.Stats.FirstPanic)
	}
	return out, e.Stats.Anomalies
}

type sinkFunc func(*alert.Alert) error

func (f sinkFunc) Write(a *alert.Alert) error { return f(a) }
func (f sinkFunc) Flush() error               { return nil }

func TestRegistry(t *testing.T) {
	names := map[string]bool{}
	for _, s := range detectors.Specs() {
		if names[s.Schema.Detector] {
			t.Errorf("detector %s registered twice", s.Schema.Detector)
		}
		names[s.Schema.Detector] = true
		if (s.Interest == 0) == !s.App || s.New == nil {
			t.Errorf("%s: no interest or constructor", s.Schema.Detector)
		}
	}
	for _, want := range []string{"land", "icmp-pmtu", "ipv4-options", "tcp-rst-spoof", "icmp-conn-reset", "ip-frag", "nntp-xpat", "smb2-negotiate", "messenger-overflow", "msmq-overflow", "dcom-activation"} {
		if !names[want] {
			t.Errorf("detector %s not registered", want)
		}
	}
	// The default rules must load against the registered schemas and enable every detector.
	set := testRules(t)
	if got := len(detectors.Build(set)); got != len(detectors.Specs()) {
		t.Errorf("default rules build %d of %d detectors", got, len(detectors.Specs()))
	}
}
