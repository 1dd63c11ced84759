package decode

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ids-sensor/ids/capture"
	"github.com/ids-sensor/ids/internal/testcorpus"
)

// FuzzIPv4Options feeds any option bytes (up to the 40 an IHL can hold) to the option checker:
// no panic, a reported malformation names an option that is really at its offset inside the
// options, with its length byte, and the same bytes always give the same verdict.
func FuzzIPv4Options(f *testing.F) {
	for _, s := range [][]byte{
		{1, 1, 1, 0}, {7, 7, 4, 0, 0, 0, 0, 0}, {0x44, 12, 5, 0x01, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x83, 3, 3, 0}, {0x94, 4, 0, 0}, {0x88, 4, 0, 1}, {0x82, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{0x44, 0}, {0x07}, {0x86, 6, 0, 0, 0, 0, 0, 0},
	} {
		f.Add(s)
	}
	seen := map[string]bool{}
	corpusSeeds(4096, func(p *Packet) {
		if o := p.IPv4.Options; p.Has(LayerIPv4Opts) && len(o) > 0 && !seen[string(o)] && len(seen) < 500 {
			seen[string(o)] = true
			f.Add(append([]byte(nil), o...))
		}
	})
	f.Fuzz(func(t *testing.T, opts []byte) {
		opts = opts[:min(len(opts), 40)]
		var p Packet
		p.parseIPv4Options(opts)
		o := p.IPv4.Opts
		if o.Bad != AnomalyNone {
			if o.Bad < IPv4OptTruncated || o.Bad > IPv4OptInvalidPtr || !p.HasAnomaly(o.Bad) {
				t.Fatalf("Bad %v, anomalies %v", o.Bad, p.Anomalies())
			}
			i := int(o.BadOff) - 20
			if i < 0 || i >= len(opts) || opts[i] != o.BadType {
				t.Fatalf("BadOff %d BadType %#x in % x", o.BadOff, o.BadType, opts)
			}
			if o.Bad != IPv4OptTruncated && (i+1 >= len(opts) || opts[i+1] != o.BadLen) {
				t.Fatalf("BadLen %d at %d in % x", o.BadLen, i, opts)
			}
		} else if len(p.Anomalies()) != 0 {
			t.Fatalf("anomalies %v without a bad option", p.Anomalies())
		}
		var q Packet
		q.parseIPv4Options(opts)
		if !reflect.DeepEqual(p.IPv4.Opts, q.IPv4.Opts) {
			t.Fatalf("not deterministic")
		}
	})
}

// corpusSeeds calls add with every packet of the generated corpus (../pcaps) and of the shared
// real captures, decoded, at most perFile packets of each file; the caller dedupes what it keeps.
func corpusSeeds(perFile int, add func(p *Packet)) {
	paths, _ := filepath.Glob("../pcaps/*/*.pcap*")
	_, shared := testcorpus.Find()
	var p Packet
	for _, path := range append(paths, shared...) {
		f, err := capture.Open(path)
		if err != nil {
			continue
		}
		for range perFile {
			data, info, err := f.Next()
			if err != nil {
				break
			}
			p.Decode(info.LinkType, data, info.Timestamp, info.WireLen)
			add(&p)
		}
		f.Close()
	}
}
