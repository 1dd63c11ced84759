// Package testpackets loads capture files into memory for tests and benchmarks, with the
// engine's own reader. It is a helper for tests only.
package testpackets

import (
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/ids-sensor/ids/capture"
)

// Record is one packet held in memory.
type Record struct {
	Data []byte
	Info capture.Info
}

// Load reads every packet of the capture files matching the globs, in file order. A file that
// is broken on purpose (pcaps/hostile) gives the packets before its break; any other error, or
// a glob matching nothing, fails t.
func Load(t testing.TB, globs ...string) []Record {
	t.Helper()
	var out []Record
	for _, g := range globs {
		paths, _ := filepath.Glob(g)
		if len(paths) == 0 {
			t.Fatalf("no capture matches %s", g)
		}
		for _, path := range paths {
			f, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			for {
				data, info, err := f.Next()
				var fe *capture.FormatError
				if errors.Is(err, io.EOF) || errors.As(err, &fe) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, Record{append([]byte(nil), data...), info})
			}
			f.Close()
		}
	}
	return out
}
