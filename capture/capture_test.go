package capture

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/gopacket/gopacket/layers"
)

type pkt struct {
	data []byte
	info Info
}

// readCase is a hand-built file and everything reading it must yield.
type readCase struct {
	name   string
	file   []byte
	format string       // without the gzip suffix
	pkts   []pkt        // in order
	err    *FormatError // nil: a clean io.EOF after pkts; Name is filled in
}

const (
	sec1 = 1700000000
	ns1  = sec1 * 1e9
)

var (
	p60   = payload(60, 1)
	p1514 = payload(1514, 2)
)

func ethInfo(ts int64, data []byte, wire int) Info {
	return Info{Timestamp: ts, CapLen: len(data), WireLen: wire, LinkType: layers.LinkTypeEthernet}
}

func fe(off int64, rec int, format string, args ...any) *FormatError {
	return &FormatError{Offset: off, Record: rec, Reason: fmt.Sprintf(format, args...)}
}

func pcapCases() []readCase {
	var cs []readCase
	for _, v := range []struct {
		name string
		bo   byteOrder
		nano bool
	}{{"le-usec", le, false}, {"be-usec", be, false}, {"le-nsec", le, true}, {"be-nsec", be, true}} {
		bo := v.bo
		frac, fracNs := uint32(123456), int64(123456000)
		if v.nano {
			frac, fracNs = 123456789, 123456789
		}
		cs = append(cs, readCase{
			name: "pcap/" + v.name,
			file: cat(pcapHeader(bo, v.nano, 2, 65535, 1),
				pcapRecord(bo, sec1, frac, p60, 60),
				pcapRecord(bo, sec1+1, frac, p1514, 1514)),
			format: "pcap",
			pkts: []pkt{
				{p60, ethInfo(ns1+fracNs, p60, 60)},
				{p1514, ethInfo(ns1+1e9+fracNs, p1514, 1514)},
			},
		})
	}

	// The upper bits of the link type field are FCS information.
	cs = append(cs, readCase{
		name:   "pcap/link-type-fcs-bits",
		file:   cat(pcapHeader(le, false, 2, 65535, 0x14000000|113), pcapRecord(le, 1, 2, p60, 60)),
		format: "pcap",
		pkts:   []pkt{{p60, Info{Timestamp: 1e9 + 2000, CapLen: 60, WireLen: 60, LinkType: layers.LinkTypeLinuxSLL}}},
	})

	// Writers get caplen > wirelen and caplen > snaplen wrong; we pass them on.
	p100 := payload(100, 3)
	cs = append(cs, readCase{
		name:   "pcap/caplen-over-wirelen-and-snaplen",
		file:   cat(pcapHeader(le, false, 2, 64, 1), pcapRecord(le, 0, 0, p100, 80)),
		format: "pcap",
		pkts:   []pkt{{p100, ethInfo(0, p100, 80)}},
	})

	big := payload(MaxRecord, 4)
	cs = append(cs, readCase{
		name:   "pcap/record-of-exactly-1MiB",
		file:   cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, 0, 0, p60, 60), pcapRecord(le, 0, 0, big, MaxRecord), pcapRecord(le, 0, 0, p60, 60)),
		format: "pcap",
		pkts:   []pkt{{p60, ethInfo(0, p60, 60)}, {big, ethInfo(0, big, MaxRecord)}, {p60, ethInfo(0, p60, 60)}},
	})
	cs = append(cs, readCase{
		name:   "pcap/record-over-1MiB",
		file:   cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, 0, 0, p60, 60), pcapRecord(le, 0, 0, payload(MaxRecord+1, 5), 0)),
		format: "pcap",
		pkts:   []pkt{{p60, ethInfo(0, p60, 60)}},
		err:    fe(100, 2, "record length 1048577 exceeds the 1 MiB limit"),
	})
	cs = append(cs, readCase{
		name:   "pcap/record-length-4GiB",
		file:   cat(pcapHeader(be, false, 2, 65535, 1), pcapRecord(be, 0, 0, p60, 60), pcapRecordLen32(be, 0, 0, 0xffffffff, 60, p60)),
		format: "pcap",
		pkts:   []pkt{{p60, ethInfo(0, p60, 60)}},
		err:    fe(100, 2, "record length 4294967295 exceeds the 1 MiB limit"),
	})
	cs = append(cs, readCase{
		name:   "pcap/unknown-major-version",
		file:   cat(pcapHeader(le, false, 3, 65535, 1), pcapRecord(le, 0, 0, p60, 60)),
		format: "pcap",
		err:    fe(0, 0, "unsupported pcap version 3.4"),
	})

	// Truncations of header + 60-byte record (24..100) + 1514-byte record
	// (100..1630).
	full := cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, sec1, 0, p60, 60), pcapRecord(le, sec1, 0, p1514, 1514))
	first := pkt{p60, ethInfo(ns1, p60, 60)}
	for _, c := range []struct {
		cut  int
		pkts []pkt
		err  *FormatError
	}{
		{2, nil, fe(0, 0, "truncated file header: file ends after 2 bytes")},
		{10, nil, fe(0, 0, "truncated file header: needs 24 bytes, file ends after 10")},
		{24, nil, nil},
		{30, nil, fe(24, 1, "truncated record header: needs 16 bytes, file ends after 6")},
		{99, nil, fe(24, 1, "truncated record: header says 60 bytes, file ends after 59")},
		{100, []pkt{first}, nil},
		{105, []pkt{first}, fe(100, 2, "truncated record header: needs 16 bytes, file ends after 5")},
		{116, []pkt{first}, fe(100, 2, "truncated record: header says 1514 bytes, file ends after 0")},
		{128, []pkt{first}, fe(100, 2, "truncated record: header says 1514 bytes, file ends after 12")},
		{1629, []pkt{first}, fe(100, 2, "truncated record: header says 1514 bytes, file ends after 1513")},
	} {
		cs = append(cs, readCase{
			name:   fmt.Sprintf("pcap/cut-at-%d", c.cut),
			file:   full[:c.cut],
			format: "pcap",
			pkts:   c.pkts,
			err:    c.err,
		})
	}
	return cs
}

