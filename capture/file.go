package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
)

// MaxRecord is the largest captured length a record may claim: four times
// libpcap's MAXIMUM_SNAPLEN (256 KiB). Anything longer is a broken file, and
// rejecting it before reading keeps a 40-byte file from costing 4 GiB.
const MaxRecord = 4 * 256 << 10

const (
	// bufSize is the initial read buffer: large reads, few syscalls.
	bufSize = 1 << 20
	// maxBuffered bounds the buffer: one MaxRecord packet plus room for a
	// pcapng block's header and options. Blocks we skip are streamed and
	// never need to fit.
	maxBuffered = MaxRecord + 64<<10
)

// Info describes one captured record.
type Info struct {
	Timestamp int64           // Unix time in nanoseconds
	CapLen    int             // bytes captured (len(data))
	WireLen   int             // original length on the wire as recorded in the file
	LinkType  layers.LinkType // per-interface for pcapng
	Interface int             // pcapng interface index; 0 for pcap
}

// FormatError reports a capture file that cannot be read further.
type FormatError struct {
	Name   string // file name as given
	Offset int64  // byte offset (in the decompressed stream) where the bad record/block starts
	Record int    // 1-based index of the packet record being read (0 for the file header)
	Reason string // what is wrong, e.g. "truncated record: header says 1514 bytes, file ends after 12"
}

func (e *FormatError) Error() string {
	if e.Record == 0 {
		return fmt.Sprintf("%s: byte offset %d: %s", e.Name, e.Offset, e.Reason)
	}
	return fmt.Sprintf("%s: byte offset %d: record %d: %s", e.Name, e.Offset, e.Record, e.Reason)
}

type format uint8

const (
	formatNone format = iota // still reading the file header
	formatPcap
	formatPcapng
)

// File reads one capture file: classic pcap or pcapng, optionally gzip
// compressed. See the package documentation for the invariants.
type File struct {
	name string
	src  io.Reader    // the capture stream (decompressed if gzip)
	gz   *gzip.Reader // non-nil for gzip files
	file *os.File     // opened by Open, closed by Close
	buf  []byte       // read buffer
	prev []byte       // the other read buffer: refills take turns, so the last packet survives one
	r, w int          // unread bytes are buf[r:w]
	base int64        // stream offset of buf[0]
	rerr error        // sticky error from src (io.EOF at its end)
	err  error        // sticky error returned by Next
	kind format       // formatNone until the file header is read
	be   bool         // big-endian file (pcapng: current section)
	recs int          // packet records returned

	// pcap
	tsUnit   int64 // nanoseconds per timestamp fraction unit: 1000 or 1
	linkType layers.LinkType
	snaplen  uint32 // informational: longer records are still returned

	// pcapng: interfaces of the current section
	ifaces []iface
}

// Open opens and detects the capture file at path. A missing or unreadable
// file yields the *os.PathError from os.Open unchanged.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	f, err := NewReader(fd, path)
	if err != nil {
		fd.Close()
		return nil, err
	}
	f.file = fd
	return f, nil
}

// NewReader detects the format of r and reads its file header. name is only
// used in error messages. Close does not close r.
func NewReader(r io.Reader, name string) (*File, error) {
	f := &File{name: name, src: r, buf: make([]byte, initialSize(r)), ifaces: make([]iface, 0, 4)}
	if err := f.detect(); err != nil {
		return nil, err
	}
	return f, nil
}

// initialSize returns the read buffer size for r: bufSize, or less when r
// tells its size and the whole of it fits. The extra byte lets the read that
// reports the end fit too, so a short file never makes the buffer grow.
func initialSize(r io.Reader) int {
	n := int64(-1)
	switch s := r.(type) {
	case interface{ Len() int }: // bytes.Reader, bytes.Buffer, strings.Reader
		n = int64(s.Len())
	case *os.File:
		if fi, err := s.Stat(); err == nil && fi.Mode().IsRegular() {
			n = fi.Size()
		}
	}
	if n < 0 || n >= bufSize {
		return bufSize
	}
	return max(int(n)+1, 64)
}

var (
	magicPcapng = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	pcapMagics  = [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, // little-endian, microseconds
		{0xa1, 0xb2, 0xc3, 0xd4}, // big-endian, microseconds
		{0x4d, 0x3c, 0xb2, 0xa1}, // little-endian, nanoseconds
		{0xa1, 0xb2, 0x3c, 0x4d}, // big-endian, nanoseconds
	}
)

// detect recognises gzip and then the capture format from the magic, and
// reads the file header.
func (f *File) detect() error {
	err := f.fill(4)
	if b := f.buf[f.r:f.w]; len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		if err != nil && err != io.EOF {
			return f.ioErr(err, 0)
		}
		// The bytes already read are replayed to the decompressor; this one
		// copy happens once per file. gzip would otherwise read the file
		// through a 4 KiB bufio.Reader of its own.
		src := io.MultiReader(bytes.NewReader(bytes.Clone(b)), f.src)
		gz, gerr := gzip.NewReader(bufio.NewReaderSize(src, 256<<10))
		if gerr != nil {
			return f.gzipErr(gerr, 0)
		}
		f.gz, f.src = gz, gz
		f.r, f.w, f.rerr = 0, 0, nil
		if len(f.buf) < bufSize { // the decompressed size is unknown
			f.buf = make([]byte, bufSize)
		}
		err = f.fill(4)
	}
	if err != nil && err != io.EOF {
		return f.readErr(err, 0)
	}
	b := f.buf[f.r:f.w]
	if len(b) == 0 {
		return f.errorf(0, "empty file")
	}
	if len(b) >= 4 && bytes.Equal(b[:4], magicPcapng) {
		if err := f.readSectionHeader(); err != nil {
			return err
		}
		f.kind = formatPcapng
		return nil
	}
	for _, m := range pcapMagics {
		if len(b) >= 4 && bytes.Equal(b[:4], m) {
			if err := f.readPcapHeader(); err != nil {
				return err
			}
			f.kind = formatPcap
			return nil
		}
	}
	if len(b) < 4 {
		for _, m := range append([][]byte{magicPcapng}, pcapMagics...) {
			if bytes.HasPrefix(m, b) {
				return f.errorf(0, "truncated file header: file ends after %d bytes", len(b))
			}
		}
	}
	return f.errorf(0, "not a pcap or pcapng file (first bytes % x)", b[:min(len(b), 4)])
}

