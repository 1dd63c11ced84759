package rules

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// Settings are the engine's limits: the optional `engine` section of the rules file. Every
// table and buffer has a cap; what does not fit is evicted or dropped, and counted.
type Settings struct {
	FlowMax            int   // flows tracked per worker, preallocated
	FlowTimeoutNew     int64 // seconds idle before a flow without a completed handshake goes
	FlowTimeoutEst     int64 // seconds idle before an established flow goes
	FlowTimeoutClosed  int64 // seconds a closed flow is kept for late packets
	DefragMaxDatagrams int   // IP datagrams being reassembled at once
	DefragMemcap       int   // bytes of fragments held
	DefragTimeout      int64 // seconds a datagram may take to complete
	StreamMemcap       int   // bytes of out-of-order TCP data held, all flows
	StreamFlowCap      int   // bytes of out-of-order TCP data held per flow direction
	ThresholdMax       int   // threshold buckets (signature, tracked address) per worker, preallocated
}

// DefaultSettings apply to every key the engine section leaves out.
var DefaultSettings = Settings{
	FlowMax: 262144, FlowTimeoutNew: 30, FlowTimeoutEst: 600, FlowTimeoutClosed: 10,
	DefragMaxDatagrams: 4096, DefragMemcap: 32 << 20, DefragTimeout: 30,
	StreamMemcap: 64 << 20, StreamFlowCap: 1 << 20,
	ThresholdMax: 65536,
}

// settingsParams describe the engine section's keys: name, bounds, and where the value goes.
var settingsParams = []struct {
	Param
	int   func(*Settings) *int
	int64 func(*Settings) *int64
}{
	{Param{Name: "flow.max", Min: 1, Max: 1 << 26, Help: "flows tracked per worker"}, func(s *Settings) *int { return &s.FlowMax }, nil},
	{Param{Name: "flow.timeout_new", Min: 1, Max: 86400, Help: "seconds before an idle flow without a handshake is evicted"}, nil, func(s *Settings) *int64 { return &s.FlowTimeoutNew }},
	{Param{Name: "flow.timeout_established", Min: 1, Max: 7 * 86400, Help: "seconds before an idle established flow is evicted"}, nil, func(s *Settings) *int64 { return &s.FlowTimeoutEst }},
	{Param{Name: "flow.timeout_closed", Min: 1, Max: 86400, Help: "seconds a closed flow is kept"}, nil, func(s *Settings) *int64 { return &s.FlowTimeoutClosed }},
	{Param{Name: "defrag.max_datagrams", Min: 1, Max: 1 << 22, Help: "IP datagrams reassembled at once"}, func(s *Settings) *int { return &s.DefragMaxDatagrams }, nil},
	{Param{Name: "defrag.memcap", Min: 65536, Max: 1 << 34, Help: "bytes of fragments held"}, func(s *Settings) *int { return &s.DefragMemcap }, nil},
	{Param{Name: "defrag.timeout", Min: 1, Max: 600, Help: "seconds a datagram may take to complete"}, nil, func(s *Settings) *int64 { return &s.DefragTimeout }},
	{Param{Name: "stream.memcap", Min: 65536, Max: 1 << 36, Help: "bytes of out-of-order TCP data held"}, func(s *Settings) *int { return &s.StreamMemcap }, nil},
	{Param{Name: "stream.flow_cap", Min: 4096, Max: 1 << 30, Help: "bytes of out-of-order TCP data held per flow direction"}, func(s *Settings) *int { return &s.StreamFlowCap }, nil},
	{Param{Name: "threshold.max_entries", Min: 1, Max: 1 << 24, Help: "threshold buckets (signature and tracked address) per worker"}, func(s *Settings) *int { return &s.ThresholdMax }, nil},
}

// SettingsKey is the top-level key of the engine section.
const SettingsKey = "engine"

// SettingsHelp lists the engine section's keys, for `ids rules list`.
func SettingsHelp() []Param {
	out := make([]Param, len(settingsParams))
	for i, sp := range settingsParams {
		out[i] = sp.Param
	}
	return out
}

// Value returns a setting's value by key name.
func (s *Settings) Value(name string) int64 {
	for _, sp := range settingsParams {
		if sp.Name == name {
			if sp.int != nil {
				return int64(*sp.int(s))
			}
			return *sp.int64(s)
		}
	}
	panic("rules: no setting " + name)
}

// settings parses the engine section.
func (p *parser) settings(n *yaml.Node) Settings {
	s := DefaultSettings
	if n.Kind != yaml.MappingNode {
		p.errf(n, SettingsKey, "must be a mapping of settings")
		return s
	}
	for _, kv := range p.pairs(n, SettingsKey) {
		field := join(SettingsKey, kv.key)
		found := false
		for _, sp := range settingsParams {
			if sp.Name != kv.key {
				continue
			}
			found = true
			if v, ok := p.integer(kv.v, field, sp.Min, sp.Max); ok {
				if sp.int != nil {
					*sp.int(&s) = int(v)
				} else {
					*sp.int64(&s) = v
				}
			}
		}
		if !found {
			names := make([]string, len(settingsParams))
			for i, sp := range settingsParams {
				names[i] = sp.Name
			}
			p.errf(kv.k, field, "unknown setting (known: %s)", strings.Join(names, ", "))
		}
	}
	return s
}