func pcapngCases() []readCase {
	var cs []readCase
	for _, v := range []struct {
		name string
		bo   *ng
	}{{"le", &ng{bo: le}}, {"be", &ng{bo: be}}} {
		n := v.bo
		n.shb(option(n.bo, 1, []byte("comment")), option(n.bo, 4, []byte("test")), endOfOpt).
			idb(1, 65535, option(n.bo, 2, []byte("eth0")), endOfOpt).
			epb(0, sec1*1e6+123456, p60, 60).
			epb(0, sec1*1e6+1e6, p1514, 1514, option(n.bo, 2, n.bo.AppendUint32(nil, 1)), endOfOpt)
		cs = append(cs, readCase{
			name:   "pcapng/" + v.name,
			file:   n.bytes(),
			format: "pcapng",
			pkts: []pkt{
				{p60, ethInfo(ns1+123456000, p60, 60)},
				{p1514, ethInfo(ns1+1e9, p1514, 1514)},
			},
		})
	}

	// Three sections, the middle one big-endian with two interfaces; each
	// section starts its interface numbering anew.
	{
		n := &ng{bo: le}
		n.shb().idb(1, 0).epb(0, 1e6, p60, 60)
		n.bo = be
		n.shb().idb(101, 0).idb(113, 0).epb(1, 2e6, p60, 60).epb(0, 3e6, p1514, 1514)
		n.bo = le
		n.shb().idb(228, 0).epb(0, 4e6, p60, 60)
		cs = append(cs, readCase{
			name:   "pcapng/three-sections",
			file:   n.bytes(),
			format: "pcapng",
			pkts: []pkt{
				{p60, ethInfo(1e9, p60, 60)},
				{p60, Info{Timestamp: 2e9, CapLen: 60, WireLen: 60, LinkType: layers.LinkTypeLinuxSLL, Interface: 1}},
				{p1514, Info{Timestamp: 3e9, CapLen: 1514, WireLen: 1514, LinkType: layers.LinkTypeRaw}},
				{p60, Info{Timestamp: 4e9, CapLen: 60, WireLen: 60, LinkType: layers.LinkTypeIPv4}},
			},
		})
	}

	// Interfaces with their own link types and timestamp units.
	{
		n := &ng{bo: le}
		n.shb().
			idb(1, 0).
			idb(101, 0, option(le, optTsResol, []byte{9}), endOfOpt).    // ns
			idb(113, 0, option(le, optTsResol, []byte{0x94}), endOfOpt). // 2^-20 s
			idb(1, 0, n.u64opt(optTsOffset, 1000), endOfOpt).
			idb(1, 0, n.u64opt(optTsOffset, uint64(1e6)), option(le, optTsResol, []byte{3})).
			idb(1, 0, option(le, optTsResol, []byte{0})). // whole seconds
			epb(2, sec1<<20|1<<19|1, p60, 60).
			epb(1, sec1*1e9+123456789, p60, 60).
			epb(0, sec1*1e6+5, p60, 60).
			epb(3, 5e6, p60, 60).
			epb(4, 1234, p60, 60).
			epb(5, sec1, p60, 60)
		info := func(id int, link layers.LinkType, ts int64) Info {
			return Info{Timestamp: ts, CapLen: 60, WireLen: 60, LinkType: link, Interface: id}
		}
		cs = append(cs, readCase{
			name:   "pcapng/interfaces-tsresol-tsoffset",
			file:   n.bytes(),
			format: "pcapng",
			pkts: []pkt{
				{p60, info(2, layers.LinkTypeLinuxSLL, ns1+500000953)}, // (2^19+1)/2^20 s, rounded down
				{p60, info(1, layers.LinkTypeRaw, ns1+123456789)},
				{p60, info(0, layers.LinkTypeEthernet, ns1+5000)},
				{p60, info(3, layers.LinkTypeEthernet, 1005e9)},
				{p60, info(4, layers.LinkTypeEthernet, 1e6*1e9+1234e6)},
				{p60, info(5, layers.LinkTypeEthernet, ns1)},
			},
		})
	}

	// Simple Packet Blocks: interface 0, no timestamp, caplen from snaplen.
	{
		n := &ng{bo: be}
		n.shb().idb(1, 64).
			spb(100, payload(64, 6)).
			spb(10, payload(10, 7)).
			spb(1000, payload(100, 6)) // more than the snaplen: only 64 count
		m := &ng{bo: le}
		m.shb().idb(101, 0).spb(100, payload(40, 8)) // block shorter than the packet
		cs = append(cs, readCase{
			name:   "pcapng/spb",
			file:   n.bytes(),
			format: "pcapng",
			pkts: []pkt{
				{payload(64, 6), ethInfo(0, payload(64, 6), 100)},
				{payload(10, 7), ethInfo(0, payload(10, 7), 10)},
				{payload(64, 6), ethInfo(0, payload(64, 6), 1000)},
			},
		}, readCase{
			name:   "pcapng/spb-clipped-to-block",
			file:   m.bytes(),
			format: "pcapng",
			pkts:   []pkt{{payload(40, 8), Info{CapLen: 40, WireLen: 100, LinkType: layers.LinkTypeRaw}}},
		})
		s := &ng{bo: le}
		s.shb().spb(60, p60)
		cs = append(cs, readCase{
			name:   "pcapng/spb-before-idb",
			file:   s.bytes(),
			format: "pcapng",
			err:    fe(int64(s.offs[1]), 1, "simple packet block before any interface description"),
		})
	}

	// The obsolete Packet Block.
	{
		n := &ng{bo: le}
		n.shb().idb(1, 0).idb(101, 0).pb(1, 7e6, p60, 60).pb(0, 8e6, p1514, 1600)
		cs = append(cs, readCase{
			name:   "pcapng/obsolete-packet-block",
			file:   n.bytes(),
			format: "pcapng",
			pkts: []pkt{
				{p60, Info{Timestamp: 7e9, CapLen: 60, WireLen: 60, LinkType: layers.LinkTypeRaw, Interface: 1}},
				{p1514, ethInfo(8e9, p1514, 1600)},
			},
		})
	}

	// Every other block type is skipped, including one larger than the
	// read buffer, which is streamed.
	{
		n := &ng{bo: le}
		n.shb().idb(1, 0).
			block(5, make([]byte, 20)).                 // interface statistics
			block(4, []byte{0, 0, 0, 0}).               // name resolution, empty
			block(0x0a, make([]byte, 12)).              // decryption secrets
			block(0x00000bad, []byte("abcdefgh")).      // custom
			block(0x40000bad, nil).                     // custom, do not copy
			block(0x12345678, payload(3*bufSize+5, 9)). // unknown and larger than the buffer
			epb(0, 9e6, p60, 60).
			block(0x0bad, make([]byte, bufSize-12)). // exactly the buffer
			epb(0, 1e7, p60, 60)
		cs = append(cs, readCase{
			name:   "pcapng/other-blocks-skipped",
			file:   n.bytes(),
			format: "pcapng",
			pkts:   []pkt{{p60, ethInfo(9e9, p60, 60)}, {p60, ethInfo(1e10, p60, 60)}},
		})
	}

	cs = append(cs, readCase{
		name:   "pcapng/only-section-header",
		file:   (&ng{bo: be}).shb().bytes(),
		format: "pcapng",
	}, readCase{
		name:   "pcapng/interface-but-no-packets",
		file:   (&ng{bo: le}).shb().idb(1, 0).bytes(),
		format: "pcapng",
	})

	// Broken files. base: SHB (0..28), IDB (28..48), EPB 92 bytes (48..140),
	// EPB 1548 bytes (140..1688).
	base := func() *ng { return (&ng{bo: le}).shb().idb(1, 0).epb(0, 1e6, p60, 60).epb(0, 2e6, p1514, 1514) }
	if o := base().offs; o[1] != 28 || o[2] != 48 || o[3] != 140 || len(base().bytes()) != 1688 {
		panic(fmt.Sprintf("unexpected layout %v", o))
	}
	first := pkt{p60, ethInfo(1e9, p60, 60)}
	patch := func(off int, v uint32) []byte {
		b := base().bytes()
		le.PutUint32(b[off:], v)
		return b
	}
	broken := []struct {
		name string
		file []byte
		pkts []pkt
		err  *FormatError
	}{
		{"bad-trailer", patch(140-4, 96), nil, fe(48, 1, "block length mismatch: header says 92, trailer says 96")},
		{"bad-trailer-idb", patch(48-4, 0), nil, fe(28, 1, "block length mismatch: header says 20, trailer says 0")},
		{"bad-trailer-shb", patch(28-4, 32), nil, fe(0, 0, "block length mismatch: header says 28, trailer says 32")},
		{"length-not-multiple-of-4", patch(140+4, 1545), []pkt{first}, fe(140, 2, "bad block length 1545 for block type 0x6 (must be a multiple of 4, at least 32)")},
		{"epb-length-too-small", patch(140+4, 28), []pkt{first}, fe(140, 2, "bad block length 28 for block type 0x6 (must be a multiple of 4, at least 32)")},
		{"epb-over-limit", patch(140+4, maxBuffered+4), []pkt{first}, fe(140, 2, "block length %d exceeds the %d byte limit", maxBuffered+4, maxBuffered)},
		{"caplen-exceeds-block", patch(48+20, 61), nil, fe(48, 1, "captured length 61 exceeds the 92-byte block")},
		{"caplen-over-1MiB", patch(48+20, MaxRecord+1), nil, fe(48, 1, "record length 1048577 exceeds the 1 MiB limit")},
		{"undefined-interface", patch(140+8, 1), []pkt{first}, fe(140, 2, "packet names interface 1, but the section defines 1")},
		{"shb-version-2", patch(12, 2), nil, fe(0, 0, "unsupported pcapng version 2.0")},
		{"shb-byte-order", patch(8, 0x01020304), nil, fe(0, 0, "bad pcapng byte-order magic 04 03 02 01")},
		{"shb-length", patch(4, 24), nil, fe(0, 0, "bad block length 24 for block type 0xa0d0d0a (must be a multiple of 4, at least 28)")},
		{"unknown-block-too-short", cat(base().bytes()[:140], []byte{0x99, 0, 0, 0, 8, 0, 0, 0, 8, 0, 0, 0}), []pkt{first}, fe(140, 2, "bad block length 8 for block type 0x99 (must be a multiple of 4, at least 12)")},
		{"idb-option-overrun", (&ng{bo: le}).shb().idb(1, 0, []byte{9, 0, 8, 0, 6, 0, 0, 0}).bytes(), nil, fe(28, 1, "interface option 9: length 8 overruns the block")},
		{"cut-in-shb-head", base().bytes()[:10], nil, fe(0, 0, "truncated section header: needs 28 bytes, file ends after 10")},
		{"cut-in-shb-body", base().bytes()[:20], nil, fe(0, 0, "truncated block: header says 28 bytes, file ends after 20")},
		{"cut-in-idb", base().bytes()[:40], nil, fe(28, 1, "truncated block: header says 20 bytes, file ends after 12")},
		{"cut-in-block-header", base().bytes()[:143], []pkt{first}, fe(140, 2, "truncated block header: needs 8 bytes, file ends after 3")},
		{"cut-in-epb-data", base().bytes()[:1000], []pkt{first}, fe(140, 2, "truncated block: header says 1548 bytes, file ends after 860")},
		{"cut-in-epb-trailer", base().bytes()[:1687], []pkt{first}, fe(140, 2, "truncated block: header says 1548 bytes, file ends after 1547")},
		{"cut-at-boundary", base().bytes()[:140], []pkt{first}, nil},
	}
	{
		// A second section forgets the first one's interfaces.
		n := (&ng{bo: le}).shb().idb(1, 0).epb(0, 1e6, p60, 60).shb().epb(0, 2e6, p60, 60)
		broken = append(broken, struct {
			name string
			file []byte
			pkts []pkt
			err  *FormatError
		}{"new-section-resets-interfaces", n.bytes(), []pkt{first}, fe(int64(n.offs[4]), 2, "packet names interface 0, but the section defines 0")})
		m := (&ng{bo: le}).shb().idb(1, 0).epb(0, 1e6, p60, 60).shbVersion(2, 0)
		broken = append(broken, struct {
			name string
			file []byte
			pkts []pkt
			err  *FormatError
		}{"second-section-version-2", m.bytes(), []pkt{first}, fe(140, 2, "unsupported pcapng version 2.0")})
		// A streamed (larger than the buffer) block that is cut or lies.
		big := (&ng{bo: le}).shb().idb(1, 0).epb(0, 1e6, p60, 60).block(0x77, make([]byte, 2*bufSize)).bytes()
		total := 12 + 2*bufSize
		broken = append(broken, struct {
			name string
			file []byte
			pkts []pkt
			err  *FormatError
		}{"cut-in-streamed-block", big[:140+bufSize+bufSize/2], []pkt{first}, fe(140, 2, "truncated block: header says %d bytes, file ends after %d", total, bufSize+bufSize/2)},
			struct {
				name string
				file []byte
				pkts []pkt
				err  *FormatError
			}{"cut-in-streamed-block-trailer", big[:len(big)-2], []pkt{first}, fe(140, 2, "truncated block: header says %d bytes, file ends after %d", total, total-2)})
		bad := bytes.Clone(big)
		le.PutUint32(bad[len(bad)-4:], 4)
		broken = append(broken, struct {
			name string
			file []byte
			pkts []pkt
			err  *FormatError
		}{"streamed-block-bad-trailer", bad, []pkt{first}, fe(140, 2, "block length mismatch: header says %d, trailer says 4", total)})
	}
	for _, b := range broken {
		cs = append(cs, readCase{name: "pcapng/" + b.name, file: b.file, format: "pcapng", pkts: b.pkts, err: b.err})
	}
	return cs
}

