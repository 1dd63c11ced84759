package alert

import (
	"io"
	"net/netip"
	"strconv"
	"time"
)

// Fast writes alerts one human-readable line each, in Suricata's fast.log layout:
//
//	09/28/2009-12:00:00.000000  [**] [1:9200001:1] MSG [**] [Classification: CAT] [Priority: 2] {TCP} 192.0.2.1:139 -> 192.0.2.1:139
//
// IPv6 endpoints are bracketed ([2001:db8::1]:80) so the port cannot be mistaken for the address.
type Fast struct {
	w   io.Writer
	buf []byte
}

// NewFast returns a fast.log writer on w.
func NewFast(w io.Writer) *Fast { return &Fast{w: w, buf: make([]byte, 0, 256)} }

const fastTime = "01/02/2006-15:04:05.000000"

// Write writes one alert line.
func (f *Fast) Write(a *Alert) error {
	f.buf = AppendFast(f.buf[:0], a)
	_, err := f.w.Write(f.buf)
	return err
}

// AppendFast appends a's fast.log line (with the trailing newline) to b.
func AppendFast(b []byte, a *Alert) []byte {
	s := a.Sig
	b = time.Unix(0, a.TS).UTC().AppendFormat(b, fastTime)
	b = append(b, "  [**] [1:"...)
	b = strconv.AppendUint(b, uint64(s.SID), 10)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(s.Rev), 10)
	b = append(b, "] "...)
	b = append(b, s.Msg...)
	b = append(b, " [**] [Classification: "...)
	b = append(b, s.Category...)
	b = append(b, "] [Priority: "...)
	b = strconv.AppendInt(b, int64(s.Severity), 10)
	b = append(b, "] {"...)
	if name := ProtoName(a.Proto); name != "" {
		b = append(b, name...)
	} else {
		b = strconv.AppendUint(b, uint64(a.Proto), 10)
	}
	b = append(b, "} "...)
	b = appendEndpoint(b, a.Src, a.SrcPort, a.HasPorts)
	b = append(b, " -> "...)
	b = appendEndpoint(b, a.Dst, a.DstPort, a.HasPorts)
	return append(b, '\n')
}

// Flush flushes w if it buffers.
func (f *Fast) Flush() error { return flush(f.w) }

func appendEndpoint(b []byte, a netip.Addr, port uint16, hasPort bool) []byte {
	if !hasPort {
		return a.AppendTo(b)
	}
	return netip.AddrPortFrom(a, port).AppendTo(b)
}
