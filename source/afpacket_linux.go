//go:build linux

package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/ids-sensor/ids/capture"
)

// afpacketSource reads a TPACKET_V3 ring: the kernel fills blocks of packets, hands each to
// user space by setting TP_STATUS_USER in its header, and gets it back when we write
// TP_STATUS_KERNEL. A block is handed back only once the caller is done with its last packet
// (Source.Next's contract: engine.Push holds one packet while the next is read): at the Next
// after the one that returned a later packet, or after an ErrTimeout.
//
// Next, Stats and Close share no lock; guard decides who frees the socket and ring (see
// guard). A Close from another goroutine wakes a Next blocked in poll(2) through an eventfd in
// its poll set. When Close frees the ring while the worker may still be reading its last
// packet, the ring's pages are replaced by zero pages at the same addresses instead of being
// unmapped, so a late read sees zeros and cannot fault.
type afpacketSource struct {
	g       guard
	closeMu sync.Mutex // serialises Close calls: the eventfd must not be written after it is closed

	name    string
	fd, efd int
	ring    unsafe.Pointer
	ringLen uintptr
	nblocks int

	block   int     // the block being read or waited for
	inBlock bool    // block is ours (TP_STATUS_USER) and not yet handed back
	done    int     // a block read to its end whose last packet may still be in use; -1 for none
	doneOK  bool    // the caller is done with done's last packet: done goes back at the next Next
	left    uint32  // packets of block not yet returned
	pkt     uintptr // ring offset of the next packet's tpacket3_hdr
	poll    time.Duration
	pfd     [2]unix.PollFd // socket, eventfd
	ts      unix.Timespec  // poll timeout, kept here so that Next does not allocate
	scratch [2][]byte      // snaplen+4 bytes each, allocated once, taken in turn: frames with their VLAN tag put back
	turn    int            // the scratch buffer the next tagged frame goes to

	total counters // PACKET_STATISTICS resets on every read: the sums live here
}

// blockHeader is the offset of struct tpacket_hdr_v1 in a block, after the tpacket_block_desc
// fields version and offset_to_priv.
const blockHeader = 8

func openAFPacket(cfg Config) ([]Source, error) {
	prog, err := pcap.CompileBPFFilter(layers.LinkTypeEthernet, cfg.Snaplen, cfg.Filter)
	if err != nil {
		return nil, fmt.Errorf("source: -f %q: %v", cfg.Filter, err)
	}
	filter := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		filter[i] = unix.SockFilter{Code: in.Code, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}

	var srcs []*afpacketSource
	fail := func(err error) ([]Source, error) {
		for _, s := range srcs {
			s.release(false)
		}
		return nil, err
	}
	for range cfg.Workers {
		s, err := newAFPacket(cfg)
		if s != nil {
			srcs = append(srcs, s)
		}
		if err != nil {
			return fail(err)
		}
		if cfg.Workers > 1 {
			// Rollover stays off: it would move a flow to another worker when its own is busy.
			arg := int(cfg.FanoutID) | unix.PACKET_FANOUT_CBPF<<16
			if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_FANOUT, arg); err != nil {
				return fail(fmt.Errorf("source: afpacket %s: joining fanout group %d: %v (is another capture using that group id?)", cfg.Interface, cfg.FanoutID, err))
			}
		}
	}
	if cfg.Workers > 1 {
		// Until the program is set the kernel sends everything to worker 0, whose filter still
		// drops everything: no packet reaches a worker that does not own its flow.
		raw, err := bpf.Assemble(fanoutProgram(skfLLOff))
		if err != nil {
			return fail(fmt.Errorf("source: afpacket: fanout program: %v", err))
		}
		if err := setProgram(srcs[0].fd, unix.PACKET_FANOUT_DATA, raw); err != nil {
			return fail(fmt.Errorf("source: afpacket %s: setting the fanout program: %v", cfg.Interface, err))
		}
	}
	for _, s := range srcs {
		if err := attachFilter(s.fd, filter); err != nil {
			return fail(fmt.Errorf("source: -f %q: attaching to the socket: %v", cfg.Filter, err))
		}
	}
	out := make([]Source, len(srcs))
	for i, s := range srcs {
		out[i] = s
	}
	return out, nil
}