func otherCases() []readCase {
	return []readCase{
		{name: "text-file", file: []byte("# ids-sensor rules\nalert tcp any any\n"), err: fe(0, 0, "not a pcap or pcapng file (first bytes 23 20 69 64)")},
		{name: "empty-file", file: nil, err: fe(0, 0, "empty file")},
		{name: "one-byte", file: []byte{0x0a}, err: fe(0, 0, "truncated file header: file ends after 1 bytes")},
		{name: "three-bytes-not-a-magic", file: []byte{1, 2, 3}, err: fe(0, 0, "not a pcap or pcapng file (first bytes 01 02 03)")},
	}
}

func allCases() []readCase {
	return append(append(pcapCases(), pcapngCases()...), otherCases()...)
}

// check reads f to the end and compares with c.
func check(t *testing.T, c readCase, f *File, openErr error, wantFormat string) {
	t.Helper()
	const name = "test.cap"
	var got error
	var n int
	if openErr != nil {
		got = openErr
	} else {
		if f.Format() != wantFormat {
			t.Errorf("Format() = %q, want %q", f.Format(), wantFormat)
		}
		for ; ; n++ {
			data, info, err := f.Next()
			if err != nil {
				got = err
				if _, _, err2 := f.Next(); err2 != err {
					t.Errorf("error not sticky: %v then %v", err, err2)
				}
				break
			}
			if n >= len(c.pkts) {
				t.Fatalf("extra packet %d: %+v", n+1, info)
			}
			w := c.pkts[n]
			if info != w.info {
				t.Errorf("packet %d: info %+v, want %+v", n+1, info, w.info)
			}
			if !bytes.Equal(data, w.data) {
				t.Errorf("packet %d: data differs (len %d, want %d)", n+1, len(data), len(w.data))
			}
			if len(data) != info.CapLen || cap(data) != len(data) {
				t.Errorf("packet %d: len %d cap %d CapLen %d", n+1, len(data), cap(data), info.CapLen)
			}
		}
		if f.Records() != n {
			t.Errorf("Records() = %d, want %d", f.Records(), n)
		}
	}
	if n != len(c.pkts) {
		t.Errorf("got %d packets, want %d", n, len(c.pkts))
	}
	if c.err == nil {
		if got != io.EOF {
			t.Fatalf("got error %v, want io.EOF", got)
		}
		if f.Offset() != int64(len(c.file)) {
			t.Errorf("Offset() = %d at EOF, want %d", f.Offset(), len(c.file))
		}
		return
	}
	var gotErr *FormatError
	if !errors.As(got, &gotErr) {
		t.Fatalf("got error %v (%T), want *FormatError", got, got)
	}
	want := *c.err
	want.Name = name
	if *gotErr != want {
		t.Errorf("got  %+v\nwant %+v", *gotErr, want)
	}
}

