package alert

import (
	"io"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// EVE writes alerts as EVE JSON: one object per line in Suricata's alert schema.
type EVE struct {
	w   io.Writer
	buf []byte
}

// NewEVE returns an EVE writer on w. Each alert is one Write call of one whole line, so w sees
// no partial records; buffer w (bufio) for throughput.
func NewEVE(w io.Writer) *EVE { return &EVE{w: w, buf: make([]byte, 0, 1024)} }

// Write writes one alert line.
func (e *EVE) Write(a *Alert) error {
	e.buf = AppendEVE(e.buf[:0], a)
	_, err := e.w.Write(e.buf)
	return err
}

// Flush flushes w if it buffers.
func (e *EVE) Flush() error { return flush(e.w) }

func flush(w io.Writer) error {
	if f, ok := w.(interface{ Flush() error }); ok {
		return f.Flush()
	}
	return nil
}

// eveTime is Suricata's EVE timestamp layout; always UTC here, so the offset is +0000.
const eveTime = "2006-01-02T15:04:05.000000-0700"

// AppendEVE appends a's EVE JSON line (with the trailing newline) to b.
func AppendEVE(b []byte, a *Alert) []byte {
	s := a.Sig
	b = append(b, `{"timestamp":"`...)
	b = time.Unix(0, a.TS).UTC().AppendFormat(b, eveTime)
	b = append(b, `","flow_id":`...)
	b = strconv.AppendUint(b, a.FlowID, 10)
	b = append(b, `,"pcap_cnt":`...)
	b = strconv.AppendUint(b, a.PcapCnt, 10)
	b = append(b, `,"event_type":"alert"`...)
	if a.NumVLAN > 0 {
		b = append(b, `,"vlan":[`...)
		for i, v := range a.VLAN[:a.NumVLAN] {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendUint(b, uint64(v), 10)
		}
		b = append(b, ']')
	}
	b = append(b, `,"src_ip":"`...)
	b = a.Src.AppendTo(b)
	b = append(b, '"')
	if a.HasPorts {
		b = append(b, `,"src_port":`...)
		b = strconv.AppendUint(b, uint64(a.SrcPort), 10)
	}
	b = append(b, `,"dest_ip":"`...)
	b = a.Dst.AppendTo(b)
	b = append(b, '"')
	if a.HasPorts {
		b = append(b, `,"dest_port":`...)
		b = strconv.AppendUint(b, uint64(a.DstPort), 10)
	}
	b = append(b, `,"proto":`...)
	if name := ProtoName(a.Proto); name != "" {
		b = appendString(b, name)
	} else {
		b = strconv.AppendUint(b, uint64(a.Proto), 10)
	}
	b = append(b, `,"alert":{"action":"allowed","gid":1,"signature_id":`...)
	b = strconv.AppendUint(b, uint64(s.SID), 10)
	b = append(b, `,"rev":`...)
	b = strconv.AppendUint(b, uint64(s.Rev), 10)
	b = append(b, `,"signature":`...)
	b = appendString(b, s.Msg)
	b = append(b, `,"category":`...)
	b = appendString(b, s.Category)
	b = append(b, `,"severity":`...)
	b = strconv.AppendInt(b, int64(s.Severity), 10)
	b = append(b, `,"metadata":{"cve":`...)
	b = appendStrings(b, s.CVE)
	b = append(b, `,"bulletin":`...)
	b = appendStrings(b, s.Bulletin)
	b = append(b, `,"detector":[`...)
	b = appendString(b, s.Detector)
	b = append(b, `]}`...)
	if a.Suppressed > 0 {
		// Not in Suricata's schema: an added key, so its consumers read the rest unchanged.
		b = append(b, `,"threshold":{"suppressed":`...)
		b = strconv.AppendUint(b, a.Suppressed, 10)
		b = append(b, '}')
	}
	b = append(b, '}')
	if a.Evidence.Object != "" {
		b = append(b, ',')
		b = appendString(b, a.Evidence.Object)
		b = append(b, ":{"...)
		for i, f := range a.Evidence.Fields() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.Key)
			b = append(b, ':')
			b = appendValue(b, &f)
		}
		b = append(b, '}')
	}
	return append(b, "}\n"...)
}

func appendValue(b []byte, f *Field) []byte {
	switch f.Kind {
	case KindUint:
		return strconv.AppendUint(b, f.Uint, 10)
	case KindBool:
		return strconv.AppendBool(b, f.Uint != 0)
	case KindAddr:
		return appendAddr(b, f.Addr)
	}
	return appendString(b, f.Str)
}

func appendAddr(b []byte, a netip.Addr) []byte {
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control characters escaped,
// invalid UTF-8 replaced by U+FFFD, so any rules-file text stays valid JSON.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
