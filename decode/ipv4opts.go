package decode

// IPv4 option types (RFC 791, 1108, 1393, 2113, and the IANA registry).
const (
	IPOptEOL       = 0
	IPOptNOP       = 1
	IPOptRR        = 7   // record route
	IPOptTS        = 68  // timestamp
	IPOptSecurity  = 130 // RFC 1108 basic security
	IPOptLSRR      = 131 // loose source route
	IPOptExtSec    = 133 // RFC 1108 extended security
	IPOptCIPSO     = 134 // commercial IP security (draft-ietf-cipso)
	IPOptStreamID  = 136 // SATNET stream identifier
	IPOptSSRR      = 137 // strict source route
	IPOptTraceRt   = 82  // RFC 1393 traceroute
	IPOptRtrAlert  = 148 // RFC 2113 router alert
	IPOptMTUProbe  = 11  // RFC 1063, obsolete
	IPOptMTUReply  = 12  // RFC 1063, obsolete
	IPOptQuickStrt = 25  // RFC 4782 quick-start
)

// OptionSet is a bit set of the IPv4 option kinds a header carries.
type OptionSet uint16

const (
	OptRecordRoute OptionSet = 1 << iota
	OptTimestamp
	OptLooseRoute
	OptStrictRoute
	OptRouterAlert
	OptSecurity // basic, extended or CIPSO
	OptStreamID
	OptOther
)

// IPv4Options summarises an IPv4 header's options: which kinds appear and the first malformed
// one. Parsing stops at a malformation whose length makes the rest unreadable.
type IPv4Options struct {
	Present OptionSet
	Bad     Anomaly // first malformation, AnomalyNone when all options are well formed
	BadType uint8   // type of the malformed option
	BadLen  uint8   // its length byte (0 when it has none)
	BadOff  uint8   // its offset from the start of the IPv4 header
	BadPtr  uint8   // its pointer, for IPv4OptInvalidPtr
}

// parseIPv4Options checks opts (header bytes 20..IHL*4) against each option's definition,
// like a receiving stack does before acting on it. Bytes after End-of-List are padding.
func (p *Packet) parseIPv4Options(opts []byte) {
	o := &p.IPv4.Opts
	for i := 0; i < len(opts); {
		t := opts[i]
		switch t {
		case IPOptEOL:
			return
		case IPOptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			p.badIPv4Option(IPv4OptTruncated, t, 0, i, 0)
			return
		}
		l := int(opts[i+1])
		if l < 2 {
			p.badIPv4Option(IPv4OptLenTooSmall, t, l, i, 0)
			return
		}
		if i+l > len(opts) {
			p.badIPv4Option(IPv4OptLenOverrun, t, l, i, 0)
			return
		}
		o.Present |= optionKind(t)
		if a, ptr := checkIPv4Option(opts[i : i+l]); a != AnomalyNone {
			p.badIPv4Option(a, t, l, i, ptr)
		}
		i += l
	}
}

func (p *Packet) badIPv4Option(a Anomaly, t uint8, l, off int, ptr uint8) {
	p.anomaly(a)
	o := &p.IPv4.Opts
	if o.Bad == AnomalyNone {
		o.Bad, o.BadType, o.BadLen, o.BadOff, o.BadPtr = a, t, uint8(l), uint8(20+off), ptr
	}
}

func optionKind(t uint8) OptionSet {
	switch t {
	case IPOptRR:
		return OptRecordRoute
	case IPOptTS:
		return OptTimestamp
	case IPOptLSRR:
		return OptLooseRoute
	case IPOptSSRR:
		return OptStrictRoute
	case IPOptRtrAlert:
		return OptRouterAlert
	case IPOptSecurity, IPOptExtSec, IPOptCIPSO:
		return OptSecurity
	case IPOptStreamID:
		return OptStreamID
	}
	return OptOther
}

// checkIPv4Option validates one whole option (type, length, data) of a known type. Unknown types
// are only length-checked by the caller: new options must not look malformed.
func checkIPv4Option(opt []byte) (Anomaly, uint8) {
	l := len(opt)
	switch opt[0] {
	case IPOptRR, IPOptLSRR, IPOptSSRR:
		// type, length, pointer, then 4-byte addresses; the pointer (1-based) names the next
		// free slot: at least 4, and either at a slot start or just past the last slot.
		if l < 3 || (l-3)%4 != 0 {
			return IPv4OptInvalidLen, 0
		}
		ptr := opt[2]
		if ptr < 4 || int(ptr) > l+1 || (ptr-4)%4 != 0 {
			return IPv4OptInvalidPtr, ptr
		}
	case IPOptTS:
		// type, length, pointer, overflow/flag, then entries of 4 (flag 0) or 8 (flags 1, 3) bytes.
		if l < 4 {
			return IPv4OptInvalidLen, 0
		}
		entry := 4
		switch opt[3] & 0x0f {
		case 0:
		case 1, 3:
			entry = 8
		default:
			return IPv4OptInvalidLen, 0 // flag 2 and above are undefined
		}
		if (l-4)%entry != 0 {
			return IPv4OptInvalidLen, 0
		}
		ptr := opt[2]
		if ptr < 5 || int(ptr) > l+1 || (int(ptr)-5)%entry != 0 {
			return IPv4OptInvalidPtr, ptr
		}
	case IPOptRtrAlert, IPOptStreamID, IPOptMTUProbe, IPOptMTUReply:
		if l != 4 {
			return IPv4OptInvalidLen, 0
		}
	case IPOptSecurity, IPOptExtSec:
		if l < 3 {
			return IPv4OptInvalidLen, 0
		}
	case IPOptCIPSO:
		if l < 6 {
			return IPv4OptInvalidLen, 0
		}
	case IPOptTraceRt:
		if l != 12 {
			return IPv4OptInvalidLen, 0
		}
	case IPOptQuickStrt:
		if l != 8 {
			return IPv4OptInvalidLen, 0
		}
	}
	return AnomalyNone, 0
}
