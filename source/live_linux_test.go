//go:build linux

package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/ids-sensor/ids/capture"
)

// The live tests capture on one end of a veth pair (cap0) and inject frames with a raw packet
// socket on the other (inj0), both inside a network namespace of their own: the links have no
// addresses and IPv6 is off, so the kernel sends nothing of its own on them. The test enters
// the namespace only on a locked OS thread while it opens sockets; sockets stay in the
// namespace they were created in.

func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("live capture tests need root (network namespaces, veth, raw sockets), and CI runs as root")
	}
	t.Skip("live capture tests need root (network namespaces, veth, raw sockets): run go test as root")
}

var netnsSeq atomic.Int32

type testNet struct{ name string }

func newTestNet(t testing.TB) *testNet {
	requireRoot(t)
	n := &testNet{name: fmt.Sprintf("ids-src-test-%d-%d", os.Getpid(), netnsSeq.Add(1))}
	run(t, "ip", "netns", "add", n.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	// IPv6 off before the links exist: no router solicitations, no DAD probes.
	run(t, "ip", "netns", "exec", n.name, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1", "net.ipv6.conf.all.disable_ipv6=1")
	run(t, "ip", "-n", n.name, "link", "add", "cap0", "mtu", "9000", "type", "veth", "peer", "name", "inj0", "mtu", "9000")
	run(t, "ip", "-n", n.name, "link", "set", "cap0", "up")
	run(t, "ip", "-n", n.name, "link", "set", "inj0", "up")
	return n
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// do runs f on this goroutine's OS thread, moved into the namespace for the time of f.
func (n *testNet) do(t testing.TB, f func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer orig.Close()
	target, err := os.Open("/var/run/netns/" + n.name)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("setns %s: %v", n.name, err)
	}
	defer func() {
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// Stay locked: the runtime then ends the thread with the goroutine instead of
			// reusing it in the wrong namespace.
			t.Errorf("setns back: %v", err)
			return
		}
		runtime.UnlockOSThread()
	}()
	f()
}

// open opens sources on cap0 in the namespace, closed at the end of the test.
func (n *testNet) open(t testing.TB, cfg Config) []Source {
	t.Helper()
	cfg.Interface = "cap0"
	var srcs []Source
	var err error
	n.do(t, func() { srcs, err = Open(cfg) })
	if err != nil {
		t.Fatalf("Open(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		for _, s := range srcs {
			s.Close()
		}
	})
	return srcs
}

type injector struct {
	fd      int
	ifindex int
}

func (n *testNet) injector(t testing.TB) *injector {
	t.Helper()
	in := &injector{fd: -1}
	var err error
	n.do(t, func() {
		// Protocol 0: the injector receives nothing.
		if in.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			return
		}
		var ifi *net.Interface
		if ifi, err = net.InterfaceByName("inj0"); err == nil {
			in.ifindex = ifi.Index
		}
	})
	if in.fd >= 0 {
		t.Cleanup(func() { unix.Close(in.fd) })
	}
	if err != nil {
		t.Fatalf("injector: %v", err)
	}
	return in
}

func (in *injector) send(t testing.TB, frames ...[]byte) {
	t.Helper()
	for _, f := range frames {
		sa := &unix.SockaddrLinklayer{Ifindex: in.ifindex, Protocol: htons(binary.BigEndian.Uint16(f[12:]))}
		if err := unix.Sendto(in.fd, f, 0, sa); err != nil {
			t.Fatalf("inject %d bytes: %v", len(f), err)
		}
	}
}

// flood sends frame(0), frame(1), ... as fast as it can from another goroutine until the
// returned stop is called (stop waits for it). Send errors (a full queue) are ignored: a flood
// only has to keep the link busy.
func (in *injector) flood(frame func(i int) []byte) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		sa := &unix.SockaddrLinklayer{Ifindex: in.ifindex}
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			default:
			}
			unix.Sendto(in.fd, frame(i), 0, sa)
		}
	}()
	return func() { close(quit); <-done }
}

type got struct {
	data []byte
	info capture.Info
}

