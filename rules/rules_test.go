package rules_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/rules"
)

// testSchema is the real detectors' schema: the default file must match it exactly.
var testSchema = detectors.Schemas()

func TestDefaultLoads(t *testing.T) {
	set, err := rules.Default(testSchema)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(set.Signatures); got != len(set.Detectors)+11 { // 11 extra signatures today
		t.Fatalf("default rules have %d signatures for %d detectors", got, len(set.Detectors))
	}
	land := set.Detector("land")
	if !land.Enabled || land.Sig("").SID != 9200001 || land.Sig("self_connect").Enabled {
		t.Errorf("land: enabled=%v sid=%d self_connect.enabled=%v", land.Enabled, land.Sig("").SID, land.Sig("self_connect").Enabled)
	}
	pmtu := set.Detector("icmp-pmtu")
	if pmtu.Int("min_mtu") != 576 || pmtu.Int("min_mtu_v6") != 1280 {
		t.Errorf("icmp-pmtu thresholds %d/%d, want 576/1280", pmtu.Int("min_mtu"), pmtu.Int("min_mtu_v6"))
	}
	// Extra signatures inherit references and category they do not set.
	v6 := pmtu.Sig("v6")
	if v6.Category != "Attempted Denial of Service" || strings.Join(v6.CVE, ",") != "CVE-2004-1060" || v6.Bulletin[0] != "MS05-019" {
		t.Errorf("v6 did not inherit: %+v", v6)
	}
	for i, s := range set.Signatures {
		if s.Index != i {
			t.Errorf("%s: Index %d, want %d", s.Name, s.Index, i)
		}
	}
}

// edit returns the default file with old replaced by new (which must occur exactly once).
func edit(t *testing.T, old, new string) []byte {
	t.Helper()
	s := string(rules.DefaultYAML())
	if strings.Count(s, old) != 1 {
		t.Fatalf("%q occurs %d times in the default file", old, strings.Count(s, old))
	}
	return []byte(strings.Replace(s, old, new, 1))
}

func lineOf(t *testing.T, text []byte, needle string) int {
	t.Helper()
	i := strings.Index(string(text), needle)
	if i < 0 {
		t.Fatalf("%q not in file", needle)
	}
	return strings.Count(string(text[:i]), "\n") + 1
}

func TestErrorsNameFileLineAndField(t *testing.T) {
	cases := []struct {
		name, old, new string
		at             string // text whose line the error must name ("" for the YAML parser's own line)
		want           string // the first error; LINE stands for at's line
	}{
		{"severity_out_of_range", "  severity: 2\n  cve: [CVE-2005-0688]", "  severity: 9\n  cve: [CVE-2005-0688]", "  severity: 9",
			"x.yaml:LINE: land.severity: must be 1..4, got 9"},
		{"severity_not_int", "  severity: 2\n  cve: [CVE-2005-0688]", "  severity: high\n  cve: [CVE-2005-0688]", "severity: high",
			`x.yaml:LINE: land.severity: must be an integer 1..4, got "high"`},
		{"unknown_key", "  min_mtu: 576\n", "  min_mtu: 576\n  max_mtu: 9000\n", "max_mtu",
			"x.yaml:LINE: icmp-pmtu.max_mtu: unknown key (known: enabled, sid, rev, msg, category, severity, cve, bulletin, threshold, suppress, min_mtu, min_mtu_v6, v6, seq_check)"},
		{"param_out_of_range", "  min_mtu: 576\n", "  min_mtu: 70000\n", "min_mtu: 70000",
			"x.yaml:LINE: icmp-pmtu.min_mtu: must be 0..65535, got 70000"},
		{"bool_as_string", "  enabled: true\n  sid: 9200001", `  enabled: "yes"` + "\n  sid: 9200001", `enabled: "yes"`,
			`x.yaml:LINE: land.enabled: must be true or false, got "yes"`},
		{"bad_cve", "cve: [CVE-2005-0688]", "cve: [CAN-2005-0688]", "CAN-2005",
			`x.yaml:LINE: land.cve: "CAN-2005-0688" is not of the form CVE-YYYY-NNNN`},
		{"bad_bulletin", "  bulletin: [MS05-019]\n  # Thresholds", "  bulletin: [KB893066]\n  # Thresholds", "KB893066",
			`x.yaml:LINE: land.bulletin: "KB893066" is not of the form MSYY-NNN`},
		{"unknown_category", "  category: Attempted Denial of Service\n  severity: 2\n  cve: [CVE-2005-0688]",
			"  category: Bad Stuff\n  severity: 2\n  cve: [CVE-2005-0688]", "Bad Stuff",
			`x.yaml:LINE: land.category: unknown category "Bad Stuff"`},
		{"duplicate_sid", "    sid: 9200002", "    sid: 9200001", "    sid: 9200001",
			"x.yaml:LINE: land.self_connect.sid: signature id 9200001 is already used by land (line 12)"},
		{"sub_unknown_key", "    sid: 9200012\n", "    sid: 9200012\n    min_mtu: 5\n", "    min_mtu: 5",
			"x.yaml:LINE: icmp-pmtu.v6.min_mtu: unknown key (known: enabled, sid, rev, msg, category, severity, cve, bulletin, threshold, suppress)"},
		{"unknown_detector", "ipv4-options:\n", "ipv4-option:\n", "ipv4-option:",
			"x.yaml:LINE: ipv4-option: unknown detector (known: dcom-activation, icmp-conn-reset, "},
		{"duplicate_key", "  min_mtu: 576\n", "  min_mtu: 576\n  min_mtu: 577\n", "min_mtu: 577",
			"x.yaml:LINE: icmp-pmtu.min_mtu: duplicate key (first at line"},
		{"empty_msg", `  msg: "MS05-019 LAND attack: TCP SYN with source address and port equal to the destination"`, `  msg: ""`, `msg: ""`,
			"x.yaml:LINE: land.msg: must not be empty"},
		{"control_char_msg", `  msg: "MS05-019 LAND attack: TCP SYN with source address and port equal to the destination"`, `  msg: "a\tb"`, `msg: "a`,
			"x.yaml:LINE: land.msg: must not contain control characters"},
		{"sid_zero", "  sid: 9200021", "  sid: 0", "  sid: 0",
			"x.yaml:LINE: ipv4-options.sid: must be 1..2147483647, got 0"},
		{"cve_not_list", "  cve: [CVE-2005-0048]", "  cve: CVE-2005-0048", "cve: CVE-2005-0048",
			"x.yaml:LINE: ipv4-options.cve: must be a list like [CVE-YYYY-NNNN], or []"},
		{"bad_yaml", "  min_mtu: 576\n", "  min_mtu: [576\n", "",
			"x.yaml:LINE: not valid YAML: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text := edit(t, c.old, c.new)
			_, err := rules.Parse("x.yaml", text, testSchema)
			var es rules.Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("got %v, want rules.Errors", err)
			}
			want := c.want
			if c.at != "" {
				want = strings.Replace(want, "LINE", strconv.Itoa(lineOf(t, text, c.at)), 1)
			} else if es[0].Line == 0 {
				t.Errorf("YAML syntax error without a line: %v", es[0])
			} else {
				want = strings.Replace(want, "LINE", strconv.Itoa(es[0].Line), 1)
			}
			if !strings.HasPrefix(es[0].Error(), want) {
				t.Errorf("error:\n got  %s\n want %s...", es[0].Error(), want)
			}
		})
	}
}

