package capture

import (
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// mixSizes is a packet size mix close to the shared benchmark capture's:
// many small packets, many full-size ones (average about 700 bytes).
var mixSizes = []int{66, 1514, 60, 1514, 590, 54, 1514, 120, 1514, 74, 342, 1514, 60, 1200}

// endless returns a reader producing head then body forever, where body is
// packets records of the mix; and the average packet size.
func endless(head func() []byte, record func(i int, data []byte) []byte, gz bool) (*loopReader, int) {
	var body []byte
	total, n := 0, 0
	for ; len(body) < 4<<20; n++ {
		d := payload(mixSizes[n%len(mixSizes)], byte(n))
		body = append(body, record(n, d)...)
		total += len(d)
	}
	h := head()
	if gz {
		// Concatenated gzip members form one stream.
		h, body = gzipped(h), gzipped(body)
	}
	return &loopReader{head: h, body: body}, total / n
}

func pcapStream(gz bool) (*loopReader, int) {
	return endless(func() []byte { return pcapHeader(le, false, 2, 262144, 1) },
		func(i int, d []byte) []byte { return pcapRecord(le, uint32(i), 0, d, uint32(len(d))) }, gz)
}

// pcapngStream has two interfaces with different units, epb_flags options on
// every packet and a statistics block now and then.
func pcapngStream() (*loopReader, int) {
	return endless(func() []byte {
		return (&ng{bo: le}).shb().idb(1, 0).idb(101, 0, option(le, optTsResol, []byte{9}), endOfOpt).bytes()
	}, func(i int, d []byte) []byte {
		n := &ng{bo: le}
		if i%100 == 0 {
			n.block(5, make([]byte, 20))
		}
		return n.epb(uint32(i%2), uint64(i), d, uint32(len(d)), option(le, 2, []byte{1, 0, 0, 0}), endOfOpt).bytes()
	}, false)
}

// TestNoAllocs proves the steady state allocates nothing per packet, across
// many buffer refills.
func TestNoAllocs(t *testing.T) {
	for _, c := range []struct {
		name     string
		r        func() (*loopReader, int)
		perBatch float64
	}{
		{"pcap", func() (*loopReader, int) { return pcapStream(false) }, 0},
		{"pcapng", pcapngStream, 0},
		// compress/flate allocates Huffman link tables for some deflate
		// blocks (about one per 20 KiB of output here): per block, not per
		// packet, and outside this package. Bound it at one per 10 packets.
		{"pcap-gzip", func() (*loopReader, int) { return pcapStream(true) }, 2000},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := c.r()
			f, err := NewReader(r, c.name)
			if err != nil {
				t.Fatal(err)
			}
			var fail error
			allocs := testing.AllocsPerRun(50000, func() {
				if _, _, err := f.Next(); err != nil {
					fail = err
				}
			})
			if fail != nil {
				t.Fatal(fail)
			}
			if f.Offset() < 4*bufSize {
				t.Fatalf("only %d bytes read: too few refills to prove anything", f.Offset())
			}
			if allocs != 0 {
				t.Errorf("%v allocations per packet, want 0", allocs)
			}
			// AllocsPerRun rounds down, so also count every allocation
			// over whole batches of packets.
			batch := testing.AllocsPerRun(5, func() {
				for range 20000 {
					if _, _, err := f.Next(); err != nil {
						fail = err
					}
				}
			})
			if fail != nil {
				t.Fatal(fail)
			}
			t.Logf("%v allocations per 20000 packets", batch)
			if batch > c.perBatch {
				t.Errorf("%v allocations per 20000 packets, want at most %v", batch, c.perBatch)
			}
		})
	}
}

func BenchmarkNext(b *testing.B) {
	for _, c := range []struct {
		name string
		r    func() (*loopReader, int)
	}{
		{"pcap", func() (*loopReader, int) { return pcapStream(false) }},
		{"pcapng", pcapngStream},
		{"pcap-gzip", func() (*loopReader, int) { return pcapStream(true) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			r, avg := c.r()
			f, err := NewReader(r, c.name)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(avg))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, _, err := f.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}

// BenchmarkFile reads the capture named by $IDS_BENCH_PCAP (for example one
// made by shared/bench/make-bench-pcap.sh), from the page cache, starting
// over at its end.
func BenchmarkFile(b *testing.B) {
	path := os.Getenv("IDS_BENCH_PCAP")
	if path == "" {
		b.Skip("set IDS_BENCH_PCAP to a capture file")
	}
	f, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	var bytes int64
	for range b.N {
		data, _, err := f.Next()
		if err == io.EOF {
			f.Close()
			if f, err = Open(path); err == nil {
				data, _, err = f.Next()
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(data))
	}
	b.StopTimer()
	f.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
	b.ReportMetric(float64(bytes)*8/1e9/b.Elapsed().Seconds(), "Gbit/s")
}

// BenchmarkFilePcapgo reads $IDS_BENCH_PCAP (classic pcap) with pcapgo's
// ZeroCopyReadPacketData, for comparison with BenchmarkFile.
func BenchmarkFilePcapgo(b *testing.B) {
	path := os.Getenv("IDS_BENCH_PCAP")
	if path == "" {
		b.Skip("set IDS_BENCH_PCAP to a classic pcap file")
	}
	open := func() (*os.File, *pcapgo.Reader) {
		fd, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(fd)
		if err != nil {
			b.Fatal(err)
		}
		return fd, r
	}
	fd, r := open()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		_, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			fd.Close()
			fd, r = open()
			_, _, err = r.ZeroCopyReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	fd.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
