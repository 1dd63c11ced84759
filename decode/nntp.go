package decode

// NNTP client command lines (RFC 3977, RFC 2980, RFC 4643), tracked incrementally for
// MS04-036 / CVE-2004-0574: the Windows NNTP service overflows on an XPAT command (RFC 2980
// 2.9) whose pattern is far longer than any command line may be.
//
// RFC 3977 3.1: a command line is a keyword (case-insensitive, RFC 3977 3.1), possibly followed
// by arguments separated by one or more space or TAB characters, terminated by CRLF, and "MUST
// NOT exceed 512 octets, which includes the terminating CRLF pair". The tracker is lenient where
// real clients and attackers are: a bare LF ends a line too, and spaces or TABs before the
// keyword are accepted (and counted in LineLen). It never stores a line: it keeps counts and the
// first 16 bytes of the keyword, so a line that never ends costs nothing but a counter.

// NNTPVerb is a command keyword the tracker knows. Keywords are matched case-insensitively
// (RFC 3977 3.1); anything else is NNTPUnknown, with the bytes sent kept in VerbText.
type NNTPVerb uint8

// The keywords: RFC 3977 (the base protocol), RFC 2980 (the common extensions that predate it,
// XPAT among them), RFC 4643 (AUTHINFO), RFC 4642 (STARTTLS), RFC 4644 (streaming) and
// RFC 8054 (COMPRESS). Their numbers are internal; String gives the keyword.
const (
	NNTPUnknown      NNTPVerb = iota
	NNTPXPAT                  // RFC 2980 2.9: XPAT header range|<message-id> pat [pat...]
	NNTPXHDR                  // RFC 2980 2.6
	NNTPHDR                   // RFC 3977 8.5
	NNTPOVER                  // RFC 3977 8.3
	NNTPXOVER                 // RFC 2980 2.8
	NNTPARTICLE               // RFC 3977 6.2.1
	NNTPHEAD                  // RFC 3977 6.2.2
	NNTPBODY                  // RFC 3977 6.2.3
	NNTPSTAT                  // RFC 3977 6.2.4
	NNTPGROUP                 // RFC 3977 6.1.1
	NNTPLISTGROUP             // RFC 3977 6.1.2
	NNTPLIST                  // RFC 3977 7.6
	NNTPNEWNEWS               // RFC 3977 7.4
	NNTPNEWGROUPS             // RFC 3977 7.3
	NNTPPOST                  // RFC 3977 6.3.1
	NNTPIHAVE                 // RFC 3977 6.3.2
	NNTPMODE                  // RFC 3977 5.3 (MODE READER), RFC 4644 2.3 (MODE STREAM)
	NNTPAUTHINFO              // RFC 4643 2.3 and 2.4
	NNTPQUIT                  // RFC 3977 5.4
	NNTPHELP                  // RFC 3977 7.2
	NNTPCAPABILITIES          // RFC 3977 5.2
	NNTPDATE                  // RFC 3977 7.1
	NNTPNEXT                  // RFC 3977 6.1.4
	NNTPLAST                  // RFC 3977 6.1.3
	NNTPSTARTTLS              // RFC 4642 2.2
	NNTPCHECK                 // RFC 4644 2.4
	NNTPTAKETHIS              // RFC 4644 2.5
	NNTPSLAVE                 // RFC 977 3.12
	NNTPXGTITLE               // RFC 2980 2.5
	NNTPXINDEX                // RFC 2980 2.7
	NNTPXPATH                 // RFC 2980 2.10
	NNTPXREPLIC               // RFC 2980 1.4
	NNTPXROVER                // RFC 2980 2.11
	NNTPXTHREAD               // RFC 2980 2.12
	NNTPCOMPRESS              // RFC 8054 2.2

	numNNTPVerbs
)

