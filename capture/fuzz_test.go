package capture

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the reader: it must not panic or loop,
// every packet's length must match its CapLen, and it cannot return more
// bytes than the (decompressed) input holds.
func FuzzReader(f *testing.F) {
	for _, c := range allCases() {
		if len(c.file) <= 64<<10 {
			f.Add(c.file)
			f.Add(gzipped(c.file))
		}
	}
	_, files := findSharedPcaps()
	for _, path := range files {
		if b, err := os.ReadFile(path); err == nil {
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		limit := len(in)
		if len(in) >= 2 && in[0] == 0x1f && in[1] == 0x8b {
			limit = gunzippedLen(in)
		}
		r, err := NewReader(bytes.NewReader(in), "fuzz")
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("open: not a FormatError: %v", err)
			}
			return
		}
		total := 0
		for {
			data, info, err := r.Next()
			if err != nil {
				var fe *FormatError
				if err != io.EOF && !errors.As(err, &fe) {
					t.Fatalf("not a FormatError: %v", err)
				}
				if fe != nil && (fe.Offset < 0 || fe.Offset > int64(limit) || fe.Record != r.Records()+1) {
					t.Fatalf("bad error position: %+v after %d records", fe, r.Records())
				}
				break
			}
			if len(data) != info.CapLen {
				t.Fatalf("len(data) %d != CapLen %d", len(data), info.CapLen)
			}
			total += len(data)
			if total > limit {
				t.Fatalf("returned %d bytes from a %d-byte input", total, limit)
			}
			// Every record costs at least 12 bytes of framing.
			if r.Records()*12 > limit {
				t.Fatalf("%d records from a %d-byte input", r.Records(), limit)
			}
		}
		if r.Offset() > int64(limit) {
			t.Fatalf("Offset %d beyond the %d-byte input", r.Offset(), limit)
		}
	})
}

// gunzippedLen returns how many bytes a gzip stream yields before it ends
// or fails, which is all our reader can see of it.
func gunzippedLen(in []byte) int {
	z, err := gzip.NewReader(bytes.NewReader(in))
	if err != nil {
		return 0
	}
	n, _ := io.Copy(io.Discard, z)
	return int(n)
}
