package alert

import (
	"bytes"
	"encoding/json"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ids-sensor/ids/rules"
)

var testSig = &rules.Signature{
	Detector: "icmp-pmtu", Name: "icmp-pmtu", SID: 9200011, Rev: 3,
	Msg: `tiny "MTU" \ path`, Category: "Attempted Denial of Service", Severity: 2,
	CVE: []string{"CVE-2004-1060"}, Bulletin: []string{"MS05-019"},
}

func testAlert() *Alert {
	a := &Alert{
		TS:      time.Date(2009, 9, 28, 12, 0, 0, 123456789, time.UTC).UnixNano(),
		FlowID:  1234567,
		PcapCnt: 42,
		Src:     netip.MustParseAddr("192.0.2.1"),
		Dst:     netip.MustParseAddr("198.51.100.7"),
		Proto:   1,
		VLAN:    [4]uint16{100, 200},
		NumVLAN: 2,
		Sig:     testSig,
	}
	a.Evidence.Reset("icmp")
	a.Evidence.Uint("next_hop_mtu", 68)
	a.Evidence.Addr("inner_src_ip", netip.MustParseAddr("2001:db8::1"))
	a.Evidence.Bool("flag", true)
	a.Evidence.Str("reason", "ipv4.opt_len_overrun")
	return a
}

func TestEVESchema(t *testing.T) {
	var buf bytes.Buffer
	if err := NewEVE(&buf).Write(testAlert()); err != nil {
		t.Fatal(err)
	}
	line := buf.String()
	if !strings.HasSuffix(line, "}\n") || strings.Count(line, "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", line, err)
	}
	want := map[string]any{
		"timestamp":  "2009-09-28T12:00:00.123456+0000",
		"flow_id":    1234567.0,
		"pcap_cnt":   42.0,
		"event_type": "alert",
		"vlan":       []any{100.0, 200.0},
		"src_ip":     "192.0.2.1",
		"dest_ip":    "198.51.100.7",
		"proto":      "ICMP",
		"alert": map[string]any{
			"action": "allowed", "gid": 1.0, "signature_id": 9200011.0, "rev": 3.0,
			"signature": `tiny "MTU" \ path`, "category": "Attempted Denial of Service", "severity": 2.0,
			"metadata": map[string]any{
				"cve": []any{"CVE-2004-1060"}, "bulletin": []any{"MS05-019"}, "detector": []any{"icmp-pmtu"},
			},
		},
		"icmp": map[string]any{"next_hop_mtu": 68.0, "inner_src_ip": "2001:db8::1", "flag": true, "reason": "ipv4.opt_len_overrun"},
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("EVE mismatch:\n got  %s\n want %s", gotJSON, wantJSON)
	}
	if _, ok := got["src_port"]; ok {
		t.Error("ICMP alert carries src_port")
	}
}

func TestEVEPortsAndUnknownProto(t *testing.T) {
	a := testAlert()
	a.Proto, a.HasPorts, a.SrcPort, a.DstPort, a.NumVLAN = 6, true, 139, 445, 0
	a.Evidence.Reset("")
	line := string(AppendEVE(nil, a))
	for _, want := range []string{`"src_port":139,`, `"dest_port":445,`, `"proto":"TCP"`} {
		if !strings.Contains(line, want) {
			t.Errorf("%s lacks %s", line, want)
		}
	}
	if strings.Contains(line, `"vlan"`) || strings.Contains(line, `"icmp"`) {
		t.Errorf("unexpected vlan or evidence object: %s", line)
	}
	a.Proto = 113
	if line := string(AppendEVE(nil, a)); !strings.Contains(line, `"proto":113,`) {
		t.Errorf("numeric proto missing: %s", line)
	}
}

func TestJSONStringEscaping(t *testing.T) {
	for _, s := range []string{"plain", `q"uote`, `back\slash`, "ctl\x01\x1f\n\t", "bad\xffutf8", "ünïcödé ✓", "\u2028"} {
		b := appendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q -> %s: %v", s, b, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q -> %s -> %q, want %q", s, b, back, want)
		}
	}
}

func TestFast(t *testing.T) {
	var buf bytes.Buffer
	a := testAlert()
	if err := NewFast(&buf).Write(a); err != nil {
		t.Fatal(err)
	}
	want := `09/28/2009-12:00:00.123456  [**] [1:9200011:3] tiny "MTU" \ path [**] [Classification: Attempted Denial of Service] [Priority: 2] {ICMP} 192.0.2.1 -> 198.51.100.7` + "\n"
	if buf.String() != want {
		t.Errorf("fast:\n got  %q\n want %q", buf.String(), want)
	}
	buf.Reset()
	a.Src, a.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	a.Proto, a.HasPorts, a.SrcPort, a.DstPort = 6, true, 1025, 445
	NewFast(&buf).Write(a)
	if !strings.HasSuffix(buf.String(), "{TCP} [2001:db8::1]:1025 -> [2001:db8::2]:445\n") {
		t.Errorf("fast IPv6: %q", buf.String())
	}
}

// Writing an alert allocates nothing once the writer's buffer has grown.
func TestWritersDoNotAllocate(t *testing.T) {
	a := testAlert()
	for name, s := range map[string]Sink{"eve": NewEVE(io.Discard), "fast": NewFast(io.Discard)} {
		s.Write(a)
		if n := testing.AllocsPerRun(100, func() { s.Write(a) }); n != 0 {
			t.Errorf("%s: %.1f allocs per alert", name, n)
		}
	}
}

func BenchmarkEVE(b *testing.B) {
	a := testAlert()
	w := NewEVE(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		w.Write(a)
	}
}

// An alert written after a threshold held matches back says how many, in a key added to
// Suricata's alert object (existing keys unchanged); without any, the line is as before.
func TestEVEThresholdSuppressed(t *testing.T) {
	a := testAlert()
	plain := string(AppendEVE(nil, a))
	a.Suppressed = 999995
	line := AppendEVE(nil, a)
	var got struct {
		Alert map[string]any `json:"alert"`
	}
	if err := json.Unmarshal(line, &got); err != nil {
		t.Fatalf("invalid JSON %s: %v", line, err)
	}
	th, _ := got.Alert["threshold"].(map[string]any)
	if th["suppressed"] != 999995.0 || got.Alert["signature_id"] != 9200011.0 {
		t.Errorf("alert object %v", got.Alert)
	}
	if want := strings.Replace(plain, `"detector":["icmp-pmtu"]}}`, `"detector":["icmp-pmtu"]},"threshold":{"suppressed":999995}}`, 1); string(line) != want {
		t.Errorf("got  %s\nwant %s", line, want)
	}
	if strings.Contains(plain, "threshold") {
		t.Errorf("threshold key without suppressed matches: %s", plain)
	}
}