// read reads n packets, or fails once nothing arrives for a second. It holds on to each
// packet's bytes as returned, as engine.Push does until a timeout, and checks that the
// following Next left them intact (Source.Next's contract).
func read(t testing.TB, s Source, n int) []got {
	t.Helper()
	var out []got
	var held []byte
	idle := time.Now()
	for len(out) < n {
		data, info, err := s.Next()
		if k := len(out); held != nil && !bytes.Equal(held, out[k-1].data) {
			t.Fatalf("packet %d changed during the Next after it", k-1)
		}
		switch {
		case err == nil:
			out = append(out, got{bytes.Clone(data), info})
			held = data
			idle = time.Now()
		case errors.Is(err, ErrTimeout):
			held = nil // after an error the caller holds nothing (the sensor drains)
			if time.Since(idle) > time.Second {
				t.Fatalf("read %d packets of %d, then nothing for a second", len(out), n)
			}
		default:
			t.Fatalf("Next after %d packets: %v", len(out), err)
		}
	}
	return out
}

// drain reads until Next times out.
func drain(t testing.TB, s Source) []got {
	t.Helper()
	var out []got
	for {
		data, info, err := s.Next()
		switch {
		case err == nil:
			out = append(out, got{bytes.Clone(data), info})
		case errors.Is(err, ErrTimeout):
			return out
		default:
			t.Fatalf("Next after %d packets: %v", len(out), err)
		}
	}
}

func expectTimeout(t testing.TB, s Source) {
	t.Helper()
	if data, _, err := s.Next(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Next: % x, %v; want ErrTimeout (nothing more was sent)", data, err)
	}
}

var backends = []string{BackendAFPacket, BackendPcap}

func liveConfig(backend string) Config {
	cfg := Config{Backend: backend, Poll: 50 * time.Millisecond}
	if backend == BackendAFPacket {
		cfg.Buffer = 8 << 20
	}
	return cfg
}

// udpFrame is frame i of a test stream: UDP, its number in the payload, size bytes in all.
func udpFrame(i, size int) []byte {
	p := ip4{src: v4("192.0.2.1"), dst: v4("192.0.2.2"), proto: 17, id: uint16(i)}.packet(l4(17, 5000, 6000, 0, size-14-20-8))
	binary.BigEndian.PutUint32(p[28:], uint32(i))
	return ether(0x0800, p)
}

func TestLiveRoundTrip(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			src := n.open(t, liveConfig(backend))[0]
			in := n.injector(t)
			var frames [][]byte
			for i := range 300 {
				size := 60 + (i*37)%1455
				switch i {
				case 100:
					size = 9014 // a jumbo frame
				case 200:
					size = 1514
				}
				frames = append(frames, udpFrame(i, size))
			}
			before := time.Now().UnixNano()
			in.send(t, frames...)
			after := time.Now().UnixNano()

			pkts := read(t, src, len(frames))
			prev := int64(0)
			for i, p := range pkts {
				if !bytes.Equal(p.data, frames[i]) {
					t.Fatalf("packet %d: % x\nwant % x", i, p.data, frames[i])
				}
				if p.info.CapLen != len(frames[i]) || p.info.WireLen != len(frames[i]) || p.info.LinkType != layers.LinkTypeEthernet {
					t.Errorf("packet %d: info %+v, want %d bytes of Ethernet", i, p.info, len(frames[i]))
				}
				if ts := p.info.Timestamp; ts < before-int64(time.Millisecond) || ts > after+int64(time.Millisecond) || ts < prev {
					t.Errorf("packet %d: timestamp %d outside [%d, %d] or before the previous packet's %d", i, ts, before, after, prev)
				}
				prev = p.info.Timestamp
			}
			expectTimeout(t, src)
			st, err := src.Stats()
			if err != nil {
				t.Fatal(err)
			}
			if st.Received != uint64(len(frames)) || st.Dropped != 0 {
				t.Errorf("Stats %+v, want %d received and none dropped", st, len(frames))
			}
			// AF_PACKET's counters reset on every read: Stats must keep the sums.
			if st2, _ := src.Stats(); st2 != st {
				t.Errorf("second Stats %+v, want %+v", st2, st)
			}
		})
	}
}

func TestLiveFilter(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			cfg := liveConfig(backend)
			cfg.Filter = "udp"
			src := n.open(t, cfg)[0]
			in := n.injector(t)
			var want [][]byte
			for i := range 40 {
				if i%2 == 0 {
					f := udpFrame(i, 100)
					want = append(want, f)
					in.send(t, f)
				} else {
					in.send(t, ether(0x0800, ip4{src: v4("192.0.2.1"), dst: v4("192.0.2.2"), proto: 6}.packet(l4(6, 1, 2, uint32(i), 20))))
				}
			}
			for i, p := range read(t, src, len(want)) {
				if !bytes.Equal(p.data, want[i]) {
					t.Fatalf("packet %d: % x\nwant % x", i, p.data, want[i])
				}
			}
			expectTimeout(t, src)
		})
	}
}

