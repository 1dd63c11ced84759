package main

import (
	"bytes"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// NNTP (TCP 119) for the MS04-036 (CVE-2004-0574) cases: an XPAT command (RFC 2980 2.9) whose
// arguments are longer than the default max_arg_len of 256. Clients are 192.0.2.150-160 or
// 2001:db8:1::150 (TTL 64), servers 203.0.113.150-160 or 2001:db8:2::150 (TTL 128), a Windows
// Server 2003 NNTP service.

const (
	nntpGreeting = "200 NNTP Service 6.0.3790.0 Version: 6.0.3790.0 Posting Allowed \r\n"
	nntpGroup    = "comp.os.ms-windows.misc"
	nntpGroupOK  = "211 1000 1 1000 comp.os.ms-windows.misc\r\n"
)

// xpatLine is "XPAT Subject 1-1000 " and an n-byte wildmat pattern ('*', then letters, '*'),
// without a line terminator: its arguments are 15+n bytes, the line 20+n.
func xpatLine(n int) []byte {
	p := append([]byte{'*'}, bytes.Repeat([]byte{'A'}, n-2)...)
	return append([]byte("XPAT Subject 1-1000 "), append(p, '*')...)
}

func xpatAlert(f *tcpFlow) expect {
	return alert(detNNTPXPAT, sidNNTPXPAT, f.cli.String(), f.srv.String())
}

const lineTooLong = "nntp.line_too_long"

// nntpStart opens the connection and selects the group: greeting, GROUP, 211.
func nntpStart(f *tcpFlow) {
	f.open(true)
	f.data(false, []byte(nntpGreeting))
	f.ack(true)
	f.data(true, []byte("GROUP "+nntpGroup+"\r\n"))
	f.data(false, []byte(nntpGroupOK))
	f.ack(true)
}

func nntpCases() []*capture {
	return []*capture{
		nntpLongPattern("nntp-xpat/attack-long-pattern.pcap", "192.0.2.150:40150", "203.0.113.150:119"),
		nntpOneByte(), nntpNeverEnds(), nntp300(),
		nntpLongPattern("nntp-xpat/attack-ipv6.pcap", "[2001:db8:1::150]:40155", "[2001:db8:2::150]:119"),
		nntpBenignSession(), nntpLongArticle(),
	}
}

const longWhy = "XPAT arguments of 1215 bytes (> 256) on a 1220-byte line (> 512): one nntp-xpat 9200501 alert, client to server, and nntp.line_too_long once"

// nntpLongPattern is the MS04-036 overflow: XPAT Subject 1-1000 with a 1200-byte pattern and
// CRLF, in one segment. The server only acknowledges it (a vulnerable one has crashed).
func nntpLongPattern(path, cli, srv string) *capture {
	c := newCapture(path, layers.LinkTypeEthernet, eth{},
		cli+" -> "+srv+": greeting 200, GROUP "+nntpGroup+", 211, then XPAT Subject 1-1000 with a 1200-byte pattern and CRLF in one segment; the server only acknowledges it; FIN close",
		longWhy)
	f := newConn(&c.stream, c.l, cli, srv, 0x04036000+uint32(addrPort(cli).Port()))
	nntpStart(f)
	f.data(true, append(xpatLine(1200), "\r\n"...))
	c.expect(xpatAlert(f), anomaly(lineTooLong))
	f.ack(false)
	f.close()
	return c
}

func nntpOneByte() *capture {
	c := newCapture("nntp-xpat/attack-one-byte-segments.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.151:40151 -> 203.0.113.151:119: greeting, GROUP, 211, then XPAT Subject 1-1000 with a 1200-byte pattern and CRLF in 1222 one-byte segments, the server acknowledging every 32nd; FIN close",
		longWhy+" (the alert on the segment carrying the line's 513th byte)")
	f := newConn(&c.stream, c.l, "192.0.2.151:40151", "203.0.113.151:119", 0x04036001)
	nntpStart(f)
	line := append(xpatLine(1200), "\r\n"...)
	for i := range line {
		f.data(true, line[i:i+1])
		if i == 512 { // the 513th byte: the line is past RFC 3977's limit while still open
			c.expect(xpatAlert(f), anomaly(lineTooLong))
		}
		if i%32 == 31 || i == len(line)-1 {
			f.ack(false)
		}
	}
	f.close()
	return c
}

func nntpNeverEnds() *capture {
	c := newCapture("nntp-xpat/attack-never-ends.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.152:40152 -> 203.0.113.152:119: greeting, GROUP, 211, then XPAT Subject 1-1000 with a 2000-byte pattern and no line terminator, in segments of 1448 and 572 bytes; the server acknowledges them and the connection goes idle (the capture ends)",
		"the open XPAT line passes 512 bytes in its first segment, its arguments already far past 256: one nntp-xpat 9200501 alert, client to server, and nntp.line_too_long once")
	f := newConn(&c.stream, c.l, "192.0.2.152:40152", "203.0.113.152:119", 0x04036002)
	nntpStart(f)
	line := xpatLine(2000)
	f.data(true, line[:1448])
	c.expect(xpatAlert(f), anomaly(lineTooLong))
	f.data(true, line[1448:])
	f.ack(false)
	return c
}

func nntp300() *capture {
	c := newCapture("nntp-xpat/attack-300-byte-pattern.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.153:40153 -> 203.0.113.153:119: greeting, GROUP, 211, then XPAT Subject 1-1000 with a 300-byte pattern and CRLF (a 320-byte line), answered 221 with an empty list; QUIT, 205; FIN close",
		"XPAT arguments of 315 bytes (> 256) on a line within RFC 3977's 512: one nntp-xpat 9200501 alert, client to server, no anomaly")
	f := newConn(&c.stream, c.l, "192.0.2.153:40153", "203.0.113.153:119", 0x04036003)
	nntpStart(f)
	f.data(true, append(xpatLine(300), "\r\n"...))
	c.expect(xpatAlert(f))
	f.data(false, []byte("221 Header follows\r\n.\r\n"))
	f.data(true, []byte("QUIT\r\n"))
	f.data(false, []byte("205 closing connection - goodbye!\r\n"))
	f.close()
	return c
}

func nntpBenignSession() *capture {
	c := newCapture("nntp-xpat/benign-session.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.154:40154 -> 203.0.113.154:119: greeting, MODE READER (200), GROUP (211), XPAT Subject 1-1000 *network* (221, 3 matches), ARTICLE 412 (220 and the article), QUIT (205); FIN close",
		"an XPAT with a 9-byte pattern and lines far below 512 bytes: nothing")
	f := newConn(&c.stream, c.l, "192.0.2.154:40154", "203.0.113.154:119", 0x04036004)
	f.open(true)
	f.data(false, []byte(nntpGreeting))
	f.ack(true)
	f.data(true, []byte("MODE READER\r\n"))
	f.data(false, []byte("200 Posting Allowed\r\n"))
	f.data(true, []byte("GROUP "+nntpGroup+"\r\n"))
	f.data(false, []byte(nntpGroupOK))
	f.data(true, []byte("XPAT Subject 1-1000 *network*\r\n"))
	f.data(false, []byte("221 Header follows\r\n"+
		"12 Network drive mapping lost after resume\r\n"+
		"87 Re: Network drive mapping lost after resume\r\n"+
		"412 Slow network browsing on XP SP2\r\n"+
		".\r\n"))
	f.data(true, []byte("ARTICLE 412\r\n"))
	f.data(false, []byte(strings.Join([]string{
		"220 412 <4ac0a1b2.1234@news.example.com> article",
		"Path: news.example.com!not-for-mail",
		"From: user@example.net",
		"Newsgroups: " + nntpGroup,
		"Subject: Slow network browsing on XP SP2",
		"Date: Mon, 28 Sep 2009 11:42:10 +0000",
		"Message-ID: <4ac0a1b2.1234@news.example.com>",
		"",
		"Opening a share on the file server takes a minute since SP2.",
		"Any ideas?",
		".",
		"",
	}, "\r\n")))
	f.data(true, []byte("QUIT\r\n"))
	f.data(false, []byte("205 closing connection - goodbye!\r\n"))
	f.close()
	return c
}

func nntpLongArticle() *capture {
	c := newCapture("nntp-xpat/benign-long-article-line.pcap", layers.LinkTypeEthernet, eth{},
		"192.0.2.155:40156 -> 203.0.113.155:119: greeting, GROUP, 211, then ARTICLE <message-id> on a 600-byte line (CRLF not counted), answered 430; QUIT, 205; FIN close",
		"a command line past RFC 3977's 512 bytes that is not XPAT: nntp.line_too_long once, no alert")
	f := newConn(&c.stream, c.l, "192.0.2.155:40156", "203.0.113.155:119", 0x04036005)
	nntpStart(f)
	id := "<" + strings.Repeat("x", 600-len("ARTICLE <@news.example.com>")) + "@news.example.com>"
	line := "ARTICLE " + id
	if len(line) != 600 {
		panic("benign-long-article-line: line is not 600 bytes")
	}
	f.data(true, []byte(line+"\r\n"))
	c.expect(anomaly(lineTooLong))
	f.data(false, []byte("430 No article with that message-id\r\n"))
	f.data(true, []byte("QUIT\r\n"))
	f.data(false, []byte("205 closing connection - goodbye!\r\n"))
	f.close()
	return c
}
