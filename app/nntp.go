package app

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
)

// nntpData splits client bytes into command lines and shows each to the NNTP detectors. A line
// still open at the end of b is shown too once it has grown past the protocol's limit, so a
// command that never ends is judged.
func (l *Layer) nntpData(in *detectors.Input, lines *decode.NNTPLines, b []byte, out *detectors.Emitter) {
	for len(b) > 0 {
		used, cmd, ok := lines.Next(b)
		b = b[used:]
		if !ok {
			continue
		}
		for _, a := range cmd.Anomalies.List() {
			if cmd.Complete && a == decode.NNTPLineTooLong {
				continue // recorded when the open line grew past the limit
			}
			in.P.Record(a)
		}
		for _, d := range l.nntpD {
			d.InspectNNTP(in, cmd, out)
		}
	}
}