// nntpVerbNames is the keyword of each verb, upper case, as the RFCs spell it.
var nntpVerbNames = [numNNTPVerbs]string{
	NNTPUnknown:      "unknown",
	NNTPXPAT:         "XPAT",
	NNTPXHDR:         "XHDR",
	NNTPHDR:          "HDR",
	NNTPOVER:         "OVER",
	NNTPXOVER:        "XOVER",
	NNTPARTICLE:      "ARTICLE",
	NNTPHEAD:         "HEAD",
	NNTPBODY:         "BODY",
	NNTPSTAT:         "STAT",
	NNTPGROUP:        "GROUP",
	NNTPLISTGROUP:    "LISTGROUP",
	NNTPLIST:         "LIST",
	NNTPNEWNEWS:      "NEWNEWS",
	NNTPNEWGROUPS:    "NEWGROUPS",
	NNTPPOST:         "POST",
	NNTPIHAVE:        "IHAVE",
	NNTPMODE:         "MODE",
	NNTPAUTHINFO:     "AUTHINFO",
	NNTPQUIT:         "QUIT",
	NNTPHELP:         "HELP",
	NNTPCAPABILITIES: "CAPABILITIES",
	NNTPDATE:         "DATE",
	NNTPNEXT:         "NEXT",
	NNTPLAST:         "LAST",
	NNTPSTARTTLS:     "STARTTLS",
	NNTPCHECK:        "CHECK",
	NNTPTAKETHIS:     "TAKETHIS",
	NNTPSLAVE:        "SLAVE",
	NNTPXGTITLE:      "XGTITLE",
	NNTPXINDEX:       "XINDEX",
	NNTPXPATH:        "XPATH",
	NNTPXREPLIC:      "XREPLIC",
	NNTPXROVER:       "XROVER",
	NNTPXTHREAD:      "XTHREAD",
	NNTPCOMPRESS:     "COMPRESS",
}

// String returns the keyword in upper case ("XPAT"), or "unknown".
func (v NNTPVerb) String() string {
	if v < numNNTPVerbs {
		return nntpVerbNames[v]
	}
	return "unknown"
}

// nntpVerbMax is the length of the longest keyword (CAPABILITIES).
const nntpVerbMax = 12

// nntpLookupVerb matches a keyword case-insensitively (RFC 3977 3.1: keywords are US-ASCII and
// case-insensitive), without allocating: a switch on string(bytes) does not copy them.
// TestNNTPVerbs keeps it in step with nntpVerbNames.
func nntpLookupVerb(text []byte) NNTPVerb {
	if len(text) == 0 || len(text) > nntpVerbMax {
		return NNTPUnknown
	}
	var up [nntpVerbMax]byte
	for i, c := range text {
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		up[i] = c
	}
	switch string(up[:len(text)]) {
	case "XPAT":
		return NNTPXPAT
	case "XHDR":
		return NNTPXHDR
	case "HDR":
		return NNTPHDR
	case "OVER":
		return NNTPOVER
	case "XOVER":
		return NNTPXOVER
	case "ARTICLE":
		return NNTPARTICLE
	case "HEAD":
		return NNTPHEAD
	case "BODY":
		return NNTPBODY
	case "STAT":
		return NNTPSTAT
	case "GROUP":
		return NNTPGROUP
	case "LISTGROUP":
		return NNTPLISTGROUP
	case "LIST":
		return NNTPLIST
	case "NEWNEWS":
		return NNTPNEWNEWS
	case "NEWGROUPS":
		return NNTPNEWGROUPS
	case "POST":
		return NNTPPOST
	case "IHAVE":
		return NNTPIHAVE
	case "MODE":
		return NNTPMODE
	case "AUTHINFO":
		return NNTPAUTHINFO
	case "QUIT":
		return NNTPQUIT
	case "HELP":
		return NNTPHELP
	case "CAPABILITIES":
		return NNTPCAPABILITIES
	case "DATE":
		return NNTPDATE
	case "NEXT":
		return NNTPNEXT
	case "LAST":
		return NNTPLAST
	case "STARTTLS":
		return NNTPSTARTTLS
	case "CHECK":
		return NNTPCHECK
	case "TAKETHIS":
		return NNTPTAKETHIS
	case "SLAVE":
		return NNTPSLAVE
	case "XGTITLE":
		return NNTPXGTITLE
	case "XINDEX":
		return NNTPXINDEX
	case "XPATH":
		return NNTPXPATH
	case "XREPLIC":
		return NNTPXREPLIC
	case "XROVER":
		return NNTPXROVER
	case "XTHREAD":
		return NNTPXTHREAD
	case "COMPRESS":
		return NNTPCOMPRESS
	}
	return NNTPUnknown
}

