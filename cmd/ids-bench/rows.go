package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/ids-sensor/ids/capture"
)

// childResult is what a row run in a child process reports on its standard output.
type childResult struct {
	Packets uint64  `json:"packets"`
	Bytes   uint64  `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Mallocs uint64  `json:"mallocs"`
	Sink    uint64  `json:"sink"` // keeps the compiler from dropping the work
}

// inProcessRows are the rows measured by this binary itself, each in its own child process so
// that the child's peak RSS is the row's own.
var inProcessRows = map[string]func() func([]byte) uint64{
	// floor: the capture reader alone; one byte per packet is read so every record is touched.
	"floor": func() func([]byte) uint64 {
		return func(data []byte) uint64 {
			if len(data) == 0 {
				return 0
			}
			return uint64(data[len(data)-1])
		}
	},
	// decode: gopacket's fastest decoding, one DecodingLayerParser reused, no allocation.
	"decode": func() func([]byte) uint64 {
		var (
			eth   layers.Ethernet
			dot1q layers.Dot1Q
			ip4   layers.IPv4
			ip6   layers.IPv6
			tcp   layers.TCP
			udp   layers.UDP
		)
		p := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &dot1q, &ip4, &ip6, &tcp, &udp)
		p.IgnoreUnsupported = true
		decoded := make([]gopacket.LayerType, 0, 8)
		return func(data []byte) uint64 {
			_ = p.DecodeLayers(data, &decoded) // errors (truncated headers) count as decoded work too
			return uint64(len(decoded))
		}
	},
	// naive: the usual first gopacket program: a full Packet per frame, copied, all layers.
	"naive": func() func([]byte) uint64 {
		return func(data []byte) uint64 {
			pkt := gopacket.NewPacket(data, layers.LinkTypeEthernet, gopacket.Default)
			var n uint64
			if nl := pkt.NetworkLayer(); nl != nil {
				n += uint64(len(nl.LayerContents()))
			}
			if tl := pkt.TransportLayer(); tl != nil {
				n += uint64(len(tl.LayerContents()))
			}
			return n
		}
	},
}

// runChild measures one in-process row over the capture at path and prints a childResult.
func runChild(row, path string, stdout io.Writer) error {
	mk, ok := inProcessRows[row]
	if !ok {
		return fmt.Errorf("unknown row %q", row)
	}
	runtime.GOMAXPROCS(1)
	visit := mk()
	var r childResult
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	f, err := capture.Open(path)
	if err != nil {
		return err
	}
	for {
		data, _, err := f.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		r.Packets++
		r.Bytes += uint64(len(data))
		r.Sink += visit(data)
	}
	f.Close()
	r.Seconds = time.Since(start).Seconds()
	runtime.ReadMemStats(&m1)
	r.Mallocs = m1.Mallocs - m0.Mallocs
	return json.NewEncoder(stdout).Encode(r)
}

func childMain(args []string) {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ids-bench -child ROW CAPTURE")
		os.Exit(1)
	}
	if err := runChild(args[0], args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ids-bench:", err)
		os.Exit(1)
	}
}
