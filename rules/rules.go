// Package rules loads and validates the rules file: for every detector, whether it runs, the
// signatures it raises (id, revision, message, category, severity, CVE and bulletin references)
// and its thresholds. The default file is embedded in the binary and shipped as rules/default.yaml.
//
// The file is YAML. Each top-level key is a detector name; under it are the detector's primary
// signature fields, its parameters, and one mapping per extra signature:
//
//	icmp-pmtu:
//	  enabled: true
//	  sid: 9200011
//	  rev: 1
//	  msg: "..."
//	  category: Attempted Denial of Service
//	  severity: 2
//	  cve: [CVE-2004-1060]
//	  bulletin: [MS05-019]
//	  min_mtu: 576          # a parameter, declared by the detector
//	  v6:                   # an extra signature, declared by the detector
//	    sid: 9200012
//	    ...
//	    threshold: {type: limit, track: by_src, count: 5, seconds: 60}   # optional
//	    suppress:                                                        # optional
//	      - {track: by_src, ip: 192.0.2.0/24}
//
// Every detector must be listed and every key must be known: a typo is an error, never a
// silently ignored setting. Errors name file, line and field.
package rules

import (
	_ "embed"
	"fmt"
	"math"
	"os"
	"regexp"
	"sort"
	"strings"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is how errors and listings name the embedded default file.
const DefaultName = "rules/default.yaml"

// Schema is what one detector accepts in the rules file. Detectors declare it; the loader checks
// the file against it.
type Schema struct {
	Detector string
	Extra    []string // names of the detector's extra signatures, besides the primary one
	Params   []Param
}

// Param is a detector threshold or switch.
type Param struct {
	Name     string
	Bool     bool  // a boolean switch; otherwise an integer in [Min, Max]
	Min, Max int64 // bounds for integers
	Help     string
}

// Set is a loaded, validated rules file.
type Set struct {
	Source     string      // file name, or DefaultName for the embedded file
	Detectors  []*Detector // in schema order
	Signatures []*Signature
	Settings   Settings // the engine section, defaults filled in
}

// Detector is one detector's settings.
type Detector struct {
	Name       string
	Enabled    bool
	Signatures []*Signature // [0] is the primary signature, then the extras in schema order
	params     map[string]int64
}

// Signature is one alert a detector can raise.
type Signature struct {
	Detector string
	Name     string // the detector name for the primary signature, else "detector.extra"
	Index    int    // position in Set.Signatures, for per-signature counters
	Enabled  bool
	SID      uint32
	Rev      uint32
	Msg      string
	Category string
	Severity int
	CVE      []string
	Bulletin []string
	// Threshold, if not nil, bounds how many matches become alerts; Suppress lists address
	// ranges whose matches never do. Both apply to this signature only (extras do not inherit
	// them), and matches they hold back are still counted as detections.
	Threshold *Threshold
	Suppress  []Suppress
	Line      int // where it is defined
	sidLine   int
}

// GID is the generator id every signature of this engine carries (EVE alert.gid).
const GID = 1

// Detector returns the named detector's settings, or nil.
func (s *Set) Detector(name string) *Detector {
	for _, d := range s.Detectors {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// Int returns an integer parameter. Names are checked against the schema at load time, so an
// unknown name here is a programming error.
func (d *Detector) Int(name string) int64 {
	v, ok := d.params[name]
	if !ok {
		panic("rules: detector " + d.Name + " has no parameter " + name)
	}
	return v
}

// Bool returns a boolean parameter.
func (d *Detector) Bool(name string) bool { return d.Int(name) != 0 }

// Sig returns the primary signature ("") or the named extra signature.
func (d *Detector) Sig(extra string) *Signature {
	if extra == "" {
		return d.Signatures[0]
	}
	for _, s := range d.Signatures[1:] {
		if s.Name == d.Name+"."+extra {
			return s
		}
	}
	panic("rules: detector " + d.Name + " has no signature " + extra)
}

// Default loads the embedded default rules.
func Default(schema []Schema) (*Set, error) { return Parse(DefaultName, defaultYAML, schema) }

// DefaultYAML returns the embedded default rules file.
func DefaultYAML() []byte { return defaultYAML }

// Load reads and validates a rules file.
func Load(path string, schema []Schema) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, schema)
}

// Error is one problem in a rules file.
type Error struct {
	File  string
	Line  int    // 0 when the problem has no line (a missing detector)
	Field string // dotted path, e.g. "land.severity"
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one file, in line order.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Categories are the alert categories a signature may use: Suricata's and Snort's
// classification.config descriptions, so EVE consumers see familiar values.
var Categories = []string{
	"Attempted Administrator Privilege Gain",
	"Attempted User Privilege Gain",
	"Attempted Denial of Service",
	"Attempted Information Leak",
	"Decode of an RPC Query",
	"Denial of Service",
	"Detection of a Network Scan",
	"Executable code was detected",
	"Generic Protocol Command Decode",
	"Misc activity",
	"Misc Attack",
	"Potential Corporate Privacy Violation",
	"Potentially Bad Traffic",
	"Unknown Traffic",
	"Web Application Attack",
	"A Network Trojan was detected",
	"Not Suspicious Traffic",
	"A suspicious string was detected",
	"Detection of a non-standard protocol or event",
}

var (
	cveRE      = regexp.MustCompile(`^CVE-[0-9]{4}-[0-9]{4,}$`)
	bulletinRE = regexp.MustCompile(`^MS[0-9]{2}-[0-9]{3}$`)
)

func validCategory(c string) bool {
	for _, k := range Categories {
		if k == c {
			return true
		}
	}
	return false
}

// sortErrors orders errors by line; file-level ones (no line, like a missing detector) go last.
func sortErrors(es Errors) {
	key := func(e *Error) int {
		if e.Line == 0 {
			return math.MaxInt
		}
		return e.Line
	}
	sort.SliceStable(es, func(i, j int) bool { return key(es[i]) < key(es[j]) })
}
