package detectors

import (
	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/rules"
)

// smb2Negotiate detects MS09-050 (CVE-2009-3103): an SMB1 NEGOTIATE request offering an
// "SMB 2." dialect with a non-zero Process ID High field makes Vista's and Server 2008's
// srv2.sys index an array with it (remote code execution, no authentication). Negotiate
// requests the parser finds malformed (dialect list past the byte count, missing terminators,
// absurd dialect counts, NetBIOS length disagreeing with the message, SMB2 requests with a
// wrong StructureSize or dialect count) raise the malformed signature, with the anomaly's
// name as the reason.
type smb2Negotiate struct {
	sig, malformed *rules.Signature
}

func init() {
	register(Spec{
		Schema: rules.Schema{Detector: "smb2-negotiate", Extra: []string{"malformed"}},
		App:    true,
		New: func(d *rules.Detector) Detector {
			return &smb2Negotiate{sig: d.Sig(""), malformed: d.Sig("malformed")}
		},
	})
}

// Inspect is not used: the detector reads SMB messages, not packets.
func (d *smb2Negotiate) Inspect(*Input, *Emitter) {}

func (d *smb2Negotiate) InspectSMB(in *Input, n *decode.SMBNegotiate, msg []byte, out *Emitter) {
	if n.OffersSMB2() && n.PIDHigh != 0 && d.sig.Enabled {
		a := out.New(d.sig, in)
		smbEvidence(&a.Evidence, n, msg)
		out.Emit(a)
		return
	}
	reason := decode.AnomalyNone
	for _, x := range n.Anomalies.List() {
		if x != decode.SMBHeaderTruncated { // not a negotiate the parser could read: nothing to judge
			reason = x
			break
		}
	}
	if reason == decode.AnomalyNone || !d.malformed.Enabled {
		return
	}
	a := out.New(d.malformed, in)
	smbEvidence(&a.Evidence, n, msg)
	a.Evidence.Str("reason", reason.String())
	out.Emit(a)
}

// smbEvidence describes the negotiate request; the SMB 2 dialect string is in its own span,
// so it is shown by its fixed prefix.
func smbEvidence(e *alert.Evidence, n *decode.SMBNegotiate, msg []byte) {
	e.Reset("smb")
	e.Uint("version", uint64(n.Version))
	e.Uint("message_len", uint64(len(msg)))
	if n.Version == 1 {
		e.Uint("pid_high", uint64(n.PIDHigh))
		e.Uint("dialects", uint64(n.NumDialects))
		e.Uint("byte_count", uint64(n.ByteCount))
		if n.SMB2Dialect.Len > 0 {
			e.Str("smb2_dialect", "SMB 2.x")
		}
		return
	}
	e.Uint("structure_size", uint64(n.StructureSize))
	e.Uint("dialect_count", uint64(n.DialectCount))
}
