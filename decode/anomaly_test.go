package decode

import (
	"regexp"
	"slices"
	"testing"
)

// allCases is every table case of the package: the fuzz seeds, the allocation and the
// coverage checks use them all.
func allCases() []decodeCase {
	return slices.Concat(linkCases, ipv4Cases, ipv4OptsCases, ipv4OptsStructCases, ipv6Cases, tcpCases, udpCases, icmpCases)
}

var anomalyNameRE = regexp.MustCompile(`^[a-z0-9]+(\.[a-z0-9_]+)+$`)

func TestAnomalyNames(t *testing.T) {
	if NumAnomalies != len(anomalyNames) {
		t.Fatalf("NumAnomalies %d, %d names", NumAnomalies, len(anomalyNames))
	}
	if got := AnomalyNone.String(); got != "none" {
		t.Errorf("AnomalyNone.String() = %q, want none", got)
	}
	seen := map[string]Anomaly{}
	for a := Anomaly(1); a < numAnomalies; a++ {
		name := a.String()
		if name == "" {
			t.Errorf("code %d has no name", a)
			continue
		}
		if !anomalyNameRE.MatchString(name) {
			t.Errorf("code %d: name %q does not match %s", a, name, anomalyNameRE)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("codes %d and %d share the name %q", prev, a, name)
		}
		seen[name] = a
		got, ok := AnomalyByName(name)
		if !ok || got != a {
			t.Errorf("AnomalyByName(%q) = %d, %v; want %d, true", name, got, ok, a)
		}
	}
	for _, a := range []Anomaly{numAnomalies, numAnomalies + 1, 1000, 0xffff} {
		if got := a.String(); got != "unknown" {
			t.Errorf("Anomaly(%d).String() = %q, want unknown", a, got)
		}
	}
	for _, name := range []string{"none", "", "unknown", "capture", "Capture.Truncated", "capture.truncated "} {
		if a, ok := AnomalyByName(name); ok {
			t.Errorf("AnomalyByName(%q) = %d, true; want not found", name, a)
		}
	}
}

// recordedLater are the codes that later stages (defragmentation, stream reassembly) record
// through Packet.Record, and the application-layer codes (NBSSUnknownType onwards), which the
// application parsers raise and their own tests cover; Decode never raises them.
var recordedLater = append([]Anomaly{IPv4FragOverlap, IPv4FragOverlapDiff, IPv4FragTooLarge, IPv4FragTiny,
	IPv6FragOverlap, IPv6FragOverlapDiff, IPv6FragTooLarge, IPv6FragTiny, IPv4FragInvalidLen, IPv6FragInvalidLen,
	StreamOverlap, StreamOverlapDiff}, appLayer()...)

func appLayer() []Anomaly {
	var out []Anomaly
	for a := NBSSUnknownType; a < numAnomalies; a++ {
		out = append(out, a)
	}
	return out
}

// TestEveryAnomalyHasACase checks that the table tests raise every code the decoder has, each
// alone in at least one case, so a new code cannot be added without a test that raises it, and
// that no case raises a code that only later stages record.
func TestEveryAnomalyHasACase(t *testing.T) {
	alone := make([][]string, numAnomalies)
	for _, c := range allCases() {
		if len(c.want) == 1 {
			alone[c.want[0]] = append(alone[c.want[0]], c.name)
		}
		for _, a := range c.want {
			if slices.Contains(recordedLater, a) {
				t.Errorf("%s expects %s, which Decode does not raise", c.name, a)
			}
		}
	}
	for a := Anomaly(1); a < numAnomalies; a++ {
		if len(alone[a]) == 0 && !slices.Contains(recordedLater, a) {
			t.Errorf("no table case raises exactly %s", a)
		}
	}
}

// TestShortfallsHaveSnaplenTwins checks that every "too small" code has a case where the same
// header is cut by the snap length instead, which must give capture.truncated.
func TestShortfallsHaveSnaplenTwins(t *testing.T) {
	shortfalls := []Anomaly{EthPktTooSmall, VLANHdrTooSmall, SLLPktTooSmall, SLL2PktTooSmall, NullPktTooSmall,
		NFLogPktTooSmall, IPRawInvalidVersion, IPv4PktTooSmall, IPv4TruncPkt, IPv6PktTooSmall, IPv6ExtHdrTruncated,
		TCPPktTooSmall, TCPHlenTooLarge, UDPPktTooSmall, ICMPv4PktTooSmall, ICMPv4QuotedTooSmall, ICMPv6PktTooSmall,
		ICMPv6QuotedTooSmall}
	names := map[string]decodeCase{}
	for _, c := range allCases() {
		names[c.name] = c
	}
	for _, a := range shortfalls {
		found := false
		for _, c := range allCases() {
			if len(c.want) != 1 || c.want[0] != a {
				continue
			}
			twin, ok := names[c.name+"_snaplen"]
			if !ok {
				continue
			}
			found = true
			if !slices.Equal(twin.want, []Anomaly{CaptureTruncated}) || (twin.snap == 0 && twin.wire == 0) {
				t.Errorf("%s: twin %s should be cut by the snap length and raise only capture.truncated", c.name, twin.name)
			}
		}
		if !found {
			t.Errorf("%s: no case raising it alone has a _snaplen twin", a)
		}
	}
}
