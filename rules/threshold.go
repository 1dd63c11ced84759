package rules

import (
	"fmt"
	"net/netip"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ThresholdType is how a threshold lets a signature's matches through, as in Suricata's
// threshold.config.
type ThresholdType uint8

const (
	// ThresholdLimit alerts on the first Count matches of each window, then not until the
	// window ends (YAML "limit").
	ThresholdLimit ThresholdType = iota + 1
	// ThresholdEvery alerts on every Count-th match of a window (YAML "threshold").
	ThresholdEvery
	// ThresholdBoth alerts once per window, on its Count-th match (YAML "both").
	ThresholdBoth
)

var thresholdTypeNames = [...]string{ThresholdLimit: "limit", ThresholdEvery: "threshold", ThresholdBoth: "both"}

func (t ThresholdType) String() string {
	if int(t) < len(thresholdTypeNames) && thresholdTypeNames[t] != "" {
		return thresholdTypeNames[t]
	}
	return fmt.Sprintf("ThresholdType(%d)", uint8(t))
}

// Track is what a threshold counts matches by, or which address a suppression looks at.
type Track uint8

const (
	BySrc    Track = iota + 1 // the alert's source address
	ByDst                     // the alert's destination address
	ByRule                    // one count for the signature (thresholds only)
	ByEither                  // source or destination (suppressions only)
)

var trackNames = [...]string{BySrc: "by_src", ByDst: "by_dst", ByRule: "by_rule", ByEither: "by_either"}

func (t Track) String() string {
	if int(t) < len(trackNames) && trackNames[t] != "" {
		return trackNames[t]
	}
	return fmt.Sprintf("Track(%d)", uint8(t))
}

// Threshold bounds how many of a signature's matches become alerts: per window of Seconds of
// packet time, opened by the first match of its bucket (the signature, and the tracked address).
// Matches held back are still detections: they are counted, never written.
type Threshold struct {
	Type    ThresholdType
	Track   Track // BySrc, ByDst or ByRule
	Count   uint32
	Seconds int64
	Line    int
}

func (t *Threshold) String() string {
	return fmt.Sprintf("%s %s count %d seconds %d", t.Type, t.Track, t.Count, t.Seconds)
}

// Suppress keeps a signature's matches from or to an address range from becoming alerts
// (they are still counted).
type Suppress struct {
	Track  Track        // BySrc, ByDst or ByEither
	Prefix netip.Prefix // masked; an IPv4 prefix matches IPv4 addresses only
	Line   int
}

func (s *Suppress) String() string { return s.Track.String() + " " + s.Prefix.String() }

// Threshold limits.
const (
	MaxThresholdCount   = 1_000_000
	MaxThresholdSeconds = 86400
)

// HasThresholds reports whether any signature of s has a threshold or a suppression.
func (s *Set) HasThresholds() bool {
	for _, sig := range s.Signatures {
		if sig.Threshold != nil || len(sig.Suppress) > 0 {
			return true
		}
	}
	return false
}

var thresholdKeys = []string{"type", "track", "count", "seconds"}

// threshold parses a signature's threshold mapping n; field is e.g. "land.threshold".
func (p *parser) threshold(n *yaml.Node, field string) *Threshold {
	if n.Kind != yaml.MappingNode {
		p.errf(n, field, "must be a mapping with type, track, count and seconds")
		return nil
	}
	t := &Threshold{Line: n.Line}
	got := map[string]bool{}
	ok := true
	for _, kv := range p.pairs(n, field) {
		f := join(field, kv.key)
		switch kv.key {
		case "type":
			v, good := p.enum(kv.v, f, []string{"limit", "threshold", "both"})
			t.Type = ThresholdType(v + 1)
			ok = ok && good
		case "track":
			v, good := p.enum(kv.v, f, []string{"by_src", "by_dst", "by_rule"})
			t.Track = Track(v + 1)
			ok = ok && good
		case "count":
			v, good := p.integer(kv.v, f, 1, MaxThresholdCount)
			t.Count = uint32(v)
			ok = ok && good
		case "seconds":
			v, good := p.integer(kv.v, f, 1, MaxThresholdSeconds)
			t.Seconds = v
			ok = ok && good
		default:
			p.errf(kv.k, f, "unknown key (known: %s)", strings.Join(thresholdKeys, ", "))
			ok = false
			continue
		}
		got[kv.key] = true
	}
	if !p.required(n, field, thresholdKeys, got) || !ok {
		return nil
	}
	return t
}

var suppressKeys = []string{"track", "ip"}

// suppress parses a signature's suppress list n; field is e.g. "land.suppress".
func (p *parser) suppress(n *yaml.Node, field string) []Suppress {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, field, "must be a list of {track: by_src|by_dst|by_either, ip: CIDR}")
		return nil
	}
	var out []Suppress
	for i, e := range n.Content {
		ef := fmt.Sprintf("%s[%d]", field, i)
		if e.Kind != yaml.MappingNode {
			p.errf(e, ef, "must be a mapping {track: by_src|by_dst|by_either, ip: CIDR}")
			continue
		}
		s := Suppress{Line: e.Line}
		got := map[string]bool{}
		ok := true
		for _, kv := range p.pairs(e, ef) {
			f := join(ef, kv.key)
			switch kv.key {
			case "track":
				v, good := p.enum(kv.v, f, []string{"by_src", "by_dst", "by_either"})
				s.Track = []Track{BySrc, ByDst, ByEither}[max(v, 0)]
				ok = ok && good
			case "ip":
				pfx, good := p.prefix(kv.v, f)
				s.Prefix = pfx
				ok = ok && good
			default:
				p.errf(kv.k, f, "unknown key (known: %s)", strings.Join(suppressKeys, ", "))
				ok = false
				continue
			}
			got[kv.key] = true
		}
		if p.required(e, ef, suppressKeys, got) && ok {
			out = append(out, s)
		}
	}
	return out
}

