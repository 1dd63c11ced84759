package source

import (
	"fmt"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/ids-sensor/ids/capture"
)

// pcapSource reads through libpcap. Each packet is copied once, out of libpcap's ring into a
// buffer of the source's own: pcap_close unmaps that ring, and a Close from another goroutine
// must not pull the bytes from under a worker still decoding its last packet.
//
// A Close while Next waits inside libpcap cannot interrupt the wait (gopacket polls the
// capture descriptor without a wake-up descriptor of ours), so that Next returns ErrClosed
// once the wait ends: within Config.Poll. Close itself does not block.
type pcapSource struct {
	g       guard
	handle  *pcap.Handle
	name    string
	link    layers.LinkType
	scratch [2][]byte // allocated once, taken in turn: Next keeps the previous packet intact
	turn    int
	final   counters
}

func openPcap(cfg Config) (*pcapSource, error) {
	in, err := pcap.NewInactiveHandle(cfg.Interface)
	if err != nil {
		return nil, fmt.Errorf("source: pcap %s: %v", cfg.Interface, err)
	}
	defer in.CleanUp() // a no-op once Activate succeeded
	for _, set := range []struct {
		what string
		err  error
	}{
		{"--snaplen", in.SetSnapLen(cfg.Snaplen)},
		{"promiscuous mode", in.SetPromisc(cfg.Promisc)},
		{"--buffer-mb", in.SetBufferSize(cfg.Buffer)},
		{"the poll interval", in.SetTimeout(cfg.Poll)},
		// Immediate mode would wake the reader for every packet; batching per poll interval is
		// what keeps the ring cheap under load.
		{"immediate mode", in.SetImmediateMode(false)},
	} {
		if set.err != nil {
			return nil, fmt.Errorf("source: pcap %s: setting %s: %v", cfg.Interface, set.what, set.err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, fmt.Errorf("source: pcap %s: cannot capture: %v", cfg.Interface, err)
	}
	if cfg.Filter != "" {
		if err := h.SetBPFFilter(cfg.Filter); err != nil {
			h.Close()
			return nil, fmt.Errorf("source: -f %q: %v", cfg.Filter, err)
		}
	}
	return &pcapSource{
		handle: h,
		name:   cfg.Interface,
		link:   h.LinkType(),
		// libpcap may put a VLAN tag back beyond snaplen
		scratch: [2][]byte{make([]byte, cfg.Snaplen+4), make([]byte, cfg.Snaplen+4)},
	}, nil
}

func (s *pcapSource) Next() ([]byte, capture.Info, error) {
	if err := s.g.enter(true); err != nil {
		return nil, capture.Info{}, err
	}
	data, ci, err := s.handle.ZeroCopyReadPacketData()
	buf := s.scratch[s.turn]
	n := copy(buf, data)
	if !s.g.leave(false) {
		s.release()
		return nil, capture.Info{}, ErrClosed
	}
	if err != nil {
		if err == pcap.NextErrorTimeoutExpired {
			return nil, capture.Info{}, ErrTimeout
		}
		return nil, capture.Info{}, fmt.Errorf("source: pcap %s: %v", s.name, err)
	}
	s.turn ^= 1 // this packet stays intact until the next one is returned and Next called again
	return buf[:n], capture.Info{
		Timestamp: ci.Timestamp.UnixNano(),
		CapLen:    n,
		WireLen:   ci.Length,
		LinkType:  s.link,
	}, nil
}

// Stats returns libpcap's counters, which are cumulative already. After Close it returns the
// counters as they stood when the handle was closed.
func (s *pcapSource) Stats() (Stats, error) {
	if err := s.g.enter(false); err != nil {
		if err == ErrClosed {
			return s.final.load(), nil
		}
		return Stats{}, err
	}
	st, err := s.read()
	if !s.g.leave(false) {
		s.release()
		return s.final.load(), nil
	}
	return st, err
}

func (s *pcapSource) read() (Stats, error) {
	ps, err := s.handle.Stats()
	if err != nil {
		return s.final.load(), fmt.Errorf("source: pcap %s: stats: %v", s.name, err)
	}
	st := Stats{Received: uint64(ps.PacketsReceived), Dropped: uint64(ps.PacketsDropped), IfDrops: uint64(ps.PacketsIfDropped)}
	s.final.store(st)
	return st, nil
}

// Close may be called from any goroutine, more than once.
func (s *pcapSource) Close() error {
	if prev, first := s.g.close(); first && prev&gBusy == 0 {
		s.release()
	}
	return nil
}

// release runs once, on whichever goroutine the guard picked.
func (s *pcapSource) release() {
	s.read()
	s.handle.Close()
}
