package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ids-sensor/ids/alert"
	"github.com/ids-sensor/ids/app"
	"github.com/ids-sensor/ids/decode"
	"github.com/ids-sensor/ids/engine"
	"github.com/ids-sensor/ids/flow"
)

// progressMinBytes is the input size from which replay shows progress on a terminal.
const progressMinBytes = 64 << 20

func runReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ids replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "write alerts to this file instead of standard output (created 0640, truncated)")
	format := fs.String("format", "eve", "alert format: eve (Suricata EVE JSON lines) or fast (fast.log lines)")
	rulesPath := fs.String("rules", "", "rules file (default: the embedded rules/default.yaml)")
	failOnAlert := fs.Bool("fail-on-alert", false, "exit with status 3 when any alert fired")
	quiet := fs.Bool("q", false, "no summary on standard error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ids replay [flags] FILE...\n\nInspects pcap and pcapng files (optionally gzip-compressed), in the order given, as one stream.\n\nFlags:")
		fs.PrintDefaults()
	}
	files, err := parseArgs(fs, args)
	if err == flag.ErrHelp {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "ids replay: no capture files given")
		fs.Usage()
		return exitUsage
	}
	if *format != "eve" && *format != "fast" {
		fmt.Fprintf(stderr, "ids replay: --format must be eve or fast, got %q\n", *format)
		return exitUsage
	}
	set, err := loadRules(*rulesPath)
	if err != nil {
		printRulesError(stderr, err)
		return exitUsage
	}

	w := stdout
	var outFile *os.File
	if *out != "" {
		if outFile, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640); err != nil {
			fmt.Fprintf(stderr, "ids replay: %v\n", err)
			return exitUsage
		}
		w = outFile
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var sink alert.Sink = alert.NewEVE(bw)
	if *format == "fast" {
		sink = alert.NewFast(bw)
	}
	eng := engine.New(set, sink)

	prog := newProgress(stderr, files)
	var mem0, mem1 runtime.MemStats // heap allocations of the run itself, for the summary
	runtime.ReadMemStats(&mem0)
	start := time.Now()
	var inputErrors []error
	for i, path := range files {
		prog.file(i)
		if err := eng.ReplayFile(path, prog.update); err != nil {
			inputErrors = append(inputErrors, err)
			fmt.Fprintf(stderr, "ids replay: %v\n", err)
		}
	}
	prog.stop()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&mem1)

	status := exitOK
	if err := eng.Flush(); err != nil && eng.Stats.FirstWriteError == nil {
		eng.Stats.FirstWriteError = err
	}
	if outFile != nil {
		if err := outFile.Close(); err != nil && eng.Stats.FirstWriteError == nil {
			eng.Stats.FirstWriteError = err
		}
	}
	if !*quiet {
		printSummary(stderr, eng, len(files), elapsed, mem1.Mallocs-mem0.Mallocs)
	}
	switch {
	case eng.Stats.FirstWriteError != nil:
		fmt.Fprintf(stderr, "ids replay: writing alerts: %v\n", eng.Stats.FirstWriteError)
		status = exitUsage
	case len(inputErrors) > 0:
		status = exitInput
	case *failOnAlert && eng.Stats.AlertsTotal > 0:
		status = exitAlerts
	}
	if eng.Stats.Panics > 0 {
		fmt.Fprintf(stderr, "ids replay: BUG: %d packets panicked; first: %s\n", eng.Stats.Panics, eng.Stats.FirstPanic)
	}
	return status
}