// TestLiveHoldsPreviousPacket reads under a continuous stream of distinct frames into a ring of
// two blocks, which the kernel refills as soon as it gets one back: the packet before the
// latest must still hold the bytes it was returned with (AF_PACKET returns a block one Next
// after the block's last packet; libpcap's copies alternate between two buffers).
func TestLiveHoldsPreviousPacket(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			cfg := liveConfig(backend)
			cfg.Poll = 5 * time.Millisecond
			if backend == BackendAFPacket {
				cfg.Buffer = 2 * ringBlockSize
			}
			src := n.open(t, cfg)[0]
			stop := n.injector(t).flood(func(i int) []byte { return udpFrame(i, 60+i%1400) })
			defer stop()
			var held, want []byte
			blocks := 0
			for got := 0; got < 50_000; {
				data, _, err := src.Next()
				if held != nil && !bytes.Equal(held, want) {
					t.Fatalf("after %d packets: the previous packet changed during the Next after it", got)
				}
				if errors.Is(err, ErrTimeout) {
					held = nil // after an error the caller holds nothing (the sensor drains)
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if a, ok := src.(*afpacketSource); ok && got > 0 && a.left == a.blockHeader(a.block).Num_pkts-1 {
					blocks++ // this packet opened a block: the previous one ended the block before
				}
				held, want = data, append(want[:0], data...)
				got++
			}
			if backend == BackendAFPacket && blocks == 0 {
				t.Error("no block boundary was crossed: the test checked nothing AF_PACKET-specific")
			}
			t.Logf("%s: 50000 packets checked (AF_PACKET: %d first packets of a block)", backend, blocks)
		})
	}
}

// TestLiveIdleDoesNotSpin reads a burst, then keeps calling Next on an idle link: Next must
// sleep in poll, not spin (with a block held for the caller, AF_PACKET's poll reports the ring
// readable at once, for ever). The bound is on this thread's CPU time, which a busy machine
// does not inflate: a spinning Next uses all of the wall time, a sleeping one almost none.
func TestLiveIdleDoesNotSpin(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			cfg := liveConfig(backend)
			src := n.open(t, cfg)[0]
			in := n.injector(t)
			var frames [][]byte
			for i := range 50 {
				frames = append(frames, udpFrame(i, 100))
			}
			in.send(t, frames...)
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			read(t, src, len(frames))
			idle := 6 * cfg.Poll
			cpu0, end := threadCPU(t), time.Now().Add(idle)
			for time.Now().Before(end) {
				if _, _, err := src.Next(); err != nil && !errors.Is(err, ErrTimeout) {
					t.Fatal(err)
				}
			}
			if cpu := threadCPU(t) - cpu0; cpu > idle/4 {
				t.Errorf("Next used %v of CPU in %v of idle link: it spins", cpu, idle)
			}
		})
	}
}

func threadCPU(t *testing.T) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

func TestLiveVLAN(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			src := n.open(t, liveConfig(backend))[0]
			in := n.injector(t)
			frames := [][]byte{
				tagged(udpFrame(1, 100), 0x8100, 100),
				tagged(tagged(udpFrame(2, 120), 0x8100, 7), 0x88a8, 300), // QinQ: the kernel strips the 802.1ad tag
				tagged(udpFrame(3, 64), 0x8100, 0x6000),                  // priority only, VLAN 0
				udpFrame(4, 80),                                          // untagged in between
				tagged(udpFrame(5, 1518), 0x8100, 4094),
			}
			in.send(t, frames...)
			for i, p := range read(t, src, len(frames)) {
				if !bytes.Equal(p.data, frames[i]) {
					t.Errorf("frame %d: % x\nwant % x", i, p.data, frames[i])
				}
				if p.info.CapLen != len(frames[i]) || p.info.WireLen != len(frames[i]) {
					t.Errorf("frame %d: CapLen %d WireLen %d, want %d", i, p.info.CapLen, p.info.WireLen, len(frames[i]))
				}
			}
		})
	}
}

