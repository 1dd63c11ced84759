package rules

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Parse validates a rules file's contents against the detectors' schemas. name is used in errors.
func Parse(name string, data []byte, schema []Schema) (*Set, error) {
	p := &parser{file: name}
	set := p.parse(data, schema)
	if len(p.errs) > 0 {
		sortErrors(p.errs)
		return nil, p.errs
	}
	return set, nil
}

type parser struct {
	file string
	errs Errors
}

func (p *parser) errf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

var yamlLineRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

func (p *parser) parse(data []byte, schema []Schema) *Set {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		msg := err.Error()
		line := 0
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
		return nil
	}
	if len(doc.Content) == 0 {
		p.errf(nil, "", "empty rules file: every detector must be listed")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.errf(root, "", "the file must be a mapping of detector names to their settings")
		return nil
	}

	byName := map[string]*Schema{}
	for i := range schema {
		byName[schema[i].Detector] = &schema[i]
	}
	set := &Set{Source: p.file, Settings: DefaultSettings}
	nodes := map[string]pair{}
	for _, kv := range p.pairs(root, "") {
		if kv.key == SettingsKey {
			set.Settings = p.settings(kv.v)
			continue
		}
		if byName[kv.key] == nil {
			p.errf(kv.k, kv.key, "unknown detector (known: %s)", strings.Join(detectorNames(schema), ", "))
			continue
		}
		nodes[kv.key] = kv
	}

	sids := map[uint32]*Signature{}
	for i := range schema {
		sc := &schema[i]
		kv, ok := nodes[sc.Detector]
		if !ok {
			p.errf(nil, sc.Detector, "detector missing: every detector must be listed (set enabled: false to turn one off)")
			continue
		}
		d := p.detector(sc, kv.k, kv.v)
		if d == nil {
			continue
		}
		for _, s := range d.Signatures {
			if prev := sids[s.SID]; prev != nil && s.SID != 0 {
				p.errs = append(p.errs, &Error{File: p.file, Line: s.sidLine, Field: s.Name + ".sid",
					Msg: fmt.Sprintf("signature id %d is already used by %s (line %d)", s.SID, prev.Name, prev.sidLine)})
			}
			sids[s.SID] = s
			s.Index = len(set.Signatures)
			set.Signatures = append(set.Signatures, s)
		}
		set.Detectors = append(set.Detectors, d)
	}
	return set
}

func detectorNames(schema []Schema) []string {
	names := make([]string, len(schema))
	for i, s := range schema {
		names[i] = s.Detector
	}
	return names
}

type pair struct {
	key  string
	k, v *yaml.Node
}

