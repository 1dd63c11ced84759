package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ids-sensor/ids/internal/testcorpus"
)

// findSharedPcaps returns the shared real-capture corpus's directory and every regular file in
// it, captures or not, without skipping (FuzzReader seeds from them).
var findSharedPcaps = testcorpus.FindAll

// TestAgainstPcapgo reads every file of the shared corpus with both readers:
// same packets, same data and metadata, and a FormatError from us exactly
// where pcapgo fails. Each file is also read cut in the middle and one byte
// short, which both readers must notice at the same packet.
func TestAgainstPcapgo(t *testing.T) {
	var total, broken int
	for _, path := range testcorpus.AllFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			n, failed := compareWithPcapgo(t, raw, f, err, true)
			if f != nil {
				f.Close()
			}
			total += n
			if failed {
				broken++
			}
			for _, cut := range []int{len(raw) / 2, len(raw) - 1} {
				f, err := NewReader(bytes.NewReader(raw[:cut]), path)
				compareWithPcapgo(t, raw[:cut], f, err, false)
			}
		})
	}
	t.Logf("%d packets compared, %d broken files", total, broken)
}

// compareWithPcapgo reads raw with pcapgo and f (opened from the same bytes,
// with error ourErr) side by side. It returns the packets compared and
// whether both readers found the file broken, which it logs if verbose.
func compareWithPcapgo(t *testing.T, raw []byte, f *File, ourErr error, verbose bool) (n int, failed bool) {
	t.Helper()
	ref, refErr := testcorpus.NewReader(raw)
	if refErr == nil && ourErr == nil && f.Format() != ref.Format() {
		t.Fatalf("Format() = %q, pcapgo reads it as %s", f.Format(), ref.Format())
	}
	for refErr == nil && ourErr == nil {
		var (
			want testcorpus.Record
			data []byte
			info Info
		)
		want, refErr = ref.Next()
		data, info, ourErr = f.Next()
		if refErr != nil || ourErr != nil {
			break
		}
		n++
		if !bytes.Equal(data, want.Data) {
			t.Fatalf("packet %d: data differs", n)
		}
		ci := want.Info
		ts := ci.Timestamp.UnixNano()
		if ci.Timestamp.IsZero() {
			ts = 0 // pcapgo's "no timestamp" (Simple Packet Blocks) is our 0
		}
		got := Info{Timestamp: ts, CapLen: ci.CaptureLength, WireLen: ci.Length, LinkType: want.LinkType, Interface: ci.InterfaceIndex}
		if info != got {
			t.Fatalf("packet %d: got %+v, pcapgo %+v", n, info, got)
		}
	}
	refFailed := refErr != nil && refErr != io.EOF
	var fe *FormatError
	if ourErr != nil && ourErr != io.EOF && !errors.As(ourErr, &fe) {
		t.Fatalf("after %d packets: not a FormatError: %v", n, ourErr)
	}
	if refFailed != (fe != nil) {
		t.Fatalf("after %d packets: pcapgo says %v, we say %v", n, refErr, ourErr)
	}
	if refErr == nil || ourErr == nil {
		t.Fatalf("after %d packets: one reader stopped early: pcapgo %v, ours %v", n, refErr, ourErr)
	}
	if fe != nil && verbose {
		t.Logf("%d packets, then both fail: pcapgo %q; ours %q", n, refErr, fe)
	}
	return n, fe != nil
}
