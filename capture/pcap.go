package capture

import (
	"encoding/binary"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// Classic pcap, as libpcap writes it:
// https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
const (
	pcapHeaderLen = 24 // magic, version, thiszone, sigfigs, snaplen, link type
	pcapRecordLen = 16 // ts seconds, ts fraction, captured length, wire length
)

// readPcapHeader reads the 24-byte file header. The magic was already
// recognised by detect.
func (f *File) readPcapHeader() error {
	if err := f.fill(pcapHeaderLen); err != nil {
		return f.truncated(err, 0, "file header", false, pcapHeaderLen, f.w-f.r)
	}
	h := f.buf[f.r : f.r+pcapHeaderLen]
	switch binary.LittleEndian.Uint32(h) {
	case 0xa1b2c3d4:
		f.be, f.tsUnit = false, 1000
	case 0xa1b23c4d:
		f.be, f.tsUnit = false, 1
	case 0xd4c3b2a1:
		f.be, f.tsUnit = true, 1000
	default: // 0x4d3cb2a1
		f.be, f.tsUnit = true, 1
	}
	// Minor versions are not checked: 2.3 and 2.4 files have the same layout.
	if major, minor := f.u16(h[4:]), f.u16(h[6:]); major != 2 {
		return f.errorf(0, "unsupported pcap version %d.%d", major, minor)
	}
	f.snaplen = f.u32(h[16:])
	// The upper 16 bits of the link type field carry the FCS length and
	// flags, not the link type.
	f.linkType = layers.LinkType(f.u32(h[20:]) & 0xffff)
	f.r += pcapHeaderLen
	return nil
}

// nextPcap returns the next record. Records whose captured length exceeds
// the wire length or the snap length are returned unchanged: real writers
// produce them and the decoder copes.
func (f *File) nextPcap() ([]byte, Info, error) {
	start := f.Offset()
	if err := f.fill(pcapRecordLen); err != nil {
		if err == io.EOF && f.r == f.w {
			return nil, Info{}, io.EOF
		}
		return nil, Info{}, f.truncated(err, start, "record header", false, pcapRecordLen, f.w-f.r)
	}
	h := f.buf[f.r : f.r+pcapRecordLen]
	sec, frac := f.u32(h[0:]), f.u32(h[4:])
	caplen, wirelen := f.u32(h[8:]), f.u32(h[12:])
	if caplen > MaxRecord {
		return nil, Info{}, f.errorf(start, "record length %d exceeds the 1 MiB limit", caplen)
	}
	n := pcapRecordLen + int(caplen)
	if err := f.fill(n); err != nil {
		return nil, Info{}, f.truncated(err, start, "record", true, int(caplen), f.w-f.r-pcapRecordLen)
	}
	data := f.buf[f.r+pcapRecordLen : f.r+n : f.r+n]
	f.r += n
	return data, Info{
		Timestamp: int64(sec)*1e9 + int64(frac)*f.tsUnit,
		CapLen:    int(caplen),
		WireLen:   int(wirelen),
		LinkType:  f.linkType,
	}, nil
}
