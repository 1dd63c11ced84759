package engine

import (
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/detectors"
	"github.com/ids-sensor/ids/flow"
)

// streamDecided marks a flow whose stream readers have been chosen (Flow.StreamFor); the other
// bits say which of the engine's stream detectors read it.
const streamDecided = 1 << 15

// maxStreamDetectors is how many stream detectors one engine can serve (bits of StreamFor).
const maxStreamDetectors = 15

// wantStream asks every stream detector, once per connection, whether it reads this one.
func (e *Engine) wantStream(f *flow.Flow, dir int) uint16 {
	mask := uint16(streamDecided)
	e.in.Flow, e.in.Dir = f, dir
	for i, sd := range e.streamDets {
		if sd.WantStream(&e.in) {
			mask |= 1 << i
		}
	}
	return mask
}

// reassemble offers the packet to its direction's reassembly and, for an acknowledgment, tells
// the other direction what its peer has received, so holes the sensor will never see filled are
// given up promptly.
func (e *Engine) reassemble(f *flow.Flow, dir int) {
	p := e.in.P
	c := &e.consumer
	c.f, c.mask = f, f.StreamFor
	e.in.Flow, e.in.Dir = f, dir
	e.reasm.Segment(&f.Stream[dir], dir, p, c)
	if p.TCP.Flags&decode.TCPAck != 0 {
		e.reasm.Ack(&f.Stream[1-dir], 1-dir, p.TCP.Ack, c)
	}
	if f.StreamFor == streamDecided { // no reader left: stop reassembling, free what is held
		e.releaseStreams(f)
	}
}

// releaseStreams frees what a flow's reassembly holds when the flow leaves the table.
func (e *Engine) releaseStreams(f *flow.Flow) {
	e.reasm.Release(&f.Stream[0])
	e.reasm.Release(&f.Stream[1])
	if e.app != nil {
		e.app.Release(f)
	}
}

// streamConsumer hands reassembled bytes to the stream detectors reading the flow.
type streamConsumer struct {
	e    *Engine
	f    *flow.Flow
	mask uint16
}

func (c *streamConsumer) Data(dir int, b []byte) {
	in := &c.e.in
	for i, sd := range c.e.streamDets {
		if c.mask&(1<<i) != 0 {
			in.StreamDone = false
			sd.StreamData(in, dir, b, &c.e.emit)
			c.done(i)
		}
	}
}

func (c *streamConsumer) Gap(dir int, n uint32) {
	in := &c.e.in
	for i, sd := range c.e.streamDets {
		if c.mask&(1<<i) != 0 {
			in.StreamDone = false
			sd.StreamGap(in, dir, n, &c.e.emit)
			c.done(i)
		}
	}
}

// done drops stream detector i from the flow when it said it has had enough.
func (c *streamConsumer) done(i int) {
	if c.e.in.StreamDone {
		c.mask &^= 1 << i
		c.f.StreamFor &^= 1 << i
	}
}

// streamDetectors picks the built detectors that read streams.
func streamDetectors(dets []detectors.Instance) []detectors.StreamDetector {
	var out []detectors.StreamDetector
	for _, d := range dets {
		if sd, ok := d.Detector.(detectors.StreamDetector); ok && len(out) < maxStreamDetectors {
			out = append(out, sd)
		}
	}
	return out
}
