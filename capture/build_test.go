package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
)

// Builders for hand-made capture files. They write exactly what they are
// told, so tests can also build broken files.

// byteOrder reads, writes and appends.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

var (
	le byteOrder = binary.LittleEndian
	be byteOrder = binary.BigEndian
)

// pcapHeader builds a classic pcap file header.
func pcapHeader(bo byteOrder, nano bool, major uint16, snaplen, link uint32) []byte {
	magic := uint32(0xa1b2c3d4)
	if nano {
		magic = 0xa1b23c4d
	}
	h := make([]byte, 24)
	bo.PutUint32(h[0:], magic)
	bo.PutUint16(h[4:], major)
	bo.PutUint16(h[6:], 4)
	bo.PutUint32(h[16:], snaplen)
	bo.PutUint32(h[20:], link)
	return h
}

// pcapRecord builds a record header (caplen = len(data)) and the data.
func pcapRecord(bo byteOrder, sec, frac uint32, data []byte, wire uint32) []byte {
	return pcapRecordLen32(bo, sec, frac, uint32(len(data)), wire, data)
}

// pcapRecordLen32 builds a record with an arbitrary caplen field.
func pcapRecordLen32(bo byteOrder, sec, frac, caplen, wire uint32, data []byte) []byte {
	h := make([]byte, 16, 16+len(data))
	bo.PutUint32(h[0:], sec)
	bo.PutUint32(h[4:], frac)
	bo.PutUint32(h[8:], caplen)
	bo.PutUint32(h[12:], wire)
	return append(h, data...)
}

// ng builds a pcapng file block by block; bo is the byte order of the
// current section and may be switched before a new shb.
type ng struct {
	bo  byteOrder
	buf []byte
	// offsets of the blocks written, in order
	offs []int
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// option encodes one option, padded.
func option(bo byteOrder, code uint16, val []byte) []byte {
	o := make([]byte, 4, 4+len(val)+3)
	bo.PutUint16(o[0:], code)
	bo.PutUint16(o[2:], uint16(len(val)))
	return pad4(append(o, val...))
}

// endOfOpt is opt_endofopt.
var endOfOpt = []byte{0, 0, 0, 0}

// block frames body (padded) as a block of type typ.
func (n *ng) block(typ uint32, body []byte) *ng {
	body = pad4(append([]byte(nil), body...))
	total := uint32(12 + len(body))
	n.offs = append(n.offs, len(n.buf))
	n.buf = n.bo.AppendUint32(n.buf, typ)
	n.buf = n.bo.AppendUint32(n.buf, total)
	n.buf = append(n.buf, body...)
	n.buf = n.bo.AppendUint32(n.buf, total)
	return n
}

func (n *ng) shbVersion(major, minor uint16, opts ...[]byte) *ng {
	body := n.bo.AppendUint32(nil, 0x1a2b3c4d)
	body = n.bo.AppendUint16(body, major)
	body = n.bo.AppendUint16(body, minor)
	body = n.bo.AppendUint64(body, ^uint64(0)) // section length unknown
	for _, o := range opts {
		body = append(body, o...)
	}
	return n.block(blockSHB, body)
}

func (n *ng) shb(opts ...[]byte) *ng { return n.shbVersion(1, 0, opts...) }

func (n *ng) idb(link uint16, snaplen uint32, opts ...[]byte) *ng {
	body := n.bo.AppendUint16(nil, link)
	body = n.bo.AppendUint16(body, 0)
	body = n.bo.AppendUint32(body, snaplen)
	for _, o := range opts {
		body = append(body, o...)
	}
	return n.block(blockIDB, body)
}

func (n *ng) epb(id uint32, ts uint64, data []byte, wire uint32, opts ...[]byte) *ng {
	body := n.bo.AppendUint32(nil, id)
	body = n.bo.AppendUint32(body, uint32(ts>>32))
	body = n.bo.AppendUint32(body, uint32(ts))
	body = n.bo.AppendUint32(body, uint32(len(data)))
	body = n.bo.AppendUint32(body, wire)
	body = pad4(append(body, data...))
	for _, o := range opts {
		body = append(body, o...)
	}
	return n.block(blockEPB, body)
}

func (n *ng) pb(id uint16, ts uint64, data []byte, wire uint32) *ng {
	body := n.bo.AppendUint16(nil, id)
	body = n.bo.AppendUint16(body, 7) // drops count
	body = n.bo.AppendUint32(body, uint32(ts>>32))
	body = n.bo.AppendUint32(body, uint32(ts))
	body = n.bo.AppendUint32(body, uint32(len(data)))
	body = n.bo.AppendUint32(body, wire)
	return n.block(blockPB, append(body, data...))
}

func (n *ng) spb(wire uint32, data []byte) *ng {
	return n.block(blockSPB, append(n.bo.AppendUint32(nil, wire), data...))
}

// raw appends bytes as they are.
func (n *ng) raw(b ...byte) *ng {
	n.buf = append(n.buf, b...)
	return n
}

func (n *ng) bytes() []byte { return n.buf }

// u64opt encodes a 64-bit option value in the section's byte order.
func (n *ng) u64opt(code uint16, v uint64) []byte {
	return option(n.bo, code, n.bo.AppendUint64(nil, v))
}

// payload returns n recognisable bytes.
func payload(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// loopReader serves head once, then body over and over: an endless capture
// for benchmarks and allocation tests that costs no memory.
type loopReader struct {
	head, body []byte
	off        int
	inBody     bool
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		src := l.head
		if l.inBody {
			src = l.body
		}
		c := copy(p[n:], src[l.off:])
		n += c
		l.off += c
		if l.off == len(src) {
			l.off, l.inBody = 0, true
		}
	}
	return n, nil
}

var _ io.Reader = (*loopReader)(nil)