// NNTPMaxLine is the longest command line RFC 3977 3.1 allows, in octets, the terminating CRLF
// included.
//
// A line is too long (NNTPLineTooLong) when LineLen, which leaves the terminator out, exceeds
// NNTPMaxLine: the line alone is past the limit, whatever terminator follows, which is what can
// be judged of a line still open. This is lenient by the two octets of the CRLF (strictly, RFC
// 3977 allows a LineLen of 510 at most): a 511- or 512-byte line is not flagged.
const NNTPMaxLine = 512

// nntpTooLong is the LineLen at which a line becomes too long, and is reported while open.
const nntpTooLong = NNTPMaxLine + 1

// NNTPCommand is one client command line, complete or still open.
type NNTPCommand struct {
	Verb     NNTPVerb
	VerbText [16]byte // the keyword as sent, first 16 bytes, for evidence
	VerbLen  uint8    // bytes held in VerbText (at most 16; a longer keyword is NNTPUnknown)
	LineLen  int      // bytes of the line so far, without the line terminator
	ArgLen   int      // bytes after the keyword and the spaces/TABs that follow it, without the terminator
	Args     [3]int   // lengths of the first three arguments (XPAT: header, range or message-id, first pattern)
	NumArgs  int      // number of arguments so far (all of them, not only the first three)
	Complete bool     // the line ended (LF seen); false for a line reported while still open
	// Anomalies holds NNTPLineTooLong when LineLen > NNTPMaxLine.
	Anomalies Anomalies
}

// Text returns the keyword as sent (at most its first 16 bytes).
func (c *NNTPCommand) Text() []byte { return c.VerbText[:c.VerbLen] }

// nntpPhase is where in a line the tracker is.
type nntpPhase uint8

const (
	nntpLead     nntpPhase = iota // spaces/TABs before the keyword (none yet seen but those)
	nntpVerb                      // in the keyword
	nntpSep                       // spaces/TABs after the keyword, no argument yet
	nntpArg                       // in an argument
	nntpArgSep                    // spaces/TABs after an argument
	nntpHeadless                  // after Reset: the rest of a line whose start was lost
)

// NNTPLines tracks the command lines of one direction (client to server) of an NNTP connection,
// fed in chunks of any size. The zero value is ready for the first byte of a connection; to reuse
// one for a new connection (a flow-table slot), assign NNTPLines{}, not Reset, which would drop
// the connection's first line. It holds counts only, never line bytes (96 bytes on 64-bit
// platforms), and Next, Open and Reset never allocate.
type NNTPLines struct {
	cmd   NNTPCommand // the line in progress, or the last line reported complete
	phase nntpPhase
	cr    bool // the last byte was a CR not yet counted: it ends the line if LF comes next
	done  bool // cmd is a line reported complete; the next byte starts a new line
}

