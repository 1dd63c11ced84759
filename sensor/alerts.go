package sensor

import (
	"bufio"
	"io"
	"os"
	"sync/atomic"

	"github.com/ids-sensor/ids/alert"
)

// alertQueue carries formatted alert lines from the workers to the one goroutine that writes
// them, so that a slow disk never stalls capture. It holds a fixed number of line buffers that
// cycle between free and full: a worker takes a free one without blocking, or counts the
// alert as dropped when none is left.
type alertQueue struct {
	free, full chan []byte
	queued     atomic.Uint64
	dropped    atomic.Uint64
	written    atomic.Uint64
	errors     atomic.Uint64
	reopens    atomic.Uint64
}

func newAlertQueue(n int) *alertQueue {
	q := &alertQueue{free: make(chan []byte, n), full: make(chan []byte, n)}
	for range n {
		q.free <- make([]byte, 0, 2048)
	}
	return q
}

// queueSink is one worker's alert.Sink: it formats the line in the worker (no allocation: the
// buffer is reused) and hands it to the writer.
type queueSink struct {
	q    *alertQueue
	fast bool
}

func (s *queueSink) Write(a *alert.Alert) error {
	select {
	case b := <-s.q.free:
		if s.fast {
			b = alert.AppendFast(b[:0], a)
		} else {
			b = alert.AppendEVE(b[:0], a)
		}
		s.q.full <- b // never blocks: the buffers in full never outnumber its capacity
		s.q.queued.Add(1)
	default:
		s.q.dropped.Add(1)
	}
	return nil
}

func (s *queueSink) Flush() error { return nil }

// output is where alert lines go: standard output, or a file opened for appending that can be
// reopened (after logrotate moved it).
type output struct {
	path string // "" for standard output
	uid  int    // owner of a file created after dropping privileges; -1 to leave it
	gid  int
	f    *os.File
	w    *bufio.Writer
}

func openOutput(path string) (*output, error) {
	o := &output{path: path, uid: -1, gid: -1}
	if path == "" || path == "-" {
		o.path = ""
		o.w = bufio.NewWriterSize(os.Stdout, 64<<10)
		return o, nil
	}
	if err := o.open(); err != nil {
		return nil, err
	}
	return o, nil
}

func (o *output) open() error {
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return err
	}
	if o.uid >= 0 {
		f.Chown(o.uid, o.gid) // best effort: only root may; the file stays usable either way
	}
	o.f = f
	if o.w == nil {
		o.w = bufio.NewWriterSize(f, 64<<10)
	} else {
		o.w.Reset(f)
	}
	return nil
}

// reopen flushes and closes the file and opens its path again.
func (o *output) reopen() error {
	if o.f == nil {
		return nil
	}
	flushErr := o.w.Flush()
	closeErr := o.f.Close()
	o.f = nil
	if err := o.open(); err != nil {
		o.w.Reset(io.Discard) // keep counting, write nowhere, until a later reopen succeeds
		return err
	}
	if flushErr != nil {
		return flushErr
	}
	return closeErr
}

func (o *output) close() error {
	err := o.w.Flush()
	if o.f != nil {
		if cerr := o.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// writeAlerts writes queued lines until the queue is closed and empty, flushing whenever it
// runs dry so lines reach the file promptly. reopen requests are answered on their channel.
func (s *Sensor) writeAlerts(reopen <-chan chan error) {
	q, o := s.alerts, s.out
	for {
		select {
		case b, ok := <-q.full:
			if !ok {
				if err := o.close(); err != nil {
					s.log.Error("closing alert output", "output", o.name(), "err", err)
				}
				return
			}
			if _, err := o.w.Write(b); err != nil {
				s.writeFailed(err)
			} else {
				q.written.Add(1)
			}
			q.free <- b
			if len(q.full) == 0 {
				if err := o.w.Flush(); err != nil {
					s.writeFailed(err)
				}
			}
		case done := <-reopen:
			err := o.reopen()
			if err == nil {
				q.reopens.Add(1)
			}
			done <- err
		}
	}
}

func (o *output) name() string {
	if o.path == "" {
		return "stdout"
	}
	return o.path
}

func (s *Sensor) writeFailed(err error) {
	if s.alerts.errors.Add(1) == 1 {
		s.log.Error("writing alerts", "output", s.out.name(), "err", err)
	}
}
