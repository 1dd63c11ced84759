package detectors

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/internal/testcorpus"
)

// FuzzRPCStrings feeds any stub to the string finders the DCE/RPC detectors use: no panic, and
// what they report is really in the stub: an aligned NDR wide-string header whose counts agree
// (with its NUL where they say, or cut by the stub's end past 256 characters), a UNC path whose
// server name is that long.
func FuzzRPCStrings(f *testing.F) {
	le := binary.LittleEndian
	s := le.AppendUint32(nil, 4)
	s = le.AppendUint32(s, 0)
	s = le.AppendUint32(s, 4)
	s = append(s, 'a', 0, 'b', 0, 'c', 0, 0, 0)
	f.Add(s, true)
	f.Add([]byte(`\`+"\x00"+`\`+"\x00s\x00r\x00v\x00\\\x00x\x00\x00\x00"), true)
	f.Add([]byte{0, 0, 1, 0x2c, 0, 0, 0, 0, 0, 0, 1, 0x2c, 'A', 0}, false)
	// Payloads of the generated corpus and the shared captures: RPC stubs among them.
	paths, _ := filepath.Glob("../pcaps/*/*.pcap*")
	_, shared := testcorpus.Find()
	seen := map[string]bool{}
	var p decode.Packet
	for _, path := range append(paths, shared...) {
		c, err := capture.Open(path)
		if err != nil {
			continue
		}
		for range 4096 {
			data, info, err := c.Next()
			if err != nil || len(seen) >= 400 {
				break
			}
			p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
			if pl := p.Payload; len(pl) >= 12 && !seen[string(pl)] {
				seen[string(pl)] = true
				f.Add(append([]byte(nil), pl...), true)
			}
		}
		c.Close()
	}
	f.Fuzz(func(t *testing.T, stub []byte, little bool) {
		n, off := longestWideString(stub, little)
		if n > 0 {
			u32 := binary.LittleEndian.Uint32
			if !little {
				u32 = binary.BigEndian.Uint32
			}
			if off%4 != 0 || off+12 > len(stub) {
				t.Fatalf("string at %d in %d bytes", off, len(stub))
			}
			mx, zero, actual := u32(stub[off:]), u32(stub[off+4:]), u32(stub[off+8:])
			if actual != n || zero != 0 || actual > mx {
				t.Fatalf("reported %d at %d; header %d %d %d", n, off, mx, zero, actual)
			}
			end := off + 12 + 2*int(n)
			if end <= len(stub) && (stub[end-2] != 0 || stub[end-1] != 0) {
				t.Fatalf("no NUL at the end of the %d-character string at %d", n, off)
			}
			if end > len(stub) && (n <= 256 || mx != n) {
				t.Fatalf("cut string of %d characters (max %d) counted", n, mx)
			}
		}
		c, at := longestUNCServer(stub)
		if c > 0 {
			if at%2 != 0 || at+4+2*c > len(stub) || string(stub[at:at+4]) != "\\\x00\\\x00" {
				t.Fatalf("UNC server of %d characters at %d in %d bytes", c, at, len(stub))
			}
			for j := at + 4; j < at+4+2*c; j += 2 {
				if stub[j+1] == 0 && (stub[j] == '\\' || stub[j] == 0) {
					t.Fatalf("server name at %d holds a separator at %d", at, j)
				}
			}
		}
	})
}