func TestMissingPieces(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string
	}{
		{"empty_file", "", []string{"x.yaml: empty rules file: every detector must be listed"}},
		{"not_a_mapping", "- land\n", []string{"x.yaml:1: the file must be a mapping of detector names to their settings"}},
		{"detector_missing", strings.SplitN(string(rules.DefaultYAML()), "icmp-pmtu:", 2)[0], []string{
			"x.yaml: icmp-pmtu: detector missing",
			"x.yaml: ipv4-options: detector missing",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rules.Parse("x.yaml", []byte(c.text), testSchema)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("field_missing", func(t *testing.T) {
		text := edit(t, "  rev: 1\n  msg: \"MS05-019 LAND", "  msg: \"MS05-019 LAND")
		_, err := rules.Parse("x.yaml", text, testSchema)
		if err == nil || !strings.Contains(err.Error(), "x.yaml:10: land.rev: missing") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("extra_signature_missing", func(t *testing.T) {
		s := string(rules.DefaultYAML())
		i := strings.Index(s, "  v6:\n")
		j := strings.Index(s, "\n# MS05-019 / CVE-2005-0048")
		_, err := rules.Parse("x.yaml", []byte(s[:i]+s[j:]), testSchema)
		if err == nil || !strings.Contains(err.Error(), "icmp-pmtu.v6: signature missing") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("all_errors_reported_in_line_order", func(t *testing.T) {
		text := edit(t, "  min_mtu: 576\n", "  min_mtu: -1\n")
		text = []byte(strings.Replace(string(text), "  severity: 1\n", "  severity: 0\n", 1))
		_, err := rules.Parse("x.yaml", text, testSchema)
		var es rules.Errors
		if !errors.As(err, &es) || len(es) != 2 || es[0].Line >= es[1].Line {
			t.Fatalf("got %v", err)
		}
	})
}

// FuzzParse: any bytes give either a valid set or rules.Errors with a file name, never a panic.
func FuzzParse(f *testing.F) {
	f.Add(rules.DefaultYAML())
	f.Add([]byte("land: {enabled: true}\n"))
	f.Add([]byte("- [\n"))
	f.Add([]byte("land: &a\n  x: *a\n"))
	f.Add([]byte(strings.Replace(string(rules.DefaultYAML()), "  bulletin: [MS05-019]\n  # Thresholds",
		"  bulletin: [MS05-019]\n  threshold: {type: limit, track: by_src, count: 5, seconds: 60}\n  suppress: [{track: by_dst, ip: 192.0.2.0/24}]\n  # Thresholds", 1)))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := rules.Parse("f.yaml", data, testSchema)
		if err == nil {
			if len(set.Detectors) != len(testSchema) {
				t.Fatalf("valid set with %d detectors", len(set.Detectors))
			}
			return
		}
		var es rules.Errors
		if !errors.As(err, &es) || len(es) == 0 || !strings.HasPrefix(es[0].Error(), "f.yaml") {
			t.Fatalf("error %v is not rules.Errors naming the file", err)
		}
	})
}
