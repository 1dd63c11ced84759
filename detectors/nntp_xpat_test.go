package detectors_test

import (
	"reflect"
	"strings"
	"testing"
)

func TestNNTPXPAT(t *testing.T) {
	const cli, srv = "192.0.2.30", "198.51.100.119"
	long := "XPAT Subject 1-1000 " + strings.Repeat("*A", 600) + "\r\n"
	session := func(t *testing.T, chunks ...string) *conn {
		c := newConn(t, cli, srv, 40000, 119, false).handshake()
		c.sendBytes(false, []byte("200 news.example.net ready\r\n"))
		for _, ch := range chunks {
			c.sendBytes(true, []byte(ch))
		}
		return c
	}
	split := func(s string, n int) []string {
		var out []string
		for len(s) > n {
			out, s = append(out, s[:n]), s[n:]
		}
		return append(out, s)
	}
	cases := []struct {
		name   string
		chunks []string
		want   []uint32
	}{
		{"short_xpat", []string{"GROUP comp.lang.go\r\n", "XPAT Subject 1-1000 *network*\r\n"}, nil},
		{"long_xpat", []string{long}, []uint32{9200501}},
		{"long_xpat_lowercase_lf", []string{strings.ToLower(long[:len(long)-2]) + "\n"}, []uint32{9200501}},
		{"long_xpat_one_byte_segments", split(long, 1), []uint32{9200501}},
		{"long_xpat_never_ends", []string{strings.TrimSuffix(long, "\r\n")}, []uint32{9200501}},
		{"xpat_300_bytes", []string{"XPAT Subject 1-1000 " + strings.Repeat("x", 300) + "\r\n"}, []uint32{9200501}},
		{"long_article_line_not_xpat", []string{"ARTICLE <" + strings.Repeat("a", 600) + "@example>\r\n"}, nil},
		{"two_long_xpats", []string{long, long}, []uint32{9200501, 9200501}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []uint32
			for _, f := range run(t, testRules(t), session(t, tc.chunks...).frames...) {
				got = append(got, f.sid)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("alerts %v, want %v", got, tc.want)
			}
		})
	}
	// Not on port 119: not parsed (content detection comes with issue 4's later work).
	c := newConn(t, cli, srv, 40000, 8119, false).handshake()
	c.sendBytes(true, []byte(long))
	if got := run(t, testRules(t), c.frames...); len(got) != 0 {
		t.Errorf("port 8119: %+v", got)
	}
}
