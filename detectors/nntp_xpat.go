package detectors

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// nntpXPAT detects MS04-036 (CVE-2004-0574): the Windows NNTP service copied an XPAT command's
// pattern into a fixed buffer. Any XPAT whose arguments are longer than max_arg_len alerts,
// whether the line arrives in one segment or a thousand, and also while it is still open: the
// application layer shows a line that never ends once it passes RFC 3977's 512-octet limit.
type nntpXPAT struct {
	sig    *rules.Signature
	maxArg int
}

func init() {
	register(Spec{
		Schema: rules.Schema{
			Detector: "nntp-xpat",
			Params: []rules.Param{
				{Name: "max_arg_len", Min: 1, Max: decode.NNTPMaxLine - 12, Help: "XPAT argument bytes beyond which a command alerts"},
			},
		},
		App: true,
		New: func(d *rules.Detector) Detector {
			return &nntpXPAT{sig: d.Sig(""), maxArg: int(d.Int("max_arg_len"))}
		},
	})
}

// Inspect is not used: the detector reads NNTP commands, not packets.
func (d *nntpXPAT) Inspect(*Input, *Emitter) {}

func (d *nntpXPAT) InspectNNTP(in *Input, cmd *decode.NNTPCommand, out *Emitter) {
	if cmd.Verb != decode.NNTPXPAT || cmd.ArgLen <= d.maxArg || !d.sig.Enabled {
		return
	}
	if cmd.Complete && cmd.Anomalies.Has(decode.NNTPLineTooLong) {
		return // reported when it grew past the line limit (max_arg_len is below it)
	}
	a := out.New(d.sig, in)
	e := &a.Evidence
	e.Reset("nntp")
	e.Str("command", "XPAT")
	e.Uint("arg_len", uint64(cmd.ArgLen))
	e.Uint("line_len", uint64(cmd.LineLen))
	if cmd.NumArgs >= 3 {
		e.Uint("pattern_len", uint64(cmd.Args[2]))
	}
	e.Bool("line_complete", cmd.Complete)
	out.Emit(a)
}
