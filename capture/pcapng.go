package capture

import (
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/gopacket/gopacket/layers"
)

// pcapng, as https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/
// describes it. Every block is: type, total length, body, total length again.
const (
	blockSHB = 0x0a0d0d0a // section header
	blockIDB = 1          // interface description
	blockPB  = 2          // packet (obsolete)
	blockSPB = 3          // simple packet
	blockEPB = 6          // enhanced packet

	byteOrderMagic = 0x1a2b3c4d

	optEndOfOpt = 0
	optTsResol  = 9  // if_tsresol: timestamp units per second
	optTsOffset = 14 // if_tsoffset: seconds added to every timestamp
)

// Smallest total length of each block type: 12 bytes of framing plus the
// fixed part of its body.
const (
	minBlock = 12
	minSHB   = 28 // byte-order magic, version, section length
	minIDB   = 20 // link type, reserved, snaplen
	minSPB   = 16 // original length
	minEPB   = 32 // interface, timestamp, captured and original length; PB too
)

// iface is one Interface Description Block of the current section.
type iface struct {
	linkType layers.LinkType
	snaplen  uint32 // 0: unlimited
	// Timestamp units, from if_tsresol. Decimal 10^-k: ns = ts*mul when
	// k <= 9, ts/div when k > 9 (0 when k is so large every ts rounds to 0).
	// Binary 2^-k: see binNanos.
	mul, div uint64
	binExp   uint
	binary   bool
	offset   int64 // if_tsoffset, in nanoseconds
}

var pow10 = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// setResolution applies an if_tsresol value: the high bit selects a power of
// two, the rest is the negative exponent.
func (i *iface) setResolution(v byte) {
	exp := uint(v & 0x7f)
	i.binary, i.binExp, i.mul, i.div = v&0x80 != 0, exp, 0, 0
	switch {
	case i.binary:
	case exp <= 9:
		i.mul = pow10[9-exp]
	case exp-9 < uint(len(pow10)):
		i.div = pow10[exp-9]
	}
}

// nanos converts a 64-bit timestamp in the interface's units to Unix
// nanoseconds. Absurd units or offsets wrap rather than fail: the packet is
// still worth reading.
func (i *iface) nanos(ts uint64) int64 {
	var ns uint64
	switch {
	case i.binary:
		ns = binNanos(ts, i.binExp)
	case i.div != 0:
		ns = ts / i.div
	default:
		ns = ts * i.mul
	}
	return int64(ns) + i.offset
}

// binNanos converts ts units of 2^-e seconds to nanoseconds exactly (rounded
// down), with a 128-bit product so large exponents cannot overflow.
func binNanos(ts uint64, e uint) uint64 {
	if e >= 64 {
		hi, _ := bits.Mul64(ts, 1e9)
		return hi >> (e - 64)
	}
	hi, lo := bits.Mul64(ts&(1<<e-1), 1e9)
	return (ts>>e)*1e9 + (hi<<(64-e) | lo>>e)
}

// readSectionHeader reads a Section Header Block at buf[r:]: it sets the
// byte order for the section and forgets the previous section's interfaces.
func (f *File) readSectionHeader() error {
	start := f.Offset()
	if err := f.fill(12); err != nil {
		return f.truncated(err, start, "section header", false, minSHB, f.w-f.r)
	}
	b := f.buf[f.r:]
	switch binary.BigEndian.Uint32(b[8:]) {
	case byteOrderMagic:
		f.be = true
	case bits.ReverseBytes32(byteOrderMagic):
		f.be = false
	default:
		return f.errorf(start, "bad pcapng byte-order magic % x", b[8:12])
	}
	length := f.u32(b[4:])
	if err := f.checkLength(start, blockSHB, length, minSHB); err != nil {
		return err
	}
	if err := f.fill(16); err != nil {
		return f.truncated(err, start, "block", true, int(length), f.w-f.r)
	}
	// A new major version may change the layout; minor ones may not.
	if major, minor := f.u16(f.buf[f.r+12:]), f.u16(f.buf[f.r+14:]); major != 1 {
		return f.errorf(start, "unsupported pcapng version %d.%d", major, minor)
	}
	// The section length and the options are of no use to us.
	if err := f.skip(start, length); err != nil {
		return err
	}
	f.ifaces = f.ifaces[:0]
	return nil
}

// nextPcapng reads blocks until the next packet.
func (f *File) nextPcapng() ([]byte, Info, error) {
	for {
		start := f.Offset()
		if err := f.fill(8); err != nil {
			if err == io.EOF && f.r == f.w {
				return nil, Info{}, io.EOF
			}
			return nil, Info{}, f.truncated(err, start, "block header", false, 8, f.w-f.r)
		}
		typ, length := f.u32(f.buf[f.r:]), f.u32(f.buf[f.r+4:])
		var err error
		switch typ {
		case blockSHB:
			err = f.readSectionHeader()
		case blockIDB:
			var b []byte
			if b, err = f.block(start, typ, length, minIDB); err == nil {
				err = f.addInterface(start, b)
			}
		case blockEPB, blockPB, blockSPB:
			least := minEPB
			if typ == blockSPB {
				least = minSPB
			}
			b, err := f.block(start, typ, length, least)
			if err != nil {
				return nil, Info{}, err
			}
			return f.packet(start, typ, b)
		default:
			// Statistics, name resolution, decryption secrets, custom and
			// future blocks carry nothing a packet reader needs.
			if err = f.checkLength(start, typ, length, minBlock); err == nil {
				err = f.skip(start, length)
			}
		}
		if err != nil {
			return nil, Info{}, err
		}
	}
}