// Next consumes b up to and including the next LF and returns how many bytes it used. ok is
// true when a command is reported:
//
//   - a line that ended (Complete true), when its LF is consumed;
//   - a line still open that has just become too long, reported once, when its 513th byte
//     (LineLen == NNTPMaxLine+1) is consumed, with Complete false and NNTPLineTooLong; its end is
//     reported again with Complete true (and NNTPLineTooLong).
//
// Call it in a loop until b is used up; used may be 0 when ok is true, never when ok is false
// and b is not empty. The reports do not depend on how the stream is cut into chunks.
//
// A CR is left out of the line only when LF follows it (the CRLF of RFC 3977 3.1); any other CR
// is a byte of the line, counted when the byte after it arrives. An empty line is a command too
// (NNTPUnknown, LineLen 0).
//
// The returned command points into l: it is valid until the next call of Next or Reset; copy it
// to keep it.
func (l *NNTPLines) Next(b []byte) (used int, cmd *NNTPCommand, ok bool) {
	if l.done {
		l.startLine(nntpLead)
	}
	if l.phase == nntpHeadless {
		return l.nextHeadless(b)
	}
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\n':
			l.cr = false
			l.classify()
			l.cmd.Complete = true
			l.done = true
			return i + 1, &l.cmd, true
		case '\r':
			if l.cr {
				// The earlier CR is a byte of the line; this one is now the one pending.
				l.cr = false
				if l.add('\r') {
					return i, &l.cmd, true
				}
			}
			l.cr = true
		default:
			if l.cr {
				l.cr = false
				if l.add('\r') {
					return i, &l.cmd, true
				}
			}
			// Fast paths: the rest of a keyword, or of an argument (the long XPAT pattern), in
			// one step.
			if l.phase == nntpArg || l.phase == nntpVerb {
				if n := l.run(b[i:]); n > 0 {
					cmd := &l.cmd
					if l.phase == nntpVerb {
						cmd.VerbLen += uint8(copy(cmd.VerbText[cmd.VerbLen:], b[i:i+n]))
					} else {
						cmd.ArgLen += n
						if cmd.NumArgs <= len(cmd.Args) {
							cmd.Args[cmd.NumArgs-1] += n
						}
					}
					i += n - 1
					if l.countN(n) {
						return i + 1, &l.cmd, true
					}
					continue
				}
			}
			if l.add(c) {
				return i + 1, &l.cmd, true
			}
		}
	}
	return len(b), nil, false
}

// nntpPlain marks the bytes that change nothing but counts inside an argument or a headless line:
// all but space, TAB, CR and LF.
var nntpPlain = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	t[' '], t['\t'], t['\r'], t['\n'] = false, false, false, false
	return t
}()

// run returns how many bytes at the start of b are plain, stopping where the line would
// become too long so that the open report is made at the same byte whatever the chunks.
func (l *NNTPLines) run(b []byte) int {
	if room := nntpTooLong - l.cmd.LineLen; room > 0 && room < len(b) {
		b = b[:room]
	}
	for i, c := range b {
		if !nntpPlain[c] {
			return i
		}
	}
	return len(b)
}

// nextHeadless is Next after Reset, up to the first LF: the bytes are counted but not parsed,
// since the keyword was lost. The line is reported only when what is left of it is already too
// long (open once, then complete, as any other line, with NNTPUnknown and no keyword); a
// shorter one ends silently at its LF.
func (l *NNTPLines) nextHeadless(b []byte) (int, *NNTPCommand, bool) {
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '\n':
			l.cr = false
			if l.cmd.LineLen < nntpTooLong {
				l.startLine(nntpLead)
				return i + 1, nil, false
			}
			l.cmd.Complete = true
			l.done = true
			return i + 1, &l.cmd, true
		case '\r':
			if l.cr && l.count() {
				l.cr = false
				return i, &l.cmd, true
			}
			l.cr = true
		default:
			if l.cr {
				l.cr = false
				if l.count() {
					return i, &l.cmd, true
				}
			}
			n := max(1, l.run(b[i:])) // c itself may be a space or TAB
			i += n - 1
			if l.countN(n) {
				return i + 1, &l.cmd, true
			}
		}
	}
	return len(b), nil, false
}