// TestLiveFilterFromTheStart opens sources while unwanted traffic flows: not one packet may
// slip in before the filter is in place.
func TestLiveFilterFromTheStart(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			in := n.injector(t)
			stop, stopped := make(chan struct{}), make(chan struct{})
			go func() {
				defer close(stopped)
				tcp := ether(0x0800, ip4{src: v4("192.0.2.1"), dst: v4("192.0.2.2"), proto: 6}.packet(l4(6, 1, 2, 3, 20)))
				sa := &unix.SockaddrLinklayer{Ifindex: in.ifindex}
				for {
					select {
					case <-stop:
						return
					default:
						unix.Sendto(in.fd, tcp, 0, sa)
					}
				}
			}()
			time.Sleep(20 * time.Millisecond)
			cfg := liveConfig(backend)
			cfg.Filter = "udp"
			cfg.Workers = 1
			if backend == BackendAFPacket {
				cfg.Workers = 2 // the fanout join happens under the drop-all filter too
			}
			srcs := n.open(t, cfg)
			time.Sleep(20 * time.Millisecond)
			close(stop)
			<-stopped
			in.send(t, udpFrame(1, 100))
			var pkts []got
			for _, s := range srcs {
				pkts = append(pkts, drain(t, s)...)
			}
			if len(pkts) != 1 || !bytes.Equal(pkts[0].data, udpFrame(1, 100)) {
				t.Errorf("read %d packets, want just the UDP one", len(pkts))
			}
		})
	}
}

// TestOpenFailureClosesAll fails Open on its last step, the fanout join, and checks that it
// leaves no descriptor open.
func TestOpenFailureClosesAll(t *testing.T) {
	n := newTestNet(t)
	fds := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(ents)
	}
	// A group of another type holds the id.
	var other int
	var err error
	n.do(t, func() {
		if other, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
			return
		}
		var ifi *net.Interface
		if ifi, err = net.InterfaceByName("cap0"); err != nil {
			return
		}
		if err = unix.Bind(other, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			return
		}
		err = unix.SetsockoptInt(other, unix.SOL_PACKET, unix.PACKET_FANOUT, 4242|unix.PACKET_FANOUT_LB<<16)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(other)
	cfg := Config{Interface: "cap0", Backend: BackendAFPacket, Workers: 3, FanoutID: 4242, Buffer: 2 << 20}
	n.do(t, func() { Open(cfg) }) // warm up whatever the runtime opens once
	before := fds()
	n.do(t, func() { _, err = Open(cfg) })
	if err == nil || !strings.Contains(err.Error(), "joining fanout group 4242") {
		t.Fatalf("Open: %v, want a fanout join error", err)
	}
	t.Log(err)
	if after := fds(); after != before {
		t.Errorf("%d descriptors open after the failed Open, %d before", after, before)
	}
}

// flowKey names the host pair a frame belongs to, for an ICMP error the one it quotes.
func flowKey(t testing.TB, f []byte) string {
	t.Helper()
	l3 := 14
	if et := binary.BigEndian.Uint16(f[12:]); et == 0x8100 || et == 0x88a8 {
		l3 = 18
	}
	pair := func(a, b []byte) string {
		x, y := net.IP(a).String(), net.IP(b).String()
		if x > y {
			x, y = y, x
		}
		return x + " " + y
	}
	switch binary.BigEndian.Uint16(f[l3-2:]) {
	case 0x0800:
		ip := f[l3:]
		ihl := int(ip[0]&0xf) * 4
		if ip[9] == 1 && ip[ihl] == 3 {
			q := ip[ihl+8:]
			return pair(q[12:16], q[16:20])
		}
		return pair(ip[12:16], ip[16:20])
	case 0x86dd:
		ip := f[l3:]
		if ip[6] == 58 && ip[40] == 2 {
			q := ip[48:]
			return pair(q[8:24], q[24:40])
		}
		return pair(ip[8:24], ip[24:40])
	}
	t.Fatalf("unexpected frame % x", f)
	return ""
}

