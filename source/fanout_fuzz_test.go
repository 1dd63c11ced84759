package source

import (
	"bytes"
	"testing"

	"golang.org/x/net/bpf"
)

// FuzzFanout runs the AF_PACKET fanout program on any frame: the VM never fails (a load past
// the end returns 0), and a frame with its addresses swapped goes to the same worker, for
// untagged IPv4 and IPv6 frames that are no ICMP error (those hash what they quote).
func FuzzFanout(f *testing.F) {
	ip4 := append(bytes.Repeat([]byte{0}, 12), 0x08, 0x00, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 203, 0, 113, 9)
	f.Add(ip4)
	ip6 := append(bytes.Repeat([]byte{0}, 12), 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 17, 64)
	ip6 = append(ip6, bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 8)...)
	f.Add(ip6)
	f.Add(append(bytes.Repeat([]byte{0}, 12), 0x81, 0x00, 0, 10, 0x08, 0x00, 0x45))
	vm, err := bpf.NewVM(fanoutProgram(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		v, err := vm.Run(frame)
		if err != nil {
			t.Fatalf("fanout program: %v", err)
		}
		if len(frame) < 14 {
			if v != 0 {
				t.Fatalf("%d-byte frame to worker %d", len(frame), v)
			}
			return
		}
		sw := bytes.Clone(frame)
		switch {
		case frame[12] == 0x08 && frame[13] == 0x00 && len(frame) >= 34 && frame[23] != 1:
			copy(sw[26:30], frame[30:34])
			copy(sw[30:34], frame[26:30])
		case frame[12] == 0x86 && frame[13] == 0xdd && len(frame) >= 54 && frame[20] != 58:
			copy(sw[22:38], frame[38:54])
			copy(sw[38:54], frame[22:38])
		default:
			return
		}
		if w, _ := vm.Run(sw); w != v {
			t.Fatalf("worker %d, %d with the addresses swapped", v, w)
		}
	})
}
