package detectors

import (
	"encoding/binary"
	"testing"
)

func wstr(s string, maxCount, actual uint32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, maxCount)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, actual)
	for _, r := range s {
		b = binary.LittleEndian.AppendUint16(b, uint16(r))
	}
	return b
}

func TestLongestWideString(t *testing.T) {
	cases := []struct {
		name string
		stub []byte
		n    uint32
		off  int
	}{
		{"one_string", append([]byte{1, 0, 0, 0}, wstr("abc\x00", 4, 4)...), 4, 4},
		{"longest_of_two", append(wstr("ab\x00\x00", 3, 3), wstr("abcdefg\x00", 8, 8)...), 8, 20},
		{"no_terminator_not_a_string", wstr("abcd", 4, 4), 0, 0},
		{"counts_that_are_integers", []byte{9, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1, 2, 3, 4}, 0, 0},
		{"cut_short_long_claim", wstr("AAAA", 2000, 2000), 2000, 0},
		{"cut_short_small_claim", wstr("AA", 20, 20), 0, 0},
	}
	for _, c := range cases {
		if n, off := longestWideString(c.stub, true); n != c.n || off != c.off {
			t.Errorf("%s: %d at %d, want %d at %d", c.name, n, off, c.n, c.off)
		}
	}
}

func TestLongestUNCServer(t *testing.T) {
	u := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = binary.LittleEndian.AppendUint16(b, uint16(r))
		}
		return b
	}
	cases := []struct {
		name string
		b    []byte
		n    int
		off  int
	}{
		{"server_and_share", u(`xx\\srv01\share`), 5, 4},
		{"two_paths", u(`\\a\x\\bbbb\y`), 4, 10},
		{"unterminated", u(`\\cccccc`), 6, 0},
		{"nul_ends_name", append(u(`\\dd`), 0, 0, 'x', 0), 2, 0},
		{"none", u(`no path here`), 0, 0},
	}
	for _, c := range cases {
		if n, off := longestUNCServer(c.b); n != c.n || off != c.off {
			t.Errorf("%s: %d at %d, want %d at %d", c.name, n, off, c.n, c.off)
		}
	}
}