func TestRead(t *testing.T) {
	for _, c := range allCases() {
		variants := []struct {
			name   string
			r      func() io.Reader
			format string
		}{
			{"plain", func() io.Reader { return bytes.NewReader(c.file) }, c.format},
			{"one-byte-reads", func() io.Reader { return iotest.OneByteReader(bytes.NewReader(c.file)) }, c.format},
			{"gzip", func() io.Reader { return bytes.NewReader(gzipped(c.file)) }, c.format + " (gzip)"},
		}
		for _, v := range variants {
			if v.name == "one-byte-reads" && len(c.file) > 1<<20 {
				continue // slow and adds nothing
			}
			t.Run(c.name+"/"+v.name, func(t *testing.T) {
				f, err := NewReader(v.r(), "test.cap")
				check(t, c, f, err, v.format)
			})
		}
	}
}

func TestFormatErrorString(t *testing.T) {
	e := &FormatError{Name: "x.pcap", Offset: 100, Record: 2, Reason: "truncated record: header says 1514 bytes, file ends after 12"}
	if got, want := e.Error(), "x.pcap: byte offset 100: record 2: truncated record: header says 1514 bytes, file ends after 12"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &FormatError{Name: "x.txt", Reason: "empty file"}
	if got, want := e.Error(), "x.txt: byte offset 0: empty file"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()

	_, err := Open(filepath.Join(dir, "missing.pcap"))
	if _, ok := err.(*os.PathError); !ok || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v (%T), want *os.PathError from os.Open", err, err)
	}

	// Detection is by magic, never by name.
	ngPath := filepath.Join(dir, "really-pcapng.pcap")
	os.WriteFile(ngPath, (&ng{bo: le}).shb().idb(1, 0).epb(0, 1e6, p60, 60).bytes(), 0o644)
	f, err := Open(ngPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format() != "pcapng" {
		t.Errorf("Format() = %q", f.Format())
	}
	if _, _, err := f.Next(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Next(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Next after Close: %v", err)
	}

	gzPath := filepath.Join(dir, "capture.pcapng")
	os.WriteFile(gzPath, gzipped(cat(pcapHeader(be, true, 2, 65535, 1), pcapRecord(be, 1, 2, p60, 60))), 0o644)
	f, err = Open(gzPath)
	if err != nil {
		t.Fatal(err)
	}
	if f.Format() != "pcap (gzip)" {
		t.Errorf("Format() = %q", f.Format())
	}
	if _, info, err := f.Next(); err != nil || info.Timestamp != 1e9+2 {
		t.Errorf("Next: %+v %v", info, err)
	}
	if _, _, err := f.Next(); err != io.EOF {
		t.Errorf("Next: %v, want io.EOF", err)
	}
	f.Close()

	txt := filepath.Join(dir, "notes.pcap")
	os.WriteFile(txt, []byte("# id notes\n"), 0o644)
	_, err = Open(txt)
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Name != txt || fe.Offset != 0 || fe.Record != 0 ||
		fe.Reason != "not a pcap or pcapng file (first bytes 23 20 69 64)" {
		t.Errorf("text file: %v", err)
	}
}

func TestGzipDamage(t *testing.T) {
	file := cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, 0, 0, p60, 60), pcapRecord(le, 0, 0, p1514, 1514))
	z := gzipped(file)

	// A bad CRC is only noticed at the end of the stream: every packet is
	// read, then the damage is reported where the next record would start.
	bad := bytes.Clone(z)
	bad[len(bad)-8] ^= 0xff
	f, err := NewReader(bytes.NewReader(bad), "bad.gz")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := f.Next(); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err = f.Next()
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Offset != int64(len(file)) || fe.Record != 3 || fe.Reason != "gzip stream: gzip: invalid checksum" {
		t.Errorf("bad checksum: %v", err)
	}

	// A cut gzip stream ends in "truncated gzip stream".
	f, err = NewReader(bytes.NewReader(z[:len(z)-20]), "cut.gz")
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, _, err = f.Next()
	}
	if !errors.As(err, &fe) || fe.Reason != "truncated gzip stream" {
		t.Errorf("cut stream: %v", err)
	}

	// A gzip header that is not one.
	_, err = NewReader(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0}), "hdr.gz")
	if !errors.As(err, &fe) || fe.Offset != 0 || fe.Record != 0 || !strings.HasPrefix(fe.Reason, "gzip stream: ") {
		t.Errorf("bad gzip header: %v", err)
	}
	_, err = NewReader(bytes.NewReader([]byte{0x1f, 0x8b}), "short.gz")
	if !errors.As(err, &fe) || fe.Reason != "truncated gzip stream" {
		t.Errorf("short gzip header: %v", err)
	}
}