func TestLiveFanout(t *testing.T) {
	n := newTestNet(t)
	cfg := liveConfig(BackendAFPacket)
	cfg.Workers = 2
	srcs := n.open(t, cfg)
	in := n.injector(t)

	server, router := v4("198.51.100.80"), v4("203.0.113.1")
	var frames [][]byte
	for i := range 16 {
		c := v4(fmt.Sprintf("10.%d.%d.%d", i, 3*i, 7*i+1))
		out := ip4{src: c, dst: server, proto: 6}.packet(l4(6, uint16(40000+i), 445, 1000, 10))
		back := ip4{src: server, dst: c, proto: 6}.packet(l4(6, 445, uint16(40000+i), 9000, 0))
		frag := ip4{src: c, dst: server, proto: 17, id: 5, fragOff: 100}.packet(make([]byte, 32))
		unreach := ip4{src: router, dst: c, proto: 1}.packet(icmpError(3, 4, out[:28]))
		frames = append(frames, ether(0x0800, out), ether(0x0800, back), ether(0x0800, frag), ether(0x0800, unreach))
		if i%4 == 0 {
			frames = append(frames, tagged(ether(0x0800, back), 0x8100, 10)) // tagged: fanout sees it stripped
		}
		c6, s6 := v6(fmt.Sprintf("2001:db8:%x::%x", i, i+1)), v6("2001:db8:ffff::80")
		out6 := ip6(c6, s6, 6, l4(6, 40000, 445, 1, 0))
		frames = append(frames, ether(0x86dd, out6), ether(0x86dd, ip6(s6, c6, 6, l4(6, 445, 40000, 2, 0))),
			ether(0x86dd, ip6(v6("2001:db8:eeee::1"), c6, 58, icmpError(2, 0, out6[:48]))))
	}
	in.send(t, frames...)

	owner := map[string]int{}
	total := 0
	for w, s := range srcs {
		pkts := drain(t, s)
		if len(pkts) == 0 {
			t.Errorf("worker %d received nothing", w)
		}
		total += len(pkts)
		for _, p := range pkts {
			k := flowKey(t, p.data)
			if o, ok := owner[k]; ok && o != w {
				t.Errorf("host pair %s on workers %d and %d", k, o, w)
			}
			owner[k] = w
		}
	}
	if total != len(frames) {
		t.Errorf("received %d frames of %d", total, len(frames))
	}
	if len(owner) != 32 {
		t.Errorf("%d host pairs seen, want 32", len(owner))
	}
}

func TestLiveNextAllocs(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			src := n.open(t, liveConfig(backend))[0]
			in := n.injector(t)
			const runs = 400
			for i := range runs + 10 {
				f := udpFrame(i, 60+i%200)
				if i%3 == 0 {
					f = tagged(f, 0x8100, uint16(i%4000)) // afpacket's copy path
				}
				in.send(t, f)
			}
			failed := 0
			allocs := testing.AllocsPerRun(runs, func() {
				if _, _, err := src.Next(); err != nil {
					failed++
				}
			})
			if failed > 0 {
				t.Fatalf("%d of %d Next calls failed", failed, runs+1)
			}
			t.Logf("%s: %v allocations per Next", backend, allocs)
			if allocs != 0 {
				t.Errorf("%s: %v allocations per Next, want 0", backend, allocs)
			}
			// The timeout path must not allocate either.
			drain(t, src)
			if a := testing.AllocsPerRun(3, func() { src.Next() }); a != 0 {
				t.Errorf("%s: %v allocations per Next that times out, want 0", backend, a)
			}
		})
	}
}

func TestLiveCloseUnblocksNext(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			cfg := liveConfig(backend)
			// pcap cannot interrupt libpcap's wait: Next returns when it ends.
			cfg.Poll = 10 * time.Second
			limit := time.Second
			if backend == BackendPcap {
				cfg.Poll, limit = 300*time.Millisecond, time.Second
			}
			src := n.open(t, cfg)[0]
			done := make(chan error, 1)
			go func() {
				for {
					_, _, err := src.Next()
					if !errors.Is(err, ErrTimeout) {
						done <- err
						return
					}
				}
			}()
			time.Sleep(100 * time.Millisecond)
			start := time.Now()
			if err := src.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("blocked Next returned %v, want ErrClosed", err)
				}
				t.Logf("%s: Next returned %v after Close", backend, time.Since(start))
			case <-time.After(limit):
				t.Fatalf("Next still blocked %v after Close", limit)
			}
			if _, _, err := src.Next(); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after Close: %v", err)
			}
			if _, err := src.Stats(); err != nil {
				t.Errorf("Stats after Close: %v", err)
			}
			if err := src.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
		})
	}
}