// count counts one byte of the line and reports whether the line has just become too long.
func (l *NNTPLines) count() bool { return l.countN(1) }

// countN counts n bytes of the line, which do not take it past nntpTooLong if it was below, and
// reports whether the line has just become too long.
func (l *NNTPLines) countN(n int) bool {
	l.cmd.LineLen += n
	if l.cmd.LineLen != nntpTooLong {
		return false
	}
	l.cmd.Anomalies.Add(NNTPLineTooLong)
	l.classify()
	return true
}

// add takes one byte of the line (never LF, nor a CR not yet known not to end the line) and
// reports whether the line has just become too long.
func (l *NNTPLines) add(c byte) bool {
	ws := c == ' ' || c == '\t'
	cmd := &l.cmd
	switch l.phase {
	case nntpLead:
		if !ws {
			l.phase = nntpVerb
			cmd.VerbText[0] = c
			cmd.VerbLen = 1
		}
	case nntpVerb:
		if ws {
			l.phase = nntpSep
			cmd.Verb = nntpLookupVerb(cmd.VerbText[:cmd.VerbLen])
		} else if int(cmd.VerbLen) < len(cmd.VerbText) {
			cmd.VerbText[cmd.VerbLen] = c
			cmd.VerbLen++
		} // else: longer than 16 bytes, so longer than any keyword: NNTPUnknown
	case nntpSep:
		if !ws {
			l.phase = nntpArg
			cmd.NumArgs = 1
			cmd.ArgLen = 1
			cmd.Args[0] = 1
		}
	case nntpArg:
		cmd.ArgLen++
		if ws {
			l.phase = nntpArgSep
		} else if cmd.NumArgs <= len(cmd.Args) {
			cmd.Args[cmd.NumArgs-1]++
		}
	case nntpArgSep:
		cmd.ArgLen++
		if !ws {
			l.phase = nntpArg
			cmd.NumArgs++
			if cmd.NumArgs <= len(cmd.Args) {
				cmd.Args[cmd.NumArgs-1] = 1
			}
		}
	}
	return l.count()
}

// classify sets Verb while the keyword may still be growing (its end not yet seen).
func (l *NNTPLines) classify() {
	if l.phase == nntpVerb {
		l.cmd.Verb = nntpLookupVerb(l.cmd.VerbText[:l.cmd.VerbLen])
	}
}

// startLine forgets the last line and starts a new one in phase p.
func (l *NNTPLines) startLine(p nntpPhase) {
	*l = NNTPLines{phase: p}
}

// Open returns the command line in progress: one with bytes consumed since the last LF (a
// pending CR included), not yet ended. A caller judges it at the end of a chunk, before the
// line's end arrives, if it ever does. LineLen leaves out a last byte CR (it may be the CR of
// the CRLF). After Reset the line in progress is the rest of a line whose start was lost, with
// NNTPUnknown and no keyword. The command points into l, valid until the next call of Next or
// Reset.
func (l *NNTPLines) Open() (*NNTPCommand, bool) {
	if l.done || (l.cmd.LineLen == 0 && !l.cr) {
		return nil, false
	}
	l.classify()
	return &l.cmd, true
}

// Reset forgets the line in progress. Call it after a gap in the stream (bytes lost), not at the
// start of a connection. The tracker then resynchronises on the next LF: the bytes up to it are
// the rest of a line whose start (and keyword) was lost, so they are not parsed; they are counted,
// and if they alone make the line too long it is reported as any too-long line (open once when
// 513 of them have arrived, then complete at the LF), with NNTPUnknown, VerbLen 0, ArgLen 0 and
// NumArgs 0. A shorter rest is dropped silently. Parsing starts again after that LF. (A gap that
// ends exactly at a line boundary costs the line after it, which is why a new connection must
// start from the zero value instead.)
func (l *NNTPLines) Reset() {
	l.startLine(nntpHeadless)
}
