package detectors

import "encoding/binary"

// Helpers for the DCE/RPC detectors that judge string arguments without a full NDR decode of
// each method's signature: the strings they care about have recognisable encodings.

// longestWideString finds, at 4-byte aligned offsets of an NDR stub, conformant varying wide
// strings ([string] wchar_t*: max_count, offset 0, actual_count, then actual_count UTF-16
// units ending in NUL, C706 14.3.4.2) and returns the largest actual_count and where it is. A
// header only counts when its NUL terminator sits where the counts say, so stray integers do
// not pass for strings; a string cut by the end of the stub counts by its claimed length.
func longestWideString(stub []byte, little bool) (n uint32, off int) {
	u32 := binary.LittleEndian.Uint32
	if !little {
		u32 = binary.BigEndian.Uint32
	}
	for i := 0; i+12 <= len(stub); i += 4 {
		max, zero, actual := u32(stub[i:]), u32(stub[i+4:]), u32(stub[i+8:])
		if zero != 0 || actual == 0 || actual > max || actual <= n {
			continue
		}
		end := i + 12 + 2*int(actual)
		if end > len(stub) {
			if actual > 256 && max == actual { // cut short: judge by the claim
				n, off = actual, i
			}
			continue
		}
		if stub[end-2] == 0 && stub[end-1] == 0 {
			n, off = actual, i
		}
	}
	return n, off
}

// longestUNCServer finds UTF-16LE UNC paths (\\server\...) in b and returns the longest server
// name, in characters, and where its path starts: the part the 2003 DCOM exploits overflowed.
func longestUNCServer(b []byte) (n int, off int) {
	for i := 0; i+4 <= len(b); i += 2 {
		if b[i] != '\\' || b[i+1] != 0 || b[i+2] != '\\' || b[i+3] != 0 {
			continue
		}
		j := i + 4
		for j+2 <= len(b) && !(b[j+1] == 0 && (b[j] == '\\' || b[j] == 0)) {
			j += 2
		}
		if c := (j - i - 4) / 2; c > n {
			n, off = c, i
		}
		i = j - 2 // continue after this name
	}
	return n, off
}