// TestLiveCloseUnderLoad closes a source from another goroutine while the worker is reading
// and touching packets: no crash, no race (run with -race), the worker ends with ErrClosed.
func TestLiveCloseUnderLoad(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			n := newTestNet(t)
			cfg := liveConfig(backend)
			cfg.Poll = 5 * time.Millisecond
			src := n.open(t, cfg)[0]
			stop := n.injector(t).flood(func(i int) []byte {
				if i%2 == 0 {
					return tagged(udpFrame(i, 200), 0x8100, 5)
				}
				return udpFrame(i, 200)
			})
			defer stop()
			done := make(chan error, 1)
			var read int
			go func() {
				sum := 0
				for {
					data, _, err := src.Next()
					if err != nil && !errors.Is(err, ErrTimeout) {
						done <- err
						return
					}
					for _, b := range data {
						sum += int(b)
					}
					src.Stats()
					read++
				}
			}()
			time.Sleep(200 * time.Millisecond)
			src.Close()
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Errorf("worker ended with %v, want ErrClosed", err)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("worker still running 2s after Close")
			}
			t.Logf("%s: read %d packets before Close", backend, read)
		})
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Backend: BackendPcap}, "-i (the interface to capture on) is required"},
		{Config{Interface: "lo", Backend: "dpdk"}, `unknown --backend "dpdk" (want pcap or afpacket)`},
		{Config{Interface: "lo"}, `unknown --backend ""`},
		{Config{Interface: "lo", Backend: BackendPcap, Workers: 4}, "--workers 4 needs --backend afpacket (libpcap gives one reader)"},
		{Config{Interface: "lo", Backend: BackendAFPacket, Workers: 1000}, "--workers 1000 out of range 1..256"},
		{Config{Interface: "lo", Backend: BackendAFPacket, Buffer: 1 << 20}, "--buffer-mb: 1048576 bytes is too small for an afpacket ring (at least 2 MiB per worker)"},
		{Config{Interface: "lo", Backend: BackendPcap, Snaplen: -1}, "--snaplen -1 out of range"},
		{Config{Interface: "ids-no-such0", Backend: BackendAFPacket}, `-i: no such network interface "ids-no-such0"`},
		{Config{Interface: "ids-no-such0", Backend: BackendPcap}, `-i: no such network interface "ids-no-such0"`},
		// Compiled before any socket is opened: no root needed.
		{Config{Interface: "lo", Backend: BackendAFPacket, Filter: "udp port"}, `-f "udp port": `},
	}
	for _, tc := range cases {
		srcs, err := Open(tc.cfg)
		if err == nil {
			for _, s := range srcs {
				s.Close()
			}
			t.Errorf("Open(%+v) succeeded, want %q", tc.cfg, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v): %v\nwant it to say %q", tc.cfg, err, tc.want)
		}
	}

	requireRoot(t)
	n := newTestNet(t)
	for _, backend := range backends {
		cfg := liveConfig(backend)
		cfg.Interface, cfg.Filter = "cap0", "tcp and nonsense"
		var err error
		n.do(t, func() { _, err = Open(cfg) })
		if err == nil || !strings.Contains(err.Error(), `-f "tcp and nonsense": `) || len(err.Error()) < len(`source: -f "tcp and nonsense": x`) {
			t.Errorf("%s with a bad filter: %v", backend, err)
		} else {
			t.Logf("%s: %v", backend, err)
		}
	}
	// Interfaces that are not Ethernet: AF_PACKET refuses them by name.
	run(t, "ip", "-n", n.name, "tuntap", "add", "dev", "tun0", "mode", "tun")
	var err error
	n.do(t, func() { _, err = Open(Config{Interface: "tun0", Backend: BackendAFPacket}) })
	if err == nil || !strings.Contains(err.Error(), `-i tun0: link type ARPHRD 65534 is not Ethernet`) {
		t.Errorf("afpacket on a tun device: %v", err)
	}
}

// BenchmarkAFPacketNext measures Next over a ring filled beforehand.
func BenchmarkAFPacketNext(b *testing.B) {
	n := newTestNet(b)
	cfg := liveConfig(BackendAFPacket)
	cfg.Buffer = 32 << 20
	src := n.open(b, cfg)[0]
	in := n.injector(b)
	frame := udpFrame(1, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; {
		chunk := min(left, 20000)
		b.StopTimer()
		for range chunk {
			in.send(b, frame)
		}
		time.Sleep(2 * cfg.Poll) // every block retired: measure the ring walk, not the block timeout
		b.StartTimer()
		for i := 0; i < chunk; {
			if _, _, err := src.Next(); err == nil {
				i++
			} else if !errors.Is(err, ErrTimeout) {
				b.Fatal(err)
			}
		}
		left -= chunk
	}
}