func printSummary(w io.Writer, eng *engine.Engine, files int, elapsed time.Duration, mallocs uint64) {
	s := &eng.Stats
	secs := elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(s.Packets) / secs
	}
	fmt.Fprintf(w, "ids replay: %d files, %d packets, %d bytes in %.3f s (%.0f packets/s)\n", files, s.Packets, s.Bytes, secs, rate)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru) // on failure Maxrss stays 0
	fmt.Fprintf(w, "memory: %d heap allocations during the run (%.3g per packet), peak RSS %.1f MiB\n",
		mallocs, float64(mallocs)/float64(max(s.Packets, 1)), float64(ru.Maxrss)/1024) // Linux: Maxrss in KiB
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "alerts: %d", s.AlertsTotal)
	if s.AlertsSuppressed > 0 || s.ThresholdEvictions > 0 {
		used, capacity := eng.ThresholdEntries()
		fmt.Fprintf(tw, " detected, %d written, %d suppressed by thresholds and suppressions (%d threshold buckets in use of %d, %d evicted)",
			s.AlertsTotal-s.AlertsSuppressed, s.AlertsSuppressed, used, capacity, s.ThresholdEvictions)
	}
	fmt.Fprintln(tw)
	for _, sig := range eng.Rules().Signatures {
		if n := s.Alerts[sig.Index]; n > 0 {
			fmt.Fprintf(tw, "  %s\t%s\tsid %d\t%d", sig.Detector, sig.Name, sig.SID, n)
			if m := eng.AlertsSuppressed(sig); m > 0 {
				fmt.Fprintf(tw, "\t(%d suppressed)", m)
			}
			fmt.Fprintln(tw)
		}
	}
	var names []string
	counts := map[string]uint64{}
	for code, n := range s.Anomalies {
		if n > 0 {
			name := decode.Anomaly(code).String()
			names = append(names, name)
			counts[name] = n
		}
	}
	sort.Strings(names)
	fmt.Fprintf(tw, "decode anomalies: %d kinds\n", len(names))
	for _, name := range names {
		fmt.Fprintf(tw, "  %s\t%d\n", name, counts[name])
	}
	if s.AnomaliesDropped > 0 {
		fmt.Fprintf(tw, "  (more than %d in one packet, not itemised)\t%d\n", decode.MaxAnomalies, s.AnomaliesDropped)
	}
	tw.Flush()
	fs := &eng.Flows().Stats
	fmt.Fprintf(w, "flows: %d created, %d reused, %d active at the end (cap %d); evicted:", fs.Created, fs.Reused, fs.Active, eng.Rules().Settings.FlowMax)
	for i, n := range fs.Evicted {
		fmt.Fprintf(w, " %s %d", flow.EvictReasonNames[i], n)
	}
	fmt.Fprintf(w, "; %d packets found the table full\n", fs.NoRoom)
	if ds := &eng.Defrag().Stats; ds.Fragments > 0 {
		fmt.Fprintf(w, "defrag: %d fragments, %d datagrams reassembled, %d in progress at the end, %d timed out, %d evicted (table full), %d memcap drops, %d too large\n",
			ds.Fragments, ds.Reassembled, ds.InProgress, ds.Timeouts, ds.EvictedFull, ds.MemcapDrops, ds.TooLarge)
	}
	if a := eng.App(); a != nil && a.Stats.Flows != [len(a.Stats.Flows)]uint64{} {
		fmt.Fprintf(w, "application layer: %d SMB, %d DCE/RPC, %d NNTP connections parsed; %d gaps resynchronised, %d messages not assembled (no buffer free)\n",
			a.Stats.Flows[app.ProtoSMB], a.Stats.Flows[app.ProtoRPC], a.Stats.Flows[app.ProtoNNTP], a.Stats.Gaps, a.Stats.BufferDrops)
	}
	if rs := &eng.Reassembler().Stats; rs.Segments > 0 {
		fmt.Fprintf(w, "stream: %d segments (%d in order, %d out of order, %d retransmitted), %d gaps (%d bytes), %d memcap and %d flow-cap hits\n",
			rs.Segments, rs.InOrder, rs.OutOfOrder, rs.Retransmits, rs.Gaps, rs.GapBytes, rs.MemcapHits, rs.FlowCapHits)
	}
}

// progress shows a one-line status on a terminal for large inputs; otherwise it does nothing.
type progress struct {
	w       io.Writer
	files   []string
	sizes   []int64
	cur     atomic.Int64 // file index
	off     atomic.Int64 // bytes consumed in the current file
	done    chan struct{}
	stopped chan struct{}
}

func newProgress(stderr io.Writer, files []string) *progress {
	p := &progress{w: stderr, files: files}
	f, ok := stderr.(*os.File)
	if !ok {
		return p
	}
	if st, err := f.Stat(); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return p
	}
	var total int64
	for _, path := range files {
		var n int64
		if st, err := os.Stat(path); err == nil {
			n = st.Size()
		}
		p.sizes = append(p.sizes, n)
		total += n
	}
	if total < progressMinBytes {
		return p
	}
	p.done, p.stopped = make(chan struct{}), make(chan struct{})
	go p.loop()
	return p
}

func (p *progress) file(i int)          { p.cur.Store(int64(i)); p.off.Store(0) }
func (p *progress) update(offset int64) { p.off.Store(offset) }

func (p *progress) loop() {
	defer close(p.stopped)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.done:
			fmt.Fprint(p.w, "\r\033[K")
			return
		case <-t.C:
			i := p.cur.Load()
			pct := 0.0
			if sz := p.sizes[i]; sz > 0 {
				pct = min(99, 100*float64(p.off.Load())/float64(sz)) // gzip: offsets count the decompressed stream
			}
			fmt.Fprintf(p.w, "\r\033[K%s (%d/%d): %.0f%%", p.files[i], i+1, len(p.files), pct)
		}
	}
}

func (p *progress) stop() {
	if p.done != nil {
		close(p.done)
		<-p.stopped
	}
}
