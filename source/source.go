// Package source reads live traffic from a network interface for the sensor: one Source per
// worker. Two back ends: libpcap (github.com/gopacket/gopacket/pcap), which works wherever
// libpcap does, and AF_PACKET (Linux, a TPACKET_V3 ring of our own) whose sockets join one
// fanout group so that each worker owns a disjoint set of flows. Reads are allocation-free;
// AF_PACKET's are zero-copy except for frames whose VLAN tag the kernel stripped (put back in a
// buffer of the source's), libpcap's are copied once out of libpcap's ring.
//
// The fanout is a classic BPF program of ours (fanout.go), not the kernel's flow hash: it hashes
// the host pair symmetrically, so that both directions, every IP fragment (which carries no
// ports) and the ICMP errors quoting a connection reach the worker that holds its state,
// without the kernel reassembling fragments the IDS must see as they came.
package source

import (
	"errors"
	"time"

	"github.com/ids-sensor/ids/capture"
)

// Backend names, as the sensor's --backend flag spells them.
const (
	BackendPcap     = "pcap"
	BackendAFPacket = "afpacket"
)

// ErrTimeout is what Next returns when no packet arrived within Config.Poll: the worker's
// chance to publish its counters and to notice that it should stop.
var ErrTimeout = errors.New("source: no packet within the poll interval")

// ErrClosed is what Next returns once Close has been called.
var ErrClosed = errors.New("source: closed")

// Config says what to capture and how.
type Config struct {
	Interface string
	Backend   string        // BackendPcap or BackendAFPacket
	Workers   int           // sources to open; more than 1 needs AF_PACKET fanout
	Snaplen   int           // bytes kept per packet
	Promisc   bool          // promiscuous mode (what a SPAN port needs)
	Buffer    int           // kernel buffer (pcap) or ring (AF_PACKET) bytes, per source
	Filter    string        // BPF capture filter in tcpdump syntax, "" for everything
	FanoutID  uint16        // AF_PACKET fanout group id (0: derived from the process id)
	Poll      time.Duration // longest a Next call blocks before ErrTimeout
}

// Stats are a source's cumulative kernel counters.
type Stats struct {
	Received uint64 // packets the kernel handed to this source (pcap ps_recv; AF_PACKET tp_packets)
	Dropped  uint64 // packets the kernel dropped because the buffer or ring was full
	IfDrops  uint64 // packets the interface or driver dropped (pcap ps_ifdrop), where known
	Freezes  uint64 // AF_PACKET TPACKET_V3 ring queue freezes
}

// Source is one worker's capture handle. Next, Stats and Close may be called from the worker's
// goroutine; Close may also be called from another goroutine to make a blocked Next return.
type Source interface {
	// Next returns the next packet. data stays valid until Next has returned the packet after
	// it and is called once more, or has returned an error (ErrTimeout included), or Close:
	// engine.Push holds one packet while the next is read, and is drained on a timeout.
	// Errors: ErrTimeout (nothing within Config.Poll), ErrClosed, or a capture failure.
	Next() (data []byte, info capture.Info, err error)
	// Stats returns the kernel counters since the source was opened.
	Stats() (Stats, error)
	Close() error
}
