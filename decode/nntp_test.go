package decode

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"github.com/ids-sensor/ids/capture"
)

// ---------------------------------------------------------------------------------------------
// Helpers: feeding, a reference model, invariants.

// nntpFeed feeds the chunks in order and returns copies of the commands reported, then the line
// still open at the end (nil when none).
func nntpFeed(l *NNTPLines, chunks ...[]byte) ([]NNTPCommand, *NNTPCommand) {
	var out []NNTPCommand
	for _, b := range chunks {
		for len(b) > 0 {
			n, cmd, ok := l.Next(b)
			if n < 0 || n > len(b) || (n == 0 && !ok) {
				panic(fmt.Sprintf("Next used %d of %d bytes, ok %v", n, len(b), ok))
			}
			if ok {
				out = append(out, *cmd)
			}
			b = b[n:]
		}
	}
	if c, ok := l.Open(); ok {
		cp := *c
		return out, &cp
	}
	return out, nil
}

// nntpChunks cuts data into chunks of the given sizes, cycled (a size 0 counts as 1).
func nntpChunks(data []byte, sizes []int) [][]byte {
	var out [][]byte
	for i := 0; len(data) > 0; i++ {
		n := 1
		if len(sizes) > 0 {
			n = max(1, sizes[i%len(sizes)])
		}
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func isNNTPSpace(c byte) bool { return c == ' ' || c == '\t' }

// refVerb matches a keyword the slow way: ASCII case folding (RFC 3977 3.1 keywords are
// US-ASCII; Unicode folding would let the Kelvin sign match K) against every verb's String.
func refVerb(text []byte) NNTPVerb {
	up := make([]byte, len(text))
	for i, c := range text {
		if 'a' <= c && c <= 'z' {
			c -= 32
		}
		up[i] = c
	}
	for v := NNTPUnknown + 1; v < numNNTPVerbs; v++ {
		if string(up) == v.String() {
			return v
		}
	}
	return NNTPUnknown
}

// refParse parses a whole line (terminator removed) non-incrementally.
func refParse(line []byte) NNTPCommand {
	var c NNTPCommand
	c.LineLen = len(line)
	i := 0
	for i < len(line) && isNNTPSpace(line[i]) {
		i++
	}
	j := i
	for j < len(line) && !isNNTPSpace(line[j]) {
		j++
	}
	c.VerbLen = uint8(copy(c.VerbText[:], line[i:j]))
	c.Verb = refVerb(line[i:j])
	k := j
	for k < len(line) && isNNTPSpace(line[k]) {
		k++
	}
	c.ArgLen = len(line) - k
	for _, f := range bytes.FieldsFunc(line[k:], func(r rune) bool { return r == ' ' || r == '\t' }) {
		if c.NumArgs < len(c.Args) {
			c.Args[c.NumArgs] = len(f)
		}
		c.NumArgs++
	}
	if len(line) > NNTPMaxLine {
		c.Anomalies.Add(NNTPLineTooLong)
	}
	return c
}

// refLines is what the tracker must report for data fed from the start of a connection (or,
// headless, right after Reset), and the line left open.
func refLines(data []byte, headless bool) ([]NNTPCommand, *NNTPCommand) {
	var out []NNTPCommand
	parse := refParse
	headlessParse := func(line []byte) NNTPCommand {
		var c NNTPCommand
		c.LineLen = len(line)
		if len(line) > NNTPMaxLine {
			c.Anomalies.Add(NNTPLineTooLong)
		}
		return c
	}
	if headless {
		parse = headlessParse
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := bytes.TrimSuffix(data[:i], []byte("\r"))
		data = data[i+1:]
		if len(line) > NNTPMaxLine {
			out = append(out, parse(line[:NNTPMaxLine+1]))
		}
		c := parse(line)
		c.Complete = true
		if !headless || len(line) > NNTPMaxLine {
			out = append(out, c)
		}
		headless, parse = false, refParse
	}
	if len(data) == 0 {
		return out, nil
	}
	counted := bytes.TrimSuffix(data, []byte("\r"))
	if len(counted) > NNTPMaxLine {
		out = append(out, parse(counted[:NNTPMaxLine+1]))
	}
	open := parse(counted)
	return out, &open
}

// nntpCheck checks what every report must satisfy, whatever the input.
func nntpCheck(t *testing.T, c *NNTPCommand) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Errorf("%s: "+format, append([]any{nntpString(c)}, args...)...)
	}
	if c.VerbLen > 16 {
		fail("VerbLen %d", c.VerbLen)
	}
	if c.ArgLen < 0 || c.ArgLen > c.LineLen {
		fail("ArgLen %d, LineLen %d", c.ArgLen, c.LineLen)
	}
	if (c.ArgLen == 0) != (c.NumArgs == 0) {
		fail("ArgLen %d with %d arguments", c.ArgLen, c.NumArgs)
	}
	if c.ArgLen > 0 && int(c.VerbLen)+1+c.ArgLen > c.LineLen {
		fail("keyword %d + separator + arguments %d > LineLen %d", c.VerbLen, c.ArgLen, c.LineLen)
	}
	shown := min(c.NumArgs, len(c.Args))
	sum := 0
	for i, a := range c.Args {
		if i < shown && a < 1 || i >= shown && a != 0 {
			fail("Args[%d] = %d with %d arguments", i, a, c.NumArgs)
		}
		sum += a
	}
	if shown > 0 && sum+shown-1 > c.ArgLen {
		fail("arguments %v and separators longer than ArgLen %d", c.Args, c.ArgLen)
	}
	if 2*c.NumArgs-1 > c.ArgLen && c.NumArgs > 0 {
		fail("%d arguments in %d bytes", c.NumArgs, c.ArgLen)
	}
	if long := c.LineLen > NNTPMaxLine; long != c.Anomalies.Has(NNTPLineTooLong) || len(c.Anomalies.List()) != btoi(long) {
		fail("LineLen %d with anomalies %v", c.LineLen, c.Anomalies.List())
	}
	if c.Verb != NNTPUnknown && refVerb(c.Text()) != c.Verb {
		fail("keyword %q is not %v", c.Text(), c.Verb)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nntpString shows a command in failure messages.
func nntpString(c *NNTPCommand) string {
	if c == nil {
		return "<none>"
	}
	return fmt.Sprintf("{%v %q line %d args %d %v n=%d complete=%v %v}", c.Verb, c.Text(), c.LineLen,
		c.ArgLen, c.Args, c.NumArgs, c.Complete, c.Anomalies.List())
}

func nntpStrings(cs []NNTPCommand) string {
	var sb strings.Builder
	for i := range cs {
		sb.WriteString("\n\t")
		sb.WriteString(nntpString(&cs[i]))
	}
	return sb.String()
}

// nntpSame fails unless the two runs reported the same commands and left the same line open.
func nntpSame(t *testing.T, what string, got []NNTPCommand, gotOpen *NNTPCommand, want []NNTPCommand, wantOpen *NNTPCommand) {
	t.Helper()
	same := len(got) == len(want) && (gotOpen == nil) == (wantOpen == nil)
	for i := 0; same && i < len(got); i++ {
		same = got[i] == want[i]
	}
	if same && gotOpen != nil {
		same = *gotOpen == *wantOpen
	}
	if !same {
		t.Fatalf("%s:\ngot  %s\n     open %s\nwant %s\n     open %s", what, nntpStrings(got), nntpString(gotOpen),
			nntpStrings(want), nntpString(wantOpen))
	}
}

// nntpCmd builds an expected complete command (NNTPLineTooLong when lineLen calls for it).
func nntpCmd(verb NNTPVerb, text string, lineLen, argLen int, args ...int) NNTPCommand {
	c := NNTPCommand{Verb: verb, LineLen: lineLen, ArgLen: argLen, NumArgs: len(args), Complete: true}
	c.VerbLen = uint8(copy(c.VerbText[:], text))
	copy(c.Args[:], args)
	if lineLen > NNTPMaxLine {
		c.Anomalies.Add(NNTPLineTooLong)
	}
	return c
}

// ---------------------------------------------------------------------------------------------
// Table: one line each.

type nntpCase struct {
	name string
	in   string
	want []NNTPCommand
}

func nntpCases() []nntpCase {
	long := "XPAT Subject 1-1000 " + strings.Repeat("*", 2000)
	openLong := nntpCmd(NNTPXPAT, "XPAT", 513, 508, 7, 6, 493)
	openLong.Complete = false
	exact := "XPAT Subject 1-1000 " + strings.Repeat("x", 492) // 512 bytes: the longest not flagged
	return []nntpCase{
		{"xpat", "XPAT Subject 1-1000 *network*\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 29, 24, 7, 6, 9)}},
		{"xpat bare LF", "XPAT Subject 1-1000 *network*\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 29, 24, 7, 6, 9)}},
		{"xpat lower case", "xpat subject 1-1000 *network*\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "xpat", 29, 24, 7, 6, 9)}},
		{"xpat mixed case", "xPaT Subject 1-1000 *network*\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "xPaT", 29, 24, 7, 6, 9)}},
		{"xpat message-id", "XPAT Subject <123@example.com> *x* *y*\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 38, 33, 7, 17, 3, 3)}},
		{"xpat many patterns", "XPAT From 1- a b c d\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 20, 15, 4, 2, 1, 1, 1, 1)}},
		{"xpat 2000-byte pattern", long + "\r\n", []NNTPCommand{openLong, nntpCmd(NNTPXPAT, "XPAT", 2020, 2015, 7, 6, 2000)}},
		{"512 bytes not flagged", exact + "\r\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 512, 507, 7, 6, 492)}},
		{"512 bytes bare LF", exact + "\n", []NNTPCommand{nntpCmd(NNTPXPAT, "XPAT", 512, 507, 7, 6, 492)}},
		{"513 bytes too long", exact + "y\r\n", []NNTPCommand{
			func() NNTPCommand { c := nntpCmd(NNTPXPAT, "XPAT", 513, 508, 7, 6, 493); c.Complete = false; return c }(),
			nntpCmd(NNTPXPAT, "XPAT", 513, 508, 7, 6, 493)}},
		{"512 bytes and a CR in the line", exact + "\r\r\n", []NNTPCommand{
			func() NNTPCommand { c := nntpCmd(NNTPXPAT, "XPAT", 513, 508, 7, 6, 493); c.Complete = false; return c }(),
			nntpCmd(NNTPXPAT, "XPAT", 513, 508, 7, 6, 493)}},
		{"mode reader", "MODE READER\r\n", []NNTPCommand{nntpCmd(NNTPMODE, "MODE", 11, 6, 6)}},
		{"quit", "QUIT\r\n", []NNTPCommand{nntpCmd(NNTPQUIT, "QUIT", 4, 0)}},
		{"quit trailing spaces", "QUIT  \r\n", []NNTPCommand{nntpCmd(NNTPQUIT, "QUIT", 6, 0)}},
		{"leading and inner blanks", "  GROUP \t misc.test  \r\n", []NNTPCommand{nntpCmd(NNTPGROUP, "GROUP", 21, 11, 9)}},
		{"tabs", "XHDR\tSubject\t1-5\n", []NNTPCommand{nntpCmd(NNTPXHDR, "XHDR", 16, 11, 7, 3)}},
		{"authinfo", "AUTHINFO USER fred\r\n", []NNTPCommand{nntpCmd(NNTPAUTHINFO, "AUTHINFO", 18, 9, 4, 4)}},
		{"capabilities", "capabilities\r\n", []NNTPCommand{nntpCmd(NNTPCAPABILITIES, "capabilities", 12, 0)}},
		{"empty line", "\r\n", []NNTPCommand{nntpCmd(NNTPUnknown, "", 0, 0)}},
		{"blank line", " \t \n", []NNTPCommand{nntpCmd(NNTPUnknown, "", 3, 0)}},
		{"CR inside the keyword", "HELP\r\r\n", []NNTPCommand{nntpCmd(NNTPUnknown, "HELP\r", 5, 0)}},
		{"CR inside an argument", "GROUP a\rb\r\n", []NNTPCommand{nntpCmd(NNTPGROUP, "GROUP", 9, 3, 3)}},
		{"unknown keyword", "XYZZY 1 2\r\n", []NNTPCommand{nntpCmd(NNTPUnknown, "XYZZY", 9, 3, 1, 1)}},
		{"keyword prefix", "XPATH <a@b>\r\n", []NNTPCommand{nntpCmd(NNTPXPATH, "XPATH", 11, 5, 5)}},
		{"keyword longer than 16", "ABCDEFGHIJKLMNOPQRSTUVWXYZ x\r\n", []NNTPCommand{nntpCmd(NNTPUnknown, "ABCDEFGHIJKLMNOP", 28, 1, 1)}},
		{"Kelvin sign is not K", "CHEC\u212a <a@b>\r\n", []NNTPCommand{nntpCmd(NNTPUnknown, "CHEC\u212a", 13, 5, 5)}},
		{"NUL and high bytes", "\x00\xff\x80 \x01\n", []NNTPCommand{nntpCmd(NNTPUnknown, "\x00\xff\x80", 5, 1, 1)}},
	}
}

func TestNNTPLines(t *testing.T) {
	for _, tc := range nntpCases() {
		t.Run(tc.name, func(t *testing.T) {
			var l NNTPLines
			got, open := nntpFeed(&l, []byte(tc.in))
			nntpSame(t, "whole", got, open, tc.want, nil)
			ref, refOpen := refLines([]byte(tc.in), false)
			nntpSame(t, "reference model", got, open, ref, refOpen)
			for i := range got {
				nntpCheck(t, &got[i])
			}
		})
	}
}

// TestNNTPSplits feeds every case byte by byte and cut in two at every point: the reports must
// not depend on where the chunks end.
func TestNNTPSplits(t *testing.T) {
	cases := nntpCases()
	var all strings.Builder
	for _, tc := range cases {
		all.WriteString(tc.in)
	}
	cases = append(cases, nntpCase{name: "all cases in one stream", in: all.String()})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			var l NNTPLines
			want, wantOpen := nntpFeed(&l, in)
			l = NNTPLines{}
			got, open := nntpFeed(&l, nntpChunks(in, nil)...)
			nntpSame(t, "byte by byte", got, open, want, wantOpen)
			for cut := 1; cut < len(in); cut++ {
				l = NNTPLines{}
				got, open := nntpFeed(&l, in[:cut], in[cut:])
				nntpSame(t, fmt.Sprintf("cut at %d", cut), got, open, want, wantOpen)
			}
		})
	}
}

func TestNNTPSeveralLinesPerChunk(t *testing.T) {
	session := "CAPABILITIES\r\nMODE READER\r\nGROUP misc.test\r\nXOVER 1-10\r\nxpat Subject 1-1000 *network*\r\nARTICLE <x@y>\r\nQUIT\r\n"
	var l NNTPLines
	got, open := nntpFeed(&l, []byte(session))
	if open != nil {
		t.Fatalf("line left open: %s", nntpString(open))
	}
	want := []NNTPVerb{NNTPCAPABILITIES, NNTPMODE, NNTPGROUP, NNTPXOVER, NNTPXPAT, NNTPARTICLE, NNTPQUIT}
	if len(got) != len(want) {
		t.Fatalf("got %d commands, want %d:%s", len(got), len(want), nntpStrings(got))
	}
	for i, c := range got {
		if c.Verb != want[i] || !c.Complete || len(c.Anomalies.List()) != 0 {
			t.Errorf("command %d: %s, want complete %v without anomaly", i, nntpString(&c), want[i])
		}
	}
	// Two lines and the start of a third in one chunk, the rest in the next.
	l = NNTPLines{}
	got, open = nntpFeed(&l, []byte("GROUP a\r\nGROUP b\r\nXPAT Sub"))
	if len(got) != 2 || open == nil || open.Verb != NNTPXPAT || open.LineLen != 8 || open.NumArgs != 1 || open.Args[0] != 3 || open.Complete {
		t.Fatalf("after the first chunk: %s, open %s", nntpStrings(got), nntpString(open))
	}
	got, open = nntpFeed(&l, []byte("ject 1- *x*\r\n"))
	if len(got) != 1 || open != nil || got[0] != nntpCmd(NNTPXPAT, "XPAT", 19, 14, 7, 2, 3) {
		t.Fatalf("after the second chunk: %s, open %s", nntpStrings(got), nntpString(open))
	}
}

// TestNNTPOpen follows Open through a line.
func TestNNTPOpen(t *testing.T) {
	var l NNTPLines
	if c, ok := l.Open(); ok {
		t.Fatalf("zero value has an open line: %s", nntpString(c))
	}
	steps := []struct {
		in      string
		open    bool
		verb    NNTPVerb
		lineLen int
		argLen  int
	}{
		{"X", true, NNTPUnknown, 1, 0},
		{"PA", true, NNTPUnknown, 3, 0},
		{"T", true, NNTPXPAT, 4, 0}, // the keyword so far
		{"H", true, NNTPXPATH, 5, 0},
		{" ", true, NNTPXPATH, 6, 0},
		{"<a@b>", true, NNTPXPATH, 11, 5},
		{"\r", true, NNTPXPATH, 11, 5}, // a CR last is not counted yet
		{"\n", false, 0, 0, 0},
		{"\r", true, NNTPUnknown, 0, 0}, // a line in progress, nothing counted
		{"\r", true, NNTPUnknown, 1, 0},
		{"\n", false, 0, 0, 0},
	}
	for i, s := range steps {
		nntpFeed(&l, []byte(s.in))
		c, ok := l.Open()
		if ok != s.open || ok && (c.Verb != s.verb || c.LineLen != s.lineLen || c.ArgLen != s.argLen || c.Complete) {
			t.Fatalf("step %d (%q): Open %s %v, want open %v %v line %d args %d", i, s.in, nntpString(c), ok,
				s.open, s.verb, s.lineLen, s.argLen)
		}
	}
}

// TestNNTPNeverEnds: the attack line that never ends is reported once, open, when it becomes too
// long, and stays visible through Open.
func TestNNTPNeverEnds(t *testing.T) {
	var l NNTPLines
	in := []byte("XPAT Subject 1-1000 " + strings.Repeat("A", 100_000))
	got, open := nntpFeed(&l, nntpChunks(in, []int{1460})...)
	if len(got) != 1 {
		t.Fatalf("%d reports, want 1:%s", len(got), nntpStrings(got))
	}
	c := got[0]
	if c.Complete || c.Verb != NNTPXPAT || c.LineLen != NNTPMaxLine+1 || c.NumArgs != 3 || c.Args[2] != 493 ||
		!c.Anomalies.Has(NNTPLineTooLong) {
		t.Errorf("open report %s", nntpString(&c))
	}
	if open == nil || open.Complete || open.LineLen != len(in) || open.ArgLen != len(in)-5 || open.Args[2] != 100_000 ||
		open.Verb != NNTPXPAT || !open.Anomalies.Has(NNTPLineTooLong) || len(open.Anomalies.List()) != 1 {
		t.Errorf("Open %s", nntpString(open))
	}
	// More of the same: no more reports.
	got, _ = nntpFeed(&l, bytes.Repeat([]byte("\r"), 10_000))
	if len(got) != 0 {
		t.Errorf("reported again:%s", nntpStrings(got))
	}
}

// TestNNTPBinaryGarbage: random bytes, with and without many LFs, against the reference model and
// cut at random.
func TestNNTPBinaryGarbage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		in := make([]byte, rng.IntN(5000))
		for i := range in {
			switch rng.IntN(4) {
			case 0:
				in[i] = byte(rng.IntN(256))
			case 1:
				in[i] = "\r\n \t"[rng.IntN(4)]
			default:
				in[i] = "XPATxpat QUIT\x00\xff"[rng.IntN(15)]
			}
			if round%2 == 1 && in[i] == '\n' {
				in[i] = 'x' // long lines
			}
		}
		var l NNTPLines
		want, wantOpen := refLines(in, false)
		got, open := nntpFeed(&l, in)
		nntpSame(t, fmt.Sprintf("round %d whole", round), got, open, want, wantOpen)
		sizes := make([]int, 1+rng.IntN(8))
		for i := range sizes {
			sizes[i] = 1 + rng.IntN(700)
		}
		l = NNTPLines{}
		got, open = nntpFeed(&l, nntpChunks(in, sizes)...)
		nntpSame(t, fmt.Sprintf("round %d in chunks %v", round, sizes), got, open, want, wantOpen)
		for i := range got {
			nntpCheck(t, &got[i])
		}
	}
	// Every byte value alone on a line, and as a line.
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	var l NNTPLines
	got, open := nntpFeed(&l, all)
	want, wantOpen := refLines(all, false)
	nntpSame(t, "every byte value", got, open, want, wantOpen)
}

// TestNNTPReset: after a gap the tracker resynchronises on the next LF.
func TestNNTPReset(t *testing.T) {
	var l NNTPLines
	got, _ := nntpFeed(&l, []byte("GROUP misc.test\r\nXPAT Subject 1-1000 *net"))
	if len(got) != 1 || got[0].Verb != NNTPGROUP {
		t.Fatalf("before the gap:%s", nntpStrings(got))
	}
	l.Reset()
	if c, ok := l.Open(); ok {
		t.Fatalf("open line right after Reset: %s", nntpString(c))
	}
	// The rest of a short line is dropped: its "QUIT" must not be taken for a keyword.
	got, open := nntpFeed(&l, []byte("work* QUIT\r\nQUIT\r\n"))
	if len(got) != 1 || open != nil || got[0] != nntpCmd(NNTPQUIT, "QUIT", 4, 0) {
		t.Fatalf("after the gap:%s open %s", nntpStrings(got), nntpString(open))
	}

	// The rest of a too-long line is reported, without keyword, open then complete.
	l.Reset()
	got, open = nntpFeed(&l, []byte("XPAT "+strings.Repeat("*", 700)))
	headOpen := NNTPCommand{LineLen: NNTPMaxLine + 1}
	headOpen.Anomalies.Add(NNTPLineTooLong)
	if len(got) != 1 || got[0] != headOpen || open == nil || open.LineLen != 705 || open.VerbLen != 0 || open.NumArgs != 0 {
		t.Fatalf("rest of a long line:%s open %s", nntpStrings(got), nntpString(open))
	}
	got, open = nntpFeed(&l, []byte("\r\nMODE READER\r\n"))
	headDone := NNTPCommand{LineLen: 705, Complete: true}
	headDone.Anomalies.Add(NNTPLineTooLong)
	if len(got) != 2 || open != nil || got[0] != headDone || got[1] != nntpCmd(NNTPMODE, "MODE", 11, 6, 6) {
		t.Fatalf("end of the long line:%s open %s", nntpStrings(got), nntpString(open))
	}

	// Against the reference, at every cut, for a stream after Reset.
	in := []byte("*y*\r\r\nXPAT a b\r\n" + strings.Repeat("z", 600) + "\n\rLIST\r\n")
	want, wantOpen := refLines(in, true)
	for cut := 0; cut <= len(in); cut++ {
		l = NNTPLines{}
		nntpFeed(&l, []byte("XPAT Subject 1-"))
		l.Reset()
		got, open := nntpFeed(&l, in[:cut], in[cut:])
		nntpSame(t, fmt.Sprintf("after Reset, cut at %d", cut), got, open, want, wantOpen)
	}
	in = []byte(strings.Repeat("q\r", 400) + "\r\nHELP\n")
	want, wantOpen = refLines(in, true)
	l.Reset()
	got, open = nntpFeed(&l, nntpChunks(in, nil)...)
	nntpSame(t, "after Reset, byte by byte", got, open, want, wantOpen)
}

// TestNNTPLinesSize: the state lives in a per-flow table.
func TestNNTPLinesSize(t *testing.T) {
	t.Logf("NNTPLines: %d bytes, NNTPCommand: %d bytes", unsafe.Sizeof(NNTPLines{}), unsafe.Sizeof(NNTPCommand{}))
	if n := unsafe.Sizeof(NNTPLines{}); n > 96 {
		t.Errorf("NNTPLines is %d bytes, documented as 96", n)
	}
}

func TestNNTPVerbs(t *testing.T) {
	for v := NNTPUnknown + 1; v < numNNTPVerbs; v++ {
		name := v.String()
		if name == "" || name == "unknown" || len(name) > 16 {
			t.Errorf("verb %d has name %q", v, name)
		}
		if got := nntpLookupVerb([]byte(name)); got != v {
			t.Errorf("%q is %v", name, got)
		}
		if got := nntpLookupVerb([]byte(strings.ToLower(name))); got != v {
			t.Errorf("%q is %v", strings.ToLower(name), got)
		}
	}
	for _, s := range []string{"", "unknown", "UNKNOWN", "XPA", "XPATT", "X PAT", "XPAT\x00"} {
		if got := nntpLookupVerb([]byte(s)); got != NNTPUnknown {
			t.Errorf("%q is %v", s, got)
		}
	}
	if NNTPUnknown.String() != "unknown" || numNNTPVerbs.String() != "unknown" || NNTPVerb(255).String() != "unknown" {
		t.Error("String of an unknown verb")
	}
}

// TestNNTPCapture feeds the client side of a real Leafnode reader session.
func TestNNTPCapture(t *testing.T) {
	const name = "nntp-leafnode-reader-group-article.pcap"
	dir, _ := corpusDir()
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("%s not found (set IDS_SHARED_PCAPS or put the captures in shared/pcaps beside the repository): %v", name, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	f, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		p       Packet
		l       NNTPLines
		got     []NNTPCommand
		nextSeq uint32
		started bool
	)
	for {
		data, info, err := f.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
		if !p.Has(LayerTCP) || p.DstPort != 119 || len(p.Payload) == 0 {
			continue
		}
		if started && p.TCP.Seq != nextSeq {
			t.Fatalf("client segment at seq %d, expected %d: not in order", p.TCP.Seq, nextSeq)
		}
		started, nextSeq = true, p.TCP.Seq+uint32(len(p.Payload))
		cmds, _ := nntpFeed(&l, p.Payload)
		got = append(got, cmds...)
	}
	if c, ok := l.Open(); ok {
		t.Errorf("line left open: %s", nntpString(c))
	}
	want := []NNTPCommand{
		nntpCmd(NNTPMODE, "MODE", 11, 6, 6),
		nntpCmd(NNTPGROUP, "GROUP", 24, 18, 18),
		nntpCmd(NNTPARTICLE, "ARTICLE", 11, 3, 3),
		nntpCmd(NNTPARTICLE, "ARTICLE", 11, 3, 3),
		nntpCmd(NNTPGROUP, "GROUP", 29, 23, 23),
		nntpCmd(NNTPARTICLE, "ARTICLE", 9, 1, 1),
		nntpCmd(NNTPQUIT, "QUIT", 4, 0),
	}
	nntpSame(t, name, got, nil, want, nil)
	for i := range got {
		nntpCheck(t, &got[i])
		if len(got[i].Anomalies.List()) != 0 {
			t.Errorf("anomalies in %s", nntpString(&got[i]))
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Allocations, speed, fuzzing.

// nntpBenchStream is a reader session with an attack in it: ordinary commands cut at 7 bytes,
// then a 2000-byte XPAT pattern.
func nntpBenchStream() []byte {
	var b bytes.Buffer
	for range 50 {
		b.WriteString("GROUP comp.infosystems.gopher\r\nXOVER 1-1000\r\nxpat Subject 1-1000 *network*\r\nARTICLE <1234@example.com>\r\n")
	}
	b.WriteString("XPAT Subject 1-1000 " + strings.Repeat("%s", 1000) + "\r\n")
	return b.Bytes()
}

func TestNNTPAllocs(t *testing.T) {
	in := nntpBenchStream()
	var l NNTPLines
	reports := 0
	allocs := testing.AllocsPerRun(20, func() {
		for _, chunk := range [][]byte{in[:7], in[7:1000], in[1000:]} {
			for len(chunk) > 0 {
				n, _, ok := l.Next(chunk)
				reports += btoi(ok)
				chunk = chunk[n:]
			}
			l.Open()
		}
		l.Reset()
		l.Next([]byte("rest of a line\r\nQUIT\r\n"))
		l = NNTPLines{}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per pass", allocs)
	}
	if reports == 0 {
		t.Error("no reports")
	}
}

// BenchmarkNNTP measures a reader session with an attack in it (session) and the line that never
// ends (attack: 64 KiB of XPAT pattern), each pass a new connection, in TCP-sized chunks and
// byte by byte.
func BenchmarkNNTP(b *testing.B) {
	attack := []byte("XPAT Subject 1-1000 " + strings.Repeat("%s", 32<<10))
	for _, bc := range []struct {
		name  string
		in    []byte
		chunk int
	}{
		{"session/chunk=1460", nntpBenchStream(), 1460},
		{"session/chunk=1", nntpBenchStream(), 1},
		{"attack/chunk=1460", attack, 1460},
	} {
		in, chunk := bc.in, bc.chunk
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			var l NNTPLines
			reports := 0
			for b.Loop() {
				for rest := in; len(rest) > 0; {
					c := rest[:min(chunk, len(rest))]
					rest = rest[len(c):]
					for len(c) > 0 {
						n, _, ok := l.Next(c)
						reports += btoi(ok)
						c = c[n:]
					}
				}
				l = NNTPLines{} // a new connection: the attack line never ends
			}
			if reports == 0 {
				b.Fatal("no reports")
			}
		})
	}
}

// FuzzNNTP: the same bytes fed whole and in chunks (sizes from cuts) report the same commands,
// those the non-incremental reference model finds, with consistent lengths; never a panic.
// reset feeds the bytes right after Reset (resynchronisation on the first LF).
func FuzzNNTP(f *testing.F) {
	for _, tc := range nntpCases() {
		f.Add([]byte(tc.in), []byte{1}, false)
	}
	f.Add([]byte("MODE READER\r\nGROUP news.software.nntp\r\nARTICLE 185\r\nQUIT\r\n"), []byte{3, 7, 250}, false)
	f.Add([]byte("XPAT Subject 1-1000 "+strings.Repeat("*", 600)), []byte{255, 3}, false)
	f.Add([]byte("ject 1- "+strings.Repeat("*", 600)+"\r\nQUIT\r\n"), []byte{200}, true)
	f.Add([]byte("\r\r\r\n\n\r \t\x00"), []byte{}, true)
	f.Fuzz(func(t *testing.T, data, cuts []byte, reset bool) {
		sizes := make([]int, len(cuts))
		for i, c := range cuts {
			sizes[i] = int(c)
		}
		var whole, chunked NNTPLines
		if reset {
			whole.Reset()
			chunked.Reset()
		}
		want, wantOpen := refLines(data, reset)
		got, open := nntpFeed(&whole, data)
		nntpSame(t, "whole", got, open, want, wantOpen)
		got, open = nntpFeed(&chunked, nntpChunks(data, sizes)...)
		nntpSame(t, "in chunks", got, open, want, wantOpen)
		for i := range got {
			nntpCheck(t, &got[i])
			if !got[i].Complete && (got[i].LineLen != NNTPMaxLine+1 || i+1 < len(got) && !got[i+1].Complete) {
				t.Errorf("open report %s", nntpString(&got[i]))
			}
		}
		if open != nil {
			nntpCheck(t, open)
		}
	})
}
