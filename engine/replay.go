package engine

import (
	"io"

	"github.com/ids-sensor/ids/capture"
)

// progressEvery is how many packets pass between progress callbacks: rare enough to cost nothing.
const progressEvery = 8192

// ReplayFile feeds every packet of the capture file at path through e, in file order. It returns
// the error that stopped reading: an open error, or a *capture.FormatError naming the byte offset
// of a broken record. Packets before the error have been processed. progress, if not nil, is
// called now and then with the bytes of the file consumed so far.
func (e *Engine) ReplayFile(path string, progress func(offset int64)) error {
	f, err := capture.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return e.Replay(f, progress)
}

// Replay feeds every packet of an open capture through e, through Push: the file keeps the
// packet before the latest intact, as Push needs.
func (e *Engine) Replay(f *capture.File, progress func(offset int64)) error {
	defer e.Drain()
	for n := 1; ; n++ {
		data, info, err := f.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e.Push(data, info)
		if progress != nil && n%progressEvery == 0 {
			progress(f.Offset())
		}
	}
}
