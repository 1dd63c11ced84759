package rules_test

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/rules"
)

// landAnchor is where the threshold tests insert their fields: in land's primary signature.
const landAnchor = "  cve: [CVE-2005-0688]\n  bulletin: [MS05-019]\n"

// selfAnchor is in land's extra signature self_connect.
const selfAnchor = "    category: Potentially Bad Traffic\n    severity: 4\n"

func TestThresholdErrors(t *testing.T) {
	cases := []struct {
		name   string
		anchor string
		add    string // inserted after anchor
		at     string // text whose line the error must name
		want   string // the first error; LINE stands for at's line
	}{
		{"bad_type", landAnchor, "  threshold: {type: rate, track: by_src, count: 5, seconds: 60}\n", "type: rate",
			`x.yaml:LINE: land.threshold.type: must be one of limit, threshold, both, got "rate"`},
		{"bad_track", landAnchor, "  threshold: {type: limit, track: by_both, count: 5, seconds: 60}\n", "type: limit",
			`x.yaml:LINE: land.threshold.track: must be one of by_src, by_dst, by_rule, got "by_both"`},
		{"count_zero", landAnchor, "  threshold:\n    type: limit\n    track: by_src\n    count: 0\n    seconds: 60\n", "count: 0",
			"x.yaml:LINE: land.threshold.count: must be 1..1000000, got 0"},
		{"count_too_big", landAnchor, "  threshold:\n    type: limit\n    track: by_src\n    count: 1000001\n    seconds: 60\n", "count: 1000001",
			"x.yaml:LINE: land.threshold.count: must be 1..1000000, got 1000001"},
		{"count_not_int", landAnchor, "  threshold:\n    type: limit\n    track: by_src\n    count: five\n    seconds: 60\n", "count: five",
			`x.yaml:LINE: land.threshold.count: must be an integer 1..1000000, got "five"`},
		{"seconds_missing", landAnchor, "  threshold:\n    type: both\n    track: by_dst\n    count: 5\n", "type: both",
			"x.yaml:LINE: land.threshold.seconds: missing"},
		{"seconds_too_big", landAnchor, "  threshold: {type: limit, track: by_rule, count: 5, seconds: 86401}\n", "seconds: 86401",
			"x.yaml:LINE: land.threshold.seconds: must be 1..86400, got 86401"},
		{"threshold_unknown_key", landAnchor, "  threshold:\n    type: limit\n    track: by_src\n    count: 5\n    seconds: 60\n    rate: 3\n", "rate: 3",
			"x.yaml:LINE: land.threshold.rate: unknown key (known: type, track, count, seconds)"},
		{"threshold_duplicate_key", landAnchor, "  threshold:\n    type: limit\n    type: both\n    track: by_src\n    count: 5\n    seconds: 60\n", "type: both",
			"x.yaml:LINE: land.threshold.type: duplicate key (first at line"},
		{"threshold_not_mapping", landAnchor, "  threshold: 5\n", "threshold: 5",
			"x.yaml:LINE: land.threshold: must be a mapping with type, track, count and seconds"},
		{"extra_signature", selfAnchor, "    threshold: {type: limit, track: by_src, count: -1, seconds: 60}\n", "count: -1",
			"x.yaml:LINE: land.self_connect.threshold.count: must be 1..1000000, got -1"},
		{"bad_cidr", landAnchor, "  suppress:\n    - {track: by_src, ip: 10.0.0.0/33}\n", "10.0.0.0/33",
			`x.yaml:LINE: land.suppress[0].ip: must be an IPv4 or IPv6 address or CIDR prefix (192.0.2.0/24, 2001:db8::/32), got "10.0.0.0/33"`},
		{"bad_cidr_second", landAnchor, "  suppress:\n    - {track: by_src, ip: 10.0.0.0/8}\n    - {track: by_dst, ip: 2001:db8::/129}\n", "2001:db8::/129",
			`x.yaml:LINE: land.suppress[1].ip: must be an IPv4 or IPv6 address or CIDR prefix`},
		{"bad_address", landAnchor, "  suppress:\n    - {track: by_src, ip: host.example}\n", "host.example",
			`x.yaml:LINE: land.suppress[0].ip: must be an IPv4 or IPv6 address or CIDR prefix`},
		{"suppress_bad_track", landAnchor, "  suppress:\n    - {track: by_rule, ip: 10.0.0.0/8}\n", "by_rule",
			`x.yaml:LINE: land.suppress[0].track: must be one of by_src, by_dst, by_either, got "by_rule"`},
		{"suppress_ip_missing", landAnchor, "  suppress:\n    - track: by_src\n", "track: by_src",
			"x.yaml:LINE: land.suppress[0].ip: missing"},
		{"suppress_unknown_key", landAnchor, "  suppress:\n    - {track: by_src, ip: 10.0.0.0/8, port: 80}\n", "10.0.0.0/8",
			"x.yaml:LINE: land.suppress[0].port: unknown key (known: track, ip)"},
		{"suppress_not_list", landAnchor, "  suppress: {track: by_src, ip: 10.0.0.0/8}\n", "suppress:",
			"x.yaml:LINE: land.suppress: must be a list of {track: by_src|by_dst|by_either, ip: CIDR}"},
		{"max_entries", "  stream.flow_cap: 1048576", "\n  threshold.max_entries: 0", "max_entries: 0",
			"x.yaml:LINE: engine.threshold.max_entries: must be 1..16777216, got 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := edit(t, c.anchor, c.anchor+c.add)
			_, err := rules.Parse("x.yaml", text, testSchema)
			var es rules.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %v, want rules.Errors", err)
			}
			want := strings.Replace(c.want, "LINE", strconv.Itoa(lineOf(t, text, c.at)), 1)
			if !strings.HasPrefix(es[0].Error(), want) {
				t.Errorf("error:\n got  %s\n want %s...", es[0].Error(), want)
			}
		})
	}
}

