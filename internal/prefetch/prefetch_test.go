package prefetch

import (
	"testing"
	"unsafe"
)

// A prefetch is a hint: even nil must not fault.
func TestLineNeverFaults(t *testing.T) {
	b := make([]uint64, 1<<16)
	Line(nil)
	Line(unsafe.Pointer(&b[0]))
}

func BenchmarkLine(b *testing.B) {
	buf := make([]uint64, 1<<20)
	i := 0
	for b.Loop() {
		Line(unsafe.Pointer(&buf[i&(len(buf)-1)]))
		i += 4099
	}
}