// checkLength validates a block's total length from its header.
func (f *File) checkLength(start int64, typ, length uint32, least int) error {
	if length < uint32(least) || length%4 != 0 {
		return f.errorf(start, "bad block length %d for block type 0x%x (must be a multiple of 4, at least %d)", length, typ, least)
	}
	return nil
}

// trailer checks the copy of the total length that ends every block; b is
// the whole block.
func (f *File) trailer(start int64, b []byte) error {
	if t := f.u32(b[len(b)-4:]); t != uint32(len(b)) {
		return f.errorf(start, "block length mismatch: header says %d, trailer says %d", len(b), t)
	}
	return nil
}

// block buffers the whole block at buf[r:], checks its framing, consumes it
// and returns it. The slice stays valid until the next fill.
func (f *File) block(start int64, typ, length uint32, least int) ([]byte, error) {
	if err := f.checkLength(start, typ, length, least); err != nil {
		return nil, err
	}
	if length > maxBuffered {
		return nil, f.errorf(start, "block length %d exceeds the %d byte limit", length, maxBuffered)
	}
	n := int(length)
	if err := f.fill(n); err != nil {
		return nil, f.truncated(err, start, "block", true, n, f.w-f.r)
	}
	b := f.buf[f.r : f.r+n : f.r+n]
	if err := f.trailer(start, b); err != nil {
		return nil, err
	}
	f.r += n
	return b, nil
}

// skip consumes a block whose body we do not need. Blocks larger than the
// buffer are streamed through it rather than buffered whole.
func (f *File) skip(start int64, length uint32) error {
	if int(length) <= len(f.buf) {
		_, err := f.block(start, 0, length, minBlock)
		return err
	}
	for left := int64(length) - 4; left > 0; {
		if f.r == f.w {
			if err := f.fill(1); err != nil {
				return f.truncated(err, start, "block", true, int(length), int(f.Offset()-start))
			}
		}
		n := min(int64(f.w-f.r), left)
		f.r += int(n)
		left -= n
	}
	if err := f.fill(4); err != nil {
		return f.truncated(err, start, "block", true, int(length), int(f.Offset()-start)+f.w-f.r)
	}
	if t := f.u32(f.buf[f.r:]); t != length {
		return f.errorf(start, "block length mismatch: header says %d, trailer says %d", length, t)
	}
	f.r += 4
	return nil
}

// addInterface parses an Interface Description Block.
func (f *File) addInterface(start int64, b []byte) error {
	ifc := iface{linkType: layers.LinkType(f.u16(b[8:])), snaplen: f.u32(b[12:])}
	ifc.setResolution(6) // default: microseconds
	for opts := b[16 : len(b)-4]; len(opts) >= 4; {
		code, n := f.u16(opts), int(f.u16(opts[2:]))
		if code == optEndOfOpt {
			break
		}
		if 4+n > len(opts) {
			return f.errorf(start, "interface option %d: length %d overruns the block", code, n)
		}
		v := opts[4 : 4+n]
		// Options of the wrong size are ignored, not fatal: the packets
		// are still readable with default units.
		switch {
		case code == optTsResol && n >= 1:
			ifc.setResolution(v[0])
		case code == optTsOffset && n >= 8:
			ifc.offset = int64(f.u64(v)) * 1e9
		}
		opts = opts[min(4+(n+3)&^3, len(opts)):]
	}
	f.ifaces = append(f.ifaces, ifc)
	return nil
}

// packet parses an EPB, PB or SPB block b (already consumed).
func (f *File) packet(start int64, typ uint32, b []byte) ([]byte, Info, error) {
	if typ == blockSPB {
		// No interface field: the packet belongs to the first interface,
		// and its captured length is implied by the snaplen.
		if len(f.ifaces) == 0 {
			return nil, Info{}, f.errorf(start, "simple packet block before any interface description")
		}
		ifc := &f.ifaces[0]
		wire := f.u32(b[8:])
		n := min(uint64(wire), uint64(len(b)-minSPB))
		if ifc.snaplen != 0 {
			n = min(n, uint64(ifc.snaplen))
		}
		if n > MaxRecord {
			return nil, Info{}, f.errorf(start, "record length %d exceeds the 1 MiB limit", n)
		}
		return b[12 : 12+n : 12+n], Info{CapLen: int(n), WireLen: int(wire), LinkType: ifc.linkType}, nil
	}
	var id uint32
	if typ == blockEPB {
		id = f.u32(b[8:])
	} else {
		id = uint32(f.u16(b[8:])) // then a 16-bit drop count
	}
	if id >= uint32(len(f.ifaces)) {
		return nil, Info{}, f.errorf(start, "packet names interface %d, but the section defines %d", id, len(f.ifaces))
	}
	ifc := &f.ifaces[id]
	ts := uint64(f.u32(b[12:]))<<32 | uint64(f.u32(b[16:]))
	caplen, wire := f.u32(b[20:]), f.u32(b[24:])
	if caplen > MaxRecord {
		return nil, Info{}, f.errorf(start, "record length %d exceeds the 1 MiB limit", caplen)
	}
	// Data is followed by padding, options and the 4-byte trailer.
	if int(caplen) > len(b)-minEPB {
		return nil, Info{}, f.errorf(start, "captured length %d exceeds the %d-byte block", caplen, len(b))
	}
	n := 28 + int(caplen)
	return b[28:n:n], Info{
		Timestamp: ifc.nanos(ts),
		CapLen:    int(caplen),
		WireLen:   int(wire),
		LinkType:  ifc.linkType,
		Interface: int(id),
	}, nil
}
