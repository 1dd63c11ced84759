package source

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// The AF_PACKET fanout program: a classic BPF program the kernel runs on every packet to pick
// the worker (its return value modulo the number of workers). It hashes the host pair
// symmetrically, so both directions of a connection, all its IP fragments and the ICMP errors
// quoting it land on the same worker:
//
//   - IPv4: src ^ dst. IPv6: the XOR of all eight 32-bit words of both addresses.
//   - An unfragmented ICMPv4 error (types 3, 4, 5, 11, 12) or an ICMPv6 error (types 1-4,
//     ICMPv6 right after the fixed header) hashes the addresses of the IP header it quotes:
//     a detector judges the quoted sequence number against the connection's state, which
//     lives on the connection's worker. A fragmented ICMP error hashes its own host pair like
//     any fragment (a later fragment holds no quote, and all of them must meet to reassemble);
//     its message is still inspected, without the connection's state.
//   - One 802.1Q/802.1ad tag may remain in the frame (the kernel strips the outer tag before
//     fanout, so this is the inner tag of QinQ); deeper stacks and non-IP frames return 0.
//   - Loads past the end of a short frame end the program with 0 (worker 0), in the kernel as
//     in golang.org/x/net/bpf's VM.
//
// Ports are left out on purpose: a non-first fragment carries none, and the kernel's own
// flow hash (PACKET_FANOUT_HASH) either sends such fragments elsewhere than their flow or,
// with PACKET_FANOUT_FLAG_DEFRAG, reassembles them so that overlapping fragments are never
// seen. The final fold (A ^= A>>16; A ^= A>>8) mixes every address byte into the low bits
// that a small modulus keeps.
//
// base is added to every packet offset. The kernel runs fanout programs on received packets
// with its data pointer at the network header (it pushes the link-layer header back only
// later, per socket), so there the program addresses the frame through SKF_LL_OFF, which
// counts from the link-layer header; tests run the same program with base 0 in the VM.
func fanoutProgram(base uint32) []bpf.Instruction {
	var a asm
	a.ins(bpf.LoadAbsolute{Off: base + 12, Size: 2})
	a.jeq(0x8100, "vlan", "")
	a.jeq(0x88a8, "vlan", "")
	a.jeq(0x0800, "ip4@14", "")
	a.jeq(0x86dd, "ip6@14", "")
	a.ins(bpf.RetConstant{Val: 0})

	a.label("vlan")
	a.ins(bpf.LoadAbsolute{Off: base + 16, Size: 2})
	a.jeq(0x0800, "ip4@18", "")
	a.jeq(0x86dd, "ip6@18", "")
	a.ins(bpf.RetConstant{Val: 0})

	for _, l3 := range []uint32{14, 18} {
		ip := base + l3
		suffix := fmt.Sprintf("@%d", l3)

		a.label("ip4" + suffix)
		a.ins(bpf.LoadAbsolute{Off: ip + 9, Size: 1}) // protocol
		a.jeq(1, "", "pair4"+suffix)
		a.ins(bpf.LoadAbsolute{Off: ip + 6, Size: 2}) // MF or an offset: all fragments must go where the first goes
		a.jump(bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff}, "pair4"+suffix, "")
		a.ins(bpf.LoadMemShift{Off: ip})              // X = IHL*4
		a.ins(bpf.LoadIndirect{Off: ip, Size: 1})     // ICMP type
		for _, t := range []uint32{3, 4, 5, 11, 12} { // unreachable, source quench, redirect, time exceeded, parameter problem
			a.jeq(t, "quote4"+suffix, "")
		}
		a.goTo("pair4" + suffix)
		a.label("quote4" + suffix) // quoted IPv4 header after the 8-byte ICMP header
		a.ins(bpf.LoadIndirect{Off: ip + 8 + 12, Size: 4})
		a.ins(bpf.StoreScratch{Src: bpf.RegA, N: 0})
		a.ins(bpf.LoadIndirect{Off: ip + 8 + 16, Size: 4})
		a.xorScratch()
		a.goTo("fold")
		a.label("pair4" + suffix)
		a.ins(bpf.LoadAbsolute{Off: ip + 12, Size: 4})
		a.ins(bpf.StoreScratch{Src: bpf.RegA, N: 0})
		a.ins(bpf.LoadAbsolute{Off: ip + 16, Size: 4})
		a.xorScratch()
		a.goTo("fold")

		a.label("ip6" + suffix)
		a.ins(bpf.LoadAbsolute{Off: ip + 6, Size: 1}) // next header
		a.jeq(58, "", "pair6"+suffix)
		a.ins(bpf.LoadAbsolute{Off: ip + 40, Size: 1}) // ICMPv6 type
		a.jeq(0, "pair6"+suffix, "")
		a.jump(bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: 4}, "pair6"+suffix, "")
		a.xorWords(ip+40+8+8, 8) // quoted IPv6 header's addresses
		a.goTo("fold")
		a.label("pair6" + suffix)
		a.xorWords(ip+8, 8)
		a.goTo("fold")
	}

	a.label("fold")
	for _, shift := range []uint32{16, 8} {
		a.ins(bpf.StoreScratch{Src: bpf.RegA, N: 0})
		a.ins(bpf.ALUOpConstant{Op: bpf.ALUOpShiftRight, Val: shift})
		a.xorScratch()
	}
	a.ins(bpf.RetA{})
	return a.assemble()
}