func TestThresholdParse(t *testing.T) {
	set, err := rules.Default(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if set.HasThresholds() {
		t.Error("the default rules set thresholds")
	}
	if set.Settings.ThresholdMax != 65536 {
		t.Errorf("threshold.max_entries %d", set.Settings.ThresholdMax)
	}
	text := edit(t, landAnchor, landAnchor+`  threshold: {type: threshold, track: by_dst, count: 10, seconds: 3600}
  suppress:
    - {track: by_src, ip: 10.1.2.3/8}
    - {track: by_either, ip: "2001:db8::1"}
    - {track: by_dst, ip: "::ffff:192.0.2.0/120"}
    - track: by_src
      ip: 192.0.2.7
`)
	text = []byte(strings.Replace(string(text), selfAnchor, selfAnchor+"    threshold: {type: both, track: by_rule, count: 2, seconds: 1}\n", 1))
	set, err = rules.Parse("x.yaml", text, testSchema)
	if err != nil {
		t.Fatal(err)
	}
	land := set.Detector("land")
	th := land.Sig("").Threshold
	if th == nil || *th != (rules.Threshold{Type: rules.ThresholdEvery, Track: rules.ByDst, Count: 10, Seconds: 3600, Line: th.Line}) {
		t.Errorf("land threshold %+v", th)
	}
	if th.String() != "threshold by_dst count 10 seconds 3600" {
		t.Errorf("String: %q", th.String())
	}
	want := []string{"by_src 10.0.0.0/8", "by_either 2001:db8::1/128", "by_dst 192.0.2.0/24", "by_src 192.0.2.7/32"}
	var got []string
	for _, s := range land.Sig("").Suppress {
		got = append(got, s.String())
	}
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Errorf("suppress %v, want %v", got, want)
	}
	if !land.Sig("").Suppress[0].Prefix.Contains(netip.MustParseAddr("10.200.0.1")) {
		t.Error("10.0.0.0/8 does not contain 10.200.0.1")
	}
	sc := land.Sig("self_connect")
	if sc.Threshold == nil || sc.Threshold.Type != rules.ThresholdBoth || sc.Threshold.Track != rules.ByRule || sc.Suppress != nil {
		t.Errorf("self_connect threshold %+v suppress %v", sc.Threshold, sc.Suppress)
	}
	// Not inherited: the primary's threshold is the primary's.
	if set.Detector("icmp-pmtu").Sig("v6").Threshold != nil || !set.HasThresholds() {
		t.Error("thresholds leak to other signatures, or HasThresholds is wrong")
	}
}