func TestReadError(t *testing.T) {
	// An I/O error is not a format error: it is passed on, wrapped.
	boom := errors.New("boom")
	file := cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, 0, 0, p60, 60), pcapRecord(le, 0, 0, p60, 60))
	f, err := NewReader(io.MultiReader(bytes.NewReader(file[:110]), iotest.ErrReader(boom)), "io.pcap")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Next(); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.Next()
	var fe *FormatError
	if !errors.Is(err, boom) || errors.As(err, &fe) {
		t.Errorf("got %v, want the wrapped I/O error", err)
	}
	if want := "io.pcap: byte offset 100: boom"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestBufferBoundaries(t *testing.T) {
	// Records of every size from 0 to 2000 bytes cross the end of the 1 MiB
	// buffer at every possible point across several refills.
	var recs [][]byte
	file := pcapHeader(le, true, 2, 65535, 1)
	ngf := (&ng{bo: be}).shb().idb(1, 0)
	for i := 0; len(file) < 5*bufSize; i++ {
		d := payload(i%2001, byte(i))
		recs = append(recs, d)
		file = append(file, pcapRecord(le, uint32(i), 0, d, uint32(len(d)))...)
		ngf.epb(0, uint64(i), d, uint32(len(d)))
	}
	for _, in := range []struct {
		name string
		b    []byte
	}{{"pcap", file}, {"pcapng", ngf.bytes()}} {
		f, err := NewReader(iotest.HalfReader(bytes.NewReader(in.b)), in.name)
		if err != nil {
			t.Fatal(err)
		}
		var prev []byte
		for i, want := range recs {
			data, info, err := f.Next()
			if err != nil {
				t.Fatalf("%s: record %d: %v", in.name, i+1, err)
			}
			if !bytes.Equal(data, want) || info.WireLen != len(want) {
				t.Fatalf("%s: record %d differs", in.name, i+1)
			}
			// The packet before stays intact until the Next after this one (engine.Push).
			if i > 0 && !bytes.Equal(prev, recs[i-1]) {
				t.Fatalf("%s: record %d was overwritten by reading record %d", in.name, i, i+1)
			}
			prev = data
		}
		if _, _, err := f.Next(); err != io.EOF {
			t.Fatalf("%s: %v", in.name, err)
		}
		if f.Offset() != int64(len(in.b)) || f.Records() != len(recs) {
			t.Errorf("%s: Offset %d Records %d", in.name, f.Offset(), f.Records())
		}
		if len(f.buf) != bufSize {
			t.Errorf("%s: buffer grew to %d", in.name, len(f.buf))
		}
	}
}

