package source

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// Defaults Open fills in for zero Config fields.
const (
	DefaultSnaplen        = 65535
	DefaultPoll           = 100 * time.Millisecond
	DefaultPcapBuffer     = 32 << 20 // libpcap kernel buffer
	DefaultAFPacketBuffer = 64 << 20 // per worker ring
)

const (
	maxSnaplen = 262144 // libpcap's MAXIMUM_SNAPLEN
	maxWorkers = 256    // the kernel's default limit on fanout group members (PACKET_FANOUT_MAX)

	// AF_PACKET ring geometry: 1 MiB blocks hold any snaplen with its headers, and a ring of
	// at least two lets the kernel fill one block while the worker reads the other.
	ringBlockSize = 1 << 20
	minRing       = 2 * ringBlockSize
)

// Open validates cfg, fills its defaults and opens one Source per worker. Errors name the
// sensor flag at fault (-i, -f, --backend, --workers, --snaplen, --buffer-mb). On failure nothing stays open.
func Open(cfg Config) ([]Source, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	switch cfg.Backend {
	case BackendPcap:
		s, err := openPcap(cfg)
		if err != nil {
			return nil, err
		}
		return []Source{s}, nil
	case BackendAFPacket:
		return openAFPacket(cfg)
	}
	panic("unreachable: backend checked by withDefaults")
}

// withDefaults checks cfg and returns it with every zero field set to its default.
func withDefaults(cfg Config) (Config, error) {
	if cfg.Interface == "" {
		return cfg, errors.New("source: -i (the interface to capture on) is required")
	}
	switch cfg.Backend {
	case BackendPcap, BackendAFPacket:
	default:
		return cfg, fmt.Errorf("source: unknown --backend %q (want %s or %s)", cfg.Backend, BackendPcap, BackendAFPacket)
	}
	switch {
	case cfg.Workers < 0 || cfg.Workers > maxWorkers:
		return cfg, fmt.Errorf("source: --workers %d out of range 1..%d", cfg.Workers, maxWorkers)
	case cfg.Workers == 0:
		cfg.Workers = 1
	case cfg.Workers > 1 && cfg.Backend != BackendAFPacket:
		return cfg, fmt.Errorf("source: --workers %d needs --backend %s (libpcap gives one reader)", cfg.Workers, BackendAFPacket)
	}
	switch {
	case cfg.Snaplen < 0 || cfg.Snaplen > maxSnaplen:
		return cfg, fmt.Errorf("source: --snaplen %d out of range 1..%d", cfg.Snaplen, maxSnaplen)
	case cfg.Snaplen == 0:
		cfg.Snaplen = DefaultSnaplen
	}
	switch {
	case cfg.Buffer < 0:
		return cfg, fmt.Errorf("source: --buffer-mb: %d bytes is negative", cfg.Buffer)
	case cfg.Buffer == 0 && cfg.Backend == BackendPcap:
		cfg.Buffer = DefaultPcapBuffer
	case cfg.Buffer == 0:
		cfg.Buffer = DefaultAFPacketBuffer
	case cfg.Backend == BackendAFPacket && cfg.Buffer < minRing:
		return cfg, fmt.Errorf("source: --buffer-mb: %d bytes is too small for an afpacket ring (at least %d MiB per worker)",
			cfg.Buffer, minRing>>20)
	}
	switch {
	case cfg.Poll < 0:
		return cfg, fmt.Errorf("source: poll interval %v is negative", cfg.Poll)
	case cfg.Poll == 0:
		cfg.Poll = DefaultPoll
	case cfg.Poll < time.Millisecond:
		cfg.Poll = time.Millisecond // both kernels count in milliseconds
	}
	if cfg.FanoutID == 0 {
		// Fanout group ids are per network namespace: two sensors on one host must not join
		// each other's group, so derive the id from something they do not share.
		cfg.FanoutID = uint16(os.Getpid())
	}
	// libpcap's "any" pseudo-device is not an interface the kernel knows by name.
	if cfg.Backend == BackendPcap && cfg.Interface == "any" {
		return cfg, nil
	}
	if _, err := net.InterfaceByName(cfg.Interface); err != nil {
		if strings.Contains(err.Error(), "no such network interface") {
			return cfg, fmt.Errorf("source: -i: no such network interface %q", cfg.Interface)
		}
		return cfg, fmt.Errorf("source: -i %s: %v", cfg.Interface, err)
	}
	return cfg, nil
}