// required reports each of keys that got lacks as missing from mapping n, and says whether
// none was.
func (p *parser) required(n *yaml.Node, field string, keys []string, got map[string]bool) bool {
	ok := true
	for _, k := range keys {
		if !got[k] {
			p.errf(n, join(field, k), "missing")
			ok = false
		}
	}
	return ok
}

// enum reads a string that must be one of names and returns its position (-1 if invalid).
func (p *parser) enum(n *yaml.Node, field string, names []string) (int, bool) {
	if !p.scalar(n, field, "one of "+strings.Join(names, ", ")) {
		return -1, false
	}
	for i, name := range names {
		if n.Tag == "!!str" && n.Value == name {
			return i, true
		}
	}
	p.errf(n, field, "must be one of %s, got %q", strings.Join(names, ", "), n.Value)
	return -1, false
}

// prefix reads an address range: a CIDR prefix (192.0.2.0/24, 2001:db8::/32) or a single
// address (a /32 or /128). Host bits past the prefix length are ignored.
func (p *parser) prefix(n *yaml.Node, field string) (netip.Prefix, bool) {
	const want = "an IPv4 or IPv6 address or CIDR prefix (192.0.2.0/24, 2001:db8::/32)"
	if !p.scalar(n, field, want) {
		return netip.Prefix{}, false
	}
	v := strings.TrimSpace(n.Value)
	var pfx netip.Prefix
	var err error
	if strings.Contains(v, "/") {
		pfx, err = netip.ParsePrefix(v)
	} else {
		var a netip.Addr
		if a, err = netip.ParseAddr(v); err == nil {
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if err == nil && pfx.Addr().Zone() != "" {
		err = fmt.Errorf("zones are not allowed")
	}
	if err != nil {
		p.errf(n, field, "must be %s, got %q", want, n.Value)
		return netip.Prefix{}, false
	}
	a := pfx.Addr()
	if a.Is4In6() { // ::ffff:192.0.2.1 is how IPv4 addresses compare in this engine: 192.0.2.1
		bits := pfx.Bits() - 96
		if bits < 0 {
			p.errf(n, field, "an IPv4-mapped prefix must be at least /96, got %q", n.Value)
			return netip.Prefix{}, false
		}
		pfx = netip.PrefixFrom(a.Unmap(), bits)
	}
	return pfx.Masked(), true
}