func TestLyingLengthDoesNotAllocate(t *testing.T) {
	// A 40-byte file claiming a record just under the limit must not make
	// the buffer grow: growth happens only once the bytes have arrived.
	file := cat(pcapHeader(le, false, 2, 65535, 1), pcapRecordLen32(le, 0, 0, MaxRecord, MaxRecord, nil))
	for _, r := range []io.Reader{bytes.NewReader(file), iotest.HalfReader(bytes.NewReader(file))} {
		f, err := NewReader(r, "lie.pcap")
		if err != nil {
			t.Fatal(err)
		}
		size := len(f.buf)
		_, _, err = f.Next()
		var fe *FormatError
		if !errors.As(err, &fe) || fe.Reason != "truncated record: header says 1048576 bytes, file ends after 0" {
			t.Errorf("got %v", err)
		}
		if len(f.buf) != size {
			t.Errorf("buffer grew from %d to %d for a record that is not there", size, len(f.buf))
		}
	}
	// A reader that tells its size gets a buffer of that size.
	small := cat(pcapHeader(le, false, 2, 65535, 1), pcapRecord(le, 0, 0, p60, 60), pcapRecord(le, 0, 0, p60, 60))
	if f, _ := NewReader(bytes.NewReader(small), "small.pcap"); len(f.buf) != len(small)+1 {
		t.Errorf("buffer of %d bytes for a %d-byte file", len(f.buf), len(small))
	}
}