// asm is a tiny assembler with named labels, resolved into skip counts at the end.
type asm struct {
	prog   []bpf.Instruction
	labels map[string]int
	fixups []fixup
}

type fixup struct {
	at          int
	true, false string // "" falls through
}

func (a *asm) ins(i bpf.Instruction) { a.prog = append(a.prog, i) }

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	if _, dup := a.labels[name]; dup {
		panic("fanout program: duplicate label " + name)
	}
	a.labels[name] = len(a.prog)
}

func (a *asm) jump(j bpf.JumpIf, t, f string) {
	a.fixups = append(a.fixups, fixup{at: len(a.prog), true: t, false: f})
	a.ins(j)
}

func (a *asm) jeq(v uint32, t, f string) { a.jump(bpf.JumpIf{Cond: bpf.JumpEqual, Val: v}, t, f) }

func (a *asm) goTo(l string) {
	a.fixups = append(a.fixups, fixup{at: len(a.prog), true: l})
	a.ins(bpf.Jump{})
}

// xorScratch sets A ^= M[0].
func (a *asm) xorScratch() {
	a.ins(bpf.LoadScratch{Dst: bpf.RegX, N: 0})
	a.ins(bpf.ALUOpX{Op: bpf.ALUOpXor})
}

// xorWords sets A to the XOR of n 32-bit words from off.
func (a *asm) xorWords(off uint32, n int) {
	a.ins(bpf.LoadAbsolute{Off: off, Size: 4})
	for i := 1; i < n; i++ {
		a.ins(bpf.TAX{})
		a.ins(bpf.LoadAbsolute{Off: off + uint32(4*i), Size: 4})
		a.ins(bpf.ALUOpX{Op: bpf.ALUOpXor})
	}
}

func (a *asm) assemble() []bpf.Instruction {
	skip := func(from int, l string) uint32 {
		if l == "" {
			return 0
		}
		to, ok := a.labels[l]
		if !ok || to <= from || to-from-1 > 255 {
			panic(fmt.Sprintf("fanout program: bad jump from %d to %q", from, l))
		}
		return uint32(to - from - 1)
	}
	for _, f := range a.fixups {
		switch j := a.prog[f.at].(type) {
		case bpf.JumpIf:
			j.SkipTrue, j.SkipFalse = uint8(skip(f.at, f.true)), uint8(skip(f.at, f.false))
			a.prog[f.at] = j
		case bpf.Jump:
			j.Skip = skip(f.at, f.true)
			a.prog[f.at] = j
		}
	}
	return a.prog
}