// skfLLOff is SKF_LL_OFF: offsets from it address the link-layer header wherever the kernel's
// data pointer stands.
const skfLLOff = 0xffe00000 // -0x200000

// newAFPacket opens one socket with its ring, bound to the interface, dropping every packet
// until the caller attaches the real filter. It returns what it opened even on failure.
func newAFPacket(cfg Config) (*afpacketSource, error) {
	s := &afpacketSource{name: cfg.Interface, fd: -1, efd: -1, poll: cfg.Poll, done: -1,
		scratch: [2][]byte{make([]byte, cfg.Snaplen+4), make([]byte, cfg.Snaplen+4)}}
	wrap := func(what string, err error) error {
		return fmt.Errorf("source: afpacket %s: %s: %v", cfg.Interface, what, err)
	}
	var err error
	// Protocol 0: the socket receives nothing until bind names a protocol, so no packet
	// arrives before the ring and the filter are in place.
	if s.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		return s, wrap("socket", err)
	}
	if s.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return s, wrap("eventfd", err)
	}
	ifindex, err := interfaceIndex(s.fd, cfg.Interface)
	if err != nil {
		return s, err
	}
	// Drop everything until openAFPacket attaches the real filter, after the socket joined its
	// fanout group: a packet let in earlier could reach a worker that does not own its flow.
	if err := attachFilter(s.fd, []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}); err != nil {
		return s, wrap("attaching the drop-all filter", err)
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return s, wrap("TPACKET_V3", err)
	}
	s.nblocks = cfg.Buffer / ringBlockSize
	tov := max(uint32(cfg.Poll/time.Millisecond), 1)
	req := unix.TpacketReq3{
		Block_size:     ringBlockSize,
		Block_nr:       uint32(s.nblocks),
		Frame_size:     2048, // TPACKET_V3 packs frames of any size; the kernel only checks this one
		Frame_nr:       uint32(s.nblocks * (ringBlockSize / 2048)),
		Retire_blk_tov: tov, // a block that is not full reaches user space after this long
	}
	if err := unix.SetsockoptTpacketReq3(s.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return s, wrap(fmt.Sprintf("ring of %d blocks of %d bytes (--buffer-mb)", s.nblocks, ringBlockSize), err)
	}
	s.ringLen = uintptr(s.nblocks) * ringBlockSize
	if s.ring, err = unix.MmapPtr(s.fd, 0, nil, s.ringLen, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		s.ring = nil
		return s, wrap("mmap of the ring", err)
	}
	if cfg.Promisc {
		// A membership, not the interface flag: the kernel drops it when the socket closes.
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return s, wrap("promiscuous mode", err)
		}
	}
	if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return s, wrap("bind", err)
	}
	s.pfd = [2]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(s.efd), Events: unix.POLLIN}}
	return s, nil
}

// interfaceIndex asks the socket, so that the answer comes from the socket's network namespace.
func interfaceIndex(fd int, name string) (int, error) {
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, fmt.Errorf("source: -i %s: %v", name, err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFINDEX, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return 0, fmt.Errorf("source: -i: no such network interface %q", name)
		}
		return 0, fmt.Errorf("source: -i %s: %v", name, err)
	}
	index := int(ifr.Uint32())
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFHWADDR, ifr); err != nil {
		return 0, fmt.Errorf("source: -i %s: hardware type: %v", name, err)
	}
	// The engine and the fanout program read the frames as Ethernet; loopback frames carry an
	// Ethernet header with zero addresses.
	switch hw := ifr.Uint16(); hw {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
	default:
		return 0, fmt.Errorf("source: -i %s: link type ARPHRD %d is not Ethernet, which afpacket needs: use --backend %s", name, hw, BackendPcap)
	}
	return index, nil
}

