package source

import (
	"fmt"
	"testing"

	"golang.org/x/net/bpf"
)

func runFanout(t *testing.T, vm *bpf.VM, frame []byte) uint32 {
	t.Helper()
	v, err := vm.Run(frame)
	if err != nil {
		t.Fatalf("fanout program: %v", err)
	}
	return uint32(v)
}

func TestFanoutProgram(t *testing.T) {
	prog := fanoutProgram(0)
	if _, err := bpf.Assemble(prog); err != nil {
		t.Fatalf("assemble: %v", err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatalf("the program is not valid classic BPF: %v", err)
	}
	if len(prog) > 4096 { // BPF_MAXINSNS
		t.Fatalf("program has %d instructions", len(prog))
	}

	c, s := v4("192.0.2.10"), v4("198.51.100.77")
	tcp := ip4{src: c, dst: s, proto: 6, id: 1}.packet(l4(6, 40000, 445, 1000, 100))
	tcpBack := ip4{src: s, dst: c, proto: 6, id: 9}.packet(l4(6, 445, 40000, 5000, 10))
	udpOpts := ip4{src: s, dst: c, proto: 17, optionWords: 3}.packet(l4(17, 53, 40001, 0, 30))
	frag1 := ip4{src: c, dst: s, proto: 17, id: 7, more: true}.packet(l4(17, 40002, 135, 0, 64))
	frag2 := ip4{src: c, dst: s, proto: 17, id: 7, fragOff: 9}.packet(make([]byte, 40))
	// A later fragment of an ICMP echo: its payload bytes look like a port unreachable, but
	// there is no ICMP header in it.
	icmpFrag := ip4{src: c, dst: s, proto: 1, id: 8, fragOff: 3}.packet(icmpError(3, 3, ip4{src: v4("10.9.9.9"), dst: v4("10.8.8.8"), proto: 6}.packet(nil)))
	// A router on the path reports the client's segment unreachable; the error travels to c.
	router := v4("203.0.113.1")
	unreach := ip4{src: router, dst: c, proto: 1}.packet(icmpError(3, 4, tcp[:28]))
	unreachOpts := ip4{src: router, dst: c, proto: 1, optionWords: 2}.packet(icmpError(11, 0, tcp[:28]))
	echo := ip4{src: router, dst: c, proto: 1}.packet(icmpError(8, 0, tcp[:28])) // echo request: not an error

	c6, s6 := v6("2001:db8:1::10"), v6("2001:db8:2::77")
	tcp6 := ip6(c6, s6, 6, l4(6, 40000, 445, 1, 50))
	tcp6Back := ip6(s6, c6, 6, l4(6, 445, 40000, 2, 0))
	frag6 := ip6(c6, s6, 44, make([]byte, 48)) // fragment header, no ports
	tooBig := ip6(v6("2001:db8:ff::1"), c6, 58, icmpError(2, 0, tcp6[:48]))
	echo6 := ip6(v6("2001:db8:ff::1"), c6, 58, icmpError(128, 0, tcp6[:48]))

	flow := runFanout(t, vm, ether(0x0800, tcp))
	flow6 := runFanout(t, vm, ether(0x86dd, tcp6))
	same := []struct {
		name  string
		frame []byte
		want  uint32
	}{
		{"reverse direction", ether(0x0800, tcpBack), flow},
		{"802.1Q tag left in the frame", tagged(ether(0x0800, tcp), 0x8100, 100), flow},
		{"802.1ad tag left in the frame", tagged(ether(0x0800, tcpBack), 0x88a8, 200), flow},
		{"ICMP unreachable quoting the flow", ether(0x0800, unreach), flow},
		{"ICMP time exceeded, IPv4 options", ether(0x0800, unreachOpts), flow},
		{"ICMP error, tagged", tagged(ether(0x0800, unreach), 0x8100, 7), flow},
		{"first fragment", ether(0x0800, frag1), flow},
		{"later fragment", ether(0x0800, frag2), flow},
		{"IPv4 options", ether(0x0800, udpOpts), flow},
		{"IPv6 reverse direction", ether(0x86dd, tcp6Back), flow6},
		{"IPv6 fragment", ether(0x86dd, frag6), flow6},
		{"IPv6 tagged", tagged(ether(0x86dd, tcp6Back), 0x8100, 3), flow6},
		{"ICMPv6 packet too big quoting the flow", ether(0x86dd, tooBig), flow6},
		{"ICMPv6 error, tagged", tagged(ether(0x86dd, tooBig), 0x88a8, 3), flow6},
	}
	for _, tc := range same {
		if got := runFanout(t, vm, tc.frame); got != tc.want {
			t.Errorf("%s: %#x, want the flow's %#x", tc.name, got, tc.want)
		}
	}
	if flow == 0 || flow6 == 0 {
		t.Errorf("flow values %#x, %#x: a test flow should not hash to 0", flow, flow6)
	}

	// Frames that are not the flow's: their own host pair, or worker 0.
	router4 := runFanout(t, vm, ether(0x0800, ip4{src: router, dst: c, proto: 17}.packet(l4(17, 1, 2, 0, 0))))
	if got := runFanout(t, vm, ether(0x0800, echo)); got != router4 {
		t.Errorf("ICMP echo: %#x, want its own host pair's %#x", got, router4)
	}
	if got, want := runFanout(t, vm, ether(0x0800, icmpFrag)), runFanout(t, vm, ether(0x0800, frag2)); got != want {
		t.Errorf("later fragment of an ICMP packet: %#x, want its host pair's %#x", got, want)
	}
	// The first fragment of a fragmented ICMP error holds a quote, but its later fragments do
	// not: all of them must reach one worker to be reassembled, so none hashes the quote.
	unreachFrag := ip4{src: router, dst: c, proto: 1, id: 9, more: true}.packet(icmpError(3, 4, tcp[:28]))
	if got := runFanout(t, vm, ether(0x0800, unreachFrag)); got != router4 {
		t.Errorf("first fragment of an ICMP error: %#x, want its own host pair's %#x", got, router4)
	}
	router6 := runFanout(t, vm, ether(0x86dd, ip6(v6("2001:db8:ff::1"), c6, 17, l4(17, 1, 2, 0, 0))))
	if got := runFanout(t, vm, ether(0x86dd, echo6)); got != router6 {
		t.Errorf("ICMPv6 echo: %#x, want its own host pair's %#x", got, router6)
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"ARP", ether(0x0806, make([]byte, 28))},
		{"tagged ARP", tagged(ether(0x0806, make([]byte, 28)), 0x8100, 1)},
		{"two tags left", tagged(tagged(ether(0x0800, tcp), 0x8100, 1), 0x88a8, 2)},
		{"empty", nil},
		{"MAC addresses only", ether(0x0800, nil)[:12]},
		{"IPv4 header cut short", ether(0x0800, tcp[:15])},
		{"IPv6 header cut short", ether(0x86dd, tcp6[:30])},
		{"ICMP error cut before the quote", ether(0x0800, unreach[:30])},
		{"ICMPv6 error cut in the quote", ether(0x86dd, tooBig[:70])},
	} {
		if got := runFanout(t, vm, tc.frame); got != 0 {
			t.Errorf("%s: %#x, want 0", tc.name, got)
		}
	}

	// Different host pairs spread over two and over three workers.
	for _, n := range []uint32{2, 3} {
		seen := map[uint32]bool{}
		for i := range 32 {
			a := v4(fmt.Sprintf("10.0.%d.%d", i, 2*i+1))
			p := ip4{src: a, dst: s, proto: 6}.packet(l4(6, 1234, 80, 0, 0))
			seen[runFanout(t, vm, ether(0x0800, p))%n] = true
		}
		if len(seen) != int(n) {
			t.Errorf("32 host pairs reach %d of %d workers", len(seen), n)
		}
	}
}