// pairs returns a mapping's entries, reporting duplicate and non-string keys.
func (p *parser) pairs(m *yaml.Node, path string) []pair {
	var out []pair
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, path, "keys must be plain names")
			continue
		}
		field := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			p.errf(k, field, "duplicate key (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k.Value, k, v})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// The fields of a signature. Extra signatures inherit category, cve and bulletin from the primary;
// threshold and suppress (optional) apply to the signature whose mapping sets them.
var sigFields = []string{"enabled", "sid", "rev", "msg", "category", "severity", "cve", "bulletin", "threshold", "suppress"}

func isSigField(k string) bool {
	for _, f := range sigFields {
		if f == k {
			return true
		}
	}
	return false
}

// detector parses one detector's mapping n, whose key is k.
func (p *parser) detector(sc *Schema, k, n *yaml.Node) *Detector {
	if n.Kind != yaml.MappingNode {
		p.errf(n, sc.Detector, "must be a mapping of settings")
		return nil
	}
	d := &Detector{Name: sc.Detector, params: map[string]int64{}}
	primary := &Signature{Detector: sc.Detector, Name: sc.Detector, Line: k.Line}
	extras := map[string]pair{}
	seen := map[string]bool{}
	var sigPairs []pair
	for _, kv := range p.pairs(n, sc.Detector) {
		field := join(sc.Detector, kv.key)
		switch {
		case isSigField(kv.key):
			sigPairs = append(sigPairs, kv)
		case paramOf(sc, kv.key) != nil:
			seen[kv.key] = true
			p.param(paramOf(sc, kv.key), kv.v, field, d.params)
		case contains(sc.Extra, kv.key):
			extras[kv.key] = kv
		default:
			p.errf(kv.k, field, "unknown key (known: %s)", strings.Join(knownKeys(sc), ", "))
		}
	}
	p.signature(primary, sigPairs, k, nil)
	d.Enabled = primary.Enabled
	d.Signatures = append(d.Signatures, primary)
	for _, pr := range sc.Params {
		if !seen[pr.Name] {
			p.errf(k, join(sc.Detector, pr.Name), "missing (%s)", pr.Help)
		}
	}
	for _, name := range sc.Extra {
		field := join(sc.Detector, name)
		ekv, ok := extras[name]
		if !ok {
			p.errf(k, field, "signature missing: every signature must be listed (set enabled: false to turn one off)")
			continue
		}
		en := ekv.v
		if en.Kind != yaml.MappingNode {
			p.errf(en, field, "must be a mapping of signature fields")
			continue
		}
		s := &Signature{Detector: sc.Detector, Name: field, Line: ekv.k.Line}
		var kvs []pair
		for _, kv := range p.pairs(en, field) {
			if !isSigField(kv.key) {
				p.errf(kv.k, join(field, kv.key), "unknown key (known: %s)", strings.Join(sigFields, ", "))
				continue
			}
			kvs = append(kvs, kv)
		}
		p.signature(s, kvs, ekv.k, primary)
		d.Signatures = append(d.Signatures, s)
	}
	return d
}

func paramOf(sc *Schema, name string) *Param {
	for i := range sc.Params {
		if sc.Params[i].Name == name {
			return &sc.Params[i]
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func knownKeys(sc *Schema) []string {
	keys := append([]string{}, sigFields...)
	for _, pr := range sc.Params {
		keys = append(keys, pr.Name)
	}
	return append(keys, sc.Extra...)
}

func (p *parser) param(pr *Param, n *yaml.Node, field string, into map[string]int64) {
	if pr.Bool {
		if b, ok := p.boolean(n, field); ok {
			into[pr.Name] = map[bool]int64{false: 0, true: 1}[b]
		}
		return
	}
	if v, ok := p.integer(n, field, pr.Min, pr.Max); ok {
		into[pr.Name] = v
	}
}

// signature fills s from its fields; inherit (the primary) supplies category, cve and bulletin
// to extra signatures that do not set them.
func (p *parser) signature(s *Signature, kvs []pair, n *yaml.Node, inherit *Signature) {
	got := map[string]bool{}
	for _, kv := range kvs {
		field := join(s.Name, kv.key)
		got[kv.key] = true
		switch kv.key {
		case "enabled":
			s.Enabled, _ = p.boolean(kv.v, field)
		case "sid":
			v, _ := p.integer(kv.v, field, 1, math.MaxInt32)
			s.SID, s.sidLine = uint32(v), kv.v.Line
		case "rev":
			v, _ := p.integer(kv.v, field, 1, math.MaxInt32)
			s.Rev = uint32(v)
		case "severity":
			v, _ := p.integer(kv.v, field, 1, 4)
			s.Severity = int(v)
		case "msg":
			if v, ok := p.str(kv.v, field); ok {
				if len(v) > 200 {
					p.errf(kv.v, field, "longer than 200 characters")
				}
				s.Msg = v
			}
		case "category":
			if v, ok := p.str(kv.v, field); ok {
				if !validCategory(v) {
					p.errf(kv.v, field, "unknown category %q (known: %s)", v, strings.Join(Categories, "; "))
				}
				s.Category = v
			}
		case "cve":
			s.CVE = p.list(kv.v, field, cveRE, "CVE-YYYY-NNNN")
		case "bulletin":
			s.Bulletin = p.list(kv.v, field, bulletinRE, "MSYY-NNN")
		case "threshold":
			s.Threshold = p.threshold(kv.v, field)
		case "suppress":
			s.Suppress = p.suppress(kv.v, field)
		}
	}
	required := []string{"sid", "rev", "msg", "severity", "enabled"}
	if inherit == nil {
		required = append(required, "category", "cve", "bulletin")
	} else {
		if !got["category"] {
			s.Category = inherit.Category
		}
		if !got["cve"] {
			s.CVE = inherit.CVE
		}
		if !got["bulletin"] {
			s.Bulletin = inherit.Bulletin
		}
	}
	for _, f := range required {
		if !got[f] {
			p.errf(n, join(s.Name, f), "missing")
		}
	}
}

func (p *parser) scalar(n *yaml.Node, field, want string) bool {
	if n.Kind != yaml.ScalarNode {
		p.errf(n, field, "must be %s", want)
		return false
	}
	return true
}

func (p *parser) boolean(n *yaml.Node, field string) (bool, bool) {
	if !p.scalar(n, field, "true or false") {
		return false, false
	}
	if n.Tag != "!!bool" {
		p.errf(n, field, "must be true or false, got %q", n.Value)
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		p.errf(n, field, "must be true or false, got %q", n.Value)
		return false, false
	}
	return b, true
}

func (p *parser) integer(n *yaml.Node, field string, lo, hi int64) (int64, bool) {
	if !p.scalar(n, field, "an integer") {
		return 0, false
	}
	var v int64
	if n.Tag != "!!int" || n.Decode(&v) != nil {
		p.errf(n, field, "must be an integer %d..%d, got %q", lo, hi, n.Value)
		return 0, false
	}
	if v < lo || v > hi {
		p.errf(n, field, "must be %d..%d, got %d", lo, hi, v)
		return 0, false
	}
	return v, true
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if !p.scalar(n, field, "a string") {
		return "", false
	}
	if n.Tag != "!!str" {
		p.errf(n, field, "must be a string (quote it), got %q", n.Value)
		return "", false
	}
	v := strings.TrimSpace(n.Value)
	if v == "" {
		p.errf(n, field, "must not be empty")
		return "", false
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			p.errf(n, field, "must not contain control characters")
			return "", false
		}
	}
	return v, true
}

// list reads a sequence of strings matching re (described by form). [] is allowed: an attack
// with no CVE or no Microsoft bulletin says so explicitly.
func (p *parser) list(n *yaml.Node, field string, re *regexp.Regexp, form string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errf(n, field, "must be a list like [%s], or []", form)
		return nil
	}
	out := []string{}
	for _, e := range n.Content {
		if e.Kind != yaml.ScalarNode || !re.MatchString(e.Value) {
			p.errf(e, field, "%q is not of the form %s", e.Value, form)
			continue
		}
		out = append(out, e.Value)
	}
	return out
}