func attachFilter(fd int, f []unix.SockFilter) error {
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
}

func setProgram(fd, opt int, raw []bpf.RawInstruction) error {
	f := make([]unix.SockFilter, len(raw))
	for i, r := range raw {
		f[i] = unix.SockFilter{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return unix.SetsockoptSockFprog(fd, unix.SOL_PACKET, opt, &unix.SockFprog{Len: uint16(len(f)), Filter: &f[0]})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (s *afpacketSource) Next() ([]byte, capture.Info, error) {
	if err := s.g.enter(true); err != nil {
		return nil, capture.Info{}, err
	}
	data, info, held, err := s.next()
	if !s.g.leave(held) {
		s.release(false)
		return nil, capture.Info{}, ErrClosed
	}
	return data, info, err
}

func (s *afpacketSource) next() (data []byte, info capture.Info, held bool, err error) {
	if s.done >= 0 && s.doneOK {
		atomic.StoreUint32(&s.blockHeader(s.done).Block_status, unix.TP_STATUS_KERNEL)
		s.done = -1
	}
	var start time.Time
	for {
		if s.left > 0 {
			data, info, held = s.packet()
			s.doneOK = s.done >= 0
			return data, info, held, nil
		}
		bh := s.blockHeader(s.block)
		if s.inBlock {
			if s.done < 0 {
				s.done, s.doneOK = s.block, false // its last packet may be the caller's latest
			} else { // entered in this call and gave no packet (a block retired empty)
				atomic.StoreUint32(&bh.Block_status, unix.TP_STATUS_KERNEL)
			}
			s.inBlock = false
			s.block = (s.block + 1) % s.nblocks
			bh = s.blockHeader(s.block)
		}
		if atomic.LoadUint32(&bh.Block_status)&unix.TP_STATUS_USER != 0 {
			s.inBlock = true
			s.left = bh.Num_pkts
			s.pkt = uintptr(s.block)*ringBlockSize + uintptr(bh.Offset_to_first_pkt)
			continue
		}
		if s.done >= 0 {
			// Nothing to read, and a block held for the caller's latest packet: the kernel's
			// poll reports a ring readable while the block before its own is ours, so waiting
			// now would spin. Time out at once instead (the caller is done with its packets
			// after an error, by contract); the next call hands the block back, then waits.
			s.doneOK = true
			return nil, capture.Info{}, false, ErrTimeout
		}
		if start.IsZero() {
			start = time.Now()
		}
		if err := s.wait(start); err != nil {
			return nil, capture.Info{}, false, err
		}
	}
}

func (s *afpacketSource) blockHeader(i int) *unix.TpacketHdrV1 {
	return (*unix.TpacketHdrV1)(unsafe.Add(s.ring, uintptr(i)*ringBlockSize+blockHeader))
}

// packet returns the next packet of the current block; held says the bytes are in the ring.
func (s *afpacketSource) packet() ([]byte, capture.Info, bool) {
	h := (*unix.Tpacket3Hdr)(unsafe.Add(s.ring, s.pkt))
	s.left--
	s.pkt += uintptr(h.Next_offset)
	frame := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(h), h.Mac)), h.Snaplen)
	info := capture.Info{
		Timestamp: int64(h.Sec)*1e9 + int64(h.Nsec),
		CapLen:    len(frame),
		WireLen:   int(h.Len),
		LinkType:  layers.LinkTypeEthernet,
	}
	if h.Status&unix.TP_STATUS_VLAN_VALID == 0 || len(frame) < 12 {
		return frame, info, true
	}
	// The kernel took the outer VLAN tag out of the frame; VLAN evasion detection needs it
	// back, after the two MAC addresses.
	tpid := uint16(0x8100)
	if h.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
		tpid = h.Hv1.Vlan_tpid
	}
	out := s.scratch[s.turn][:len(frame)+4]
	s.turn ^= 1
	copy(out, frame[:12])
	binary.BigEndian.PutUint16(out[12:], tpid)
	binary.BigEndian.PutUint16(out[14:], uint16(h.Hv1.Vlan_tci))
	copy(out[16:], frame[12:])
	info.CapLen += 4
	info.WireLen += 4
	return out, info, false
}