// Next returns the next packet. data points into the File's read buffer and
// stays valid until the Next call after the next one (so a caller may hold
// one packet while reading its successor) or Close. At a clean end of
// file Next returns io.EOF; on a broken file a *FormatError. Errors are
// sticky.
func (f *File) Next() (data []byte, info Info, err error) {
	if f.err != nil {
		return nil, Info{}, f.err
	}
	if f.kind == formatPcap {
		data, info, err = f.nextPcap()
	} else {
		data, info, err = f.nextPcapng()
	}
	if err != nil {
		f.err = err
		return nil, Info{}, err
	}
	f.recs++
	return data, info, nil
}

// Format returns "pcap" or "pcapng", with a " (gzip)" suffix when the file
// is compressed.
func (f *File) Format() string {
	s := "pcap"
	if f.kind == formatPcapng {
		s = "pcapng"
	}
	if f.gz != nil {
		s += " (gzip)"
	}
	return s
}

// Offset returns the number of bytes consumed so far, counted in the
// decompressed stream.
func (f *File) Offset() int64 { return f.base + int64(f.r) }

// Records returns the number of packet records returned so far.
func (f *File) Records() int { return f.recs }

// Close releases the buffer and closes the file if Open opened it.
func (f *File) Close() error {
	if f.err == nil || f.err == io.EOF {
		f.err = fmt.Errorf("%s: %w", f.name, os.ErrClosed)
	}
	f.buf, f.prev, f.r, f.w = nil, nil, 0, 0
	// The gzip reader holds no resources: nothing to close there.
	if f.file == nil {
		return nil
	}
	err := f.file.Close()
	f.file = nil
	return err
}

// fill makes sure at least n bytes are buffered at buf[r:]. It returns nil,
// io.EOF when the stream ends first, or the stream's error. Callers bound n
// by maxBuffered.
func (f *File) fill(n int) error {
	if f.w-f.r >= n {
		return nil
	}
	return f.refill(n)
}

func (f *File) refill(n int) error {
	if f.rerr != nil {
		return f.rerr
	}
	// Move the partial record to the front of the other buffer so each read
	// is a large chunk; this one keeps the packet Next returned last intact
	// until the following refill, which cannot come before the next Next.
	if f.r > 0 {
		if len(f.prev) < len(f.buf) {
			f.prev = make([]byte, len(f.buf))
		}
		copy(f.prev, f.buf[f.r:f.w])
		f.buf, f.prev = f.prev, f.buf
		f.base += int64(f.r)
		f.w -= f.r
		f.r = 0
	}
	for empty := 0; f.w < n; {
		if f.w == len(f.buf) {
			// Grow only once the buffer is full of real bytes, so a
			// lying length costs at most what the file actually holds.
			nb := make([]byte, min(max(n, 2*len(f.buf)), maxBuffered))
			copy(nb, f.buf[:f.w])
			f.buf = nb
		}
		m, err := f.src.Read(f.buf[f.w:])
		f.w += m
		if err != nil {
			f.rerr = err
			if f.w >= n {
				return nil
			}
			return err
		}
		if m > 0 {
			empty = 0
		} else if empty++; empty >= 100 {
			f.rerr = io.ErrNoProgress
			return f.rerr
		}
	}
	return nil
}

// u16, u32 and u64 decode in the file's byte order without the interface call of
// a binary.ByteOrder.
func (f *File) u16(b []byte) uint16 {
	if f.be {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *File) u32(b []byte) uint32 {
	if f.be {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *File) u64(b []byte) uint64 {
	if f.be {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// errorf returns a *FormatError for the record or block starting at start.
func (f *File) errorf(start int64, format string, args ...any) error {
	rec := 0
	if f.kind != formatNone {
		rec = f.recs + 1
	}
	return &FormatError{Name: f.name, Offset: start, Record: rec, Reason: fmt.Sprintf(format, args...)}
}

// truncated turns a failed fill for a record or block starting at start into
// Next's error: a "truncated" FormatError when the stream simply ended. what
// names the part, size is the length it needs (claimed, if claimed is set,
// by its header) and have the bytes of it the file holds.
func (f *File) truncated(err error, start int64, what string, claimed bool, size, have int) error {
	if err != io.EOF {
		return f.readErr(err, start)
	}
	if claimed {
		return f.errorf(start, "truncated %s: header says %d bytes, file ends after %d", what, size, have)
	}
	return f.errorf(start, "truncated %s: needs %d bytes, file ends after %d", what, size, have)
}

// readErr reports a stream error other than io.EOF: a broken gzip stream is
// a broken file (FormatError); anything else is an I/O error.
func (f *File) readErr(err error, start int64) error {
	if f.gz != nil && !errors.Is(err, io.ErrNoProgress) {
		return f.gzipErr(err, start)
	}
	return f.ioErr(err, start)
}

func (f *File) gzipErr(err error, start int64) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return f.errorf(start, "truncated gzip stream")
	}
	return f.errorf(start, "gzip stream: %v", err)
}

func (f *File) ioErr(err error, start int64) error {
	return fmt.Errorf("%s: byte offset %d: %w", f.name, start, err)
}