func TestBinNanos(t *testing.T) {
	for _, c := range []struct {
		ts   uint64
		e    uint
		want uint64
	}{
		{5, 0, 5e9},
		{1<<20 | 1<<19, 20, 1.5e9},
		{1<<63 | 1<<62, 64, 0.75e9},
		{1 << 63, 127, 0},
		{^uint64(0), 127, 0},
		{3 << 30, 32, 0.75e9},
		{1 << 39, 40, 0.5e9}, // frac*1e9 needs more than 64 bits
		{1<<62 | 1<<61, 63, 0.75e9},
		{1<<45 | 1<<44 | 1, 45, 1.5e9}, // 1 unit = 0.03 ns
		{1, 30, 0},                     // 0.93 ns
		{2, 30, 1},
	} {
		if got := binNanos(c.ts, c.e); got != c.want {
			t.Errorf("binNanos(%d, %d) = %d, want %d", c.ts, c.e, got, c.want)
		}
	}
	var i iface
	for v := 0; v < 256; v++ { // no unit may divide by zero
		i.setResolution(byte(v))
		i.nanos(^uint64(0))
	}
	i.setResolution(28)
	if got := i.nanos(1e19); got != 1 {
		t.Errorf("10^-28: got %d", got)
	}
	i.setResolution(29)
	if got := i.nanos(^uint64(0)); got != 0 {
		t.Errorf("10^-29: got %d", got)
	}
}