// wait polls until the socket may have a block ready, Close wakes it (ErrClosed), Config.Poll
// has passed since start (ErrTimeout), or the socket reports an error.
func (s *afpacketSource) wait(start time.Time) error {
	left := s.poll - time.Since(start)
	if left <= 0 {
		return ErrTimeout
	}
	s.ts = unix.NsecToTimespec(int64(left))
	s.pfd[0].Revents, s.pfd[1].Revents = 0, 0
	n, err := unix.Ppoll(s.pfd[:], &s.ts, nil)
	switch {
	case err == unix.EINTR: // the Go runtime's preemption signals; the caller polls again for the rest
		return nil
	case err != nil:
		return fmt.Errorf("source: afpacket %s: poll: %v", s.name, err)
	case n == 0:
		return ErrTimeout
	case s.pfd[1].Revents != 0:
		return ErrClosed
	case s.pfd[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0:
		// E.g. ENETDOWN when the interface goes down; reading SO_ERROR clears it, and the
		// socket keeps capturing once the interface is back.
		e, err := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && e != 0 {
			err = syscall.Errno(e)
		}
		if err != nil {
			return fmt.Errorf("source: afpacket %s: %v", s.name, err)
		}
	}
	return nil
}

// Stats must be called from the worker's goroutine (the kernel counters reset on every read,
// so reads must not interleave). After Close it returns the sums as they stood at Close.
func (s *afpacketSource) Stats() (Stats, error) {
	if err := s.g.enter(false); err != nil {
		if err == ErrClosed {
			return s.total.load(), nil
		}
		return Stats{}, err
	}
	err := s.readStats()
	if !s.g.leave(false) {
		s.release(s.g.v.Load()&gHeld != 0)
	}
	return s.total.load(), err
}

func (s *afpacketSource) readStats() error {
	st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return fmt.Errorf("source: afpacket %s: stats: %v", s.name, err)
	}
	s.total.received.Add(uint64(st.Packets))
	s.total.dropped.Add(uint64(st.Drops))
	s.total.freezes.Add(uint64(st.Freeze_q_cnt))
	return nil
}

// Close may be called from any goroutine, more than once. A Next blocked in poll returns
// ErrClosed at once.
func (s *afpacketSource) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.g.v.Load()&gClosed != 0 {
		return nil
	}
	// Wake Next before setting the closed bit: once it is set the worker may release, and
	// with it the eventfd.
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(s.efd, one[:])
	if prev, first := s.g.close(); first && prev&gBusy == 0 {
		s.release(prev&gHeld != 0)
	}
	return nil
}

// release frees everything, once, on whichever goroutine guard picked (or on Open's failure
// path). held says the worker may still be reading a packet in the ring.
func (s *afpacketSource) release(held bool) {
	if s.fd >= 0 && s.ring != nil {
		s.readStats()
	}
	if s.ring != nil {
		if held {
			// Zero pages over the ring (see afpacketSource); their address space is never
			// given back, since no point after this is known to be past the worker's reads.
			unix.MmapPtr(-1, 0, s.ring, s.ringLen, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED)
		} else {
			unix.MunmapPtr(s.ring, s.ringLen)
		}
		s.ring = nil
	}
	for _, fd := range []*int{&s.fd, &s.efd} {
		if *fd >= 0 {
			unix.Close(*fd)
			*fd = -1
		}
	}
}
