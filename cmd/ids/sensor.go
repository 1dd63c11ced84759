package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ids-sensor/ids/rules"
	"github.com/ids-sensor/ids/sensor"
	"github.com/ids-sensor/ids/source"
)

func runSensor(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ids sensor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	iface := fs.String("i", "", "network interface to capture on (required), e.g. the SPAN port")
	backend := fs.String("backend", defaultBackend(), "capture back end: afpacket (Linux, multi-core fanout) or pcap (libpcap, one worker)")
	workers := fs.Int("workers", 0, "capture workers, each owning a disjoint set of flows (default: number of cores with afpacket, 1 with pcap)")
	filter := fs.String("f", "", "BPF capture filter, tcpdump syntax (e.g. 'tcp or udp or icmp')")
	snaplen := fs.Int("snaplen", 65535, "bytes captured per packet")
	promisc := fs.Bool("promisc", true, "put the interface in promiscuous mode")
	bufferMB := fs.Int("buffer-mb", 0, "kernel buffer (pcap) or ring (afpacket) per worker, MiB (default 32 for pcap, 64 for afpacket)")
	out := fs.String("o", "-", "append alerts to this file (created 0640; reopened on SIGHUP for logrotate); - for standard output")
	format := fs.String("format", "eve", "alert format: eve (Suricata EVE JSON lines) or fast (fast.log lines)")
	rulesPath := fs.String("rules", "", "rules file, reloaded on SIGHUP (default: the embedded rules/default.yaml)")
	metricsAddr := fs.String("metrics-addr", "127.0.0.1:9750", "address for /metrics, /healthz and /readyz; binding all interfaces (:9750) is an explicit choice; empty for none")
	queue := fs.Int("alert-queue", 4096, "alerts that may wait for the writer; beyond it alerts are counted as dropped, capture never waits")
	user := fs.String("user", "", "drop to this user after opening the capture, the output and the metrics port")
	logFormat := fs.String("log-format", "text", "log format on standard error: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ids sensor -i IFACE [flags]\n\nInspects live traffic until SIGINT or SIGTERM; SIGHUP reloads the rules file and reopens the alert file.\n\nFlags:")
		fs.PrintDefaults()
	}
	rest, err := parseArgs(fs, args)
	if err == flag.ErrHelp {
		return exitOK
	}
	if err != nil {
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ids sensor: "+format+"\n", a...)
		return exitUsage
	}
	switch {
	case len(rest) > 0:
		return usage("unexpected argument %q (capture files are read with ids replay)", rest[0])
	case *iface == "":
		return usage("-i IFACE is required")
	case *format != "eve" && *format != "fast":
		return usage("--format must be eve or fast, got %q", *format)
	case *backend != source.BackendPcap && *backend != source.BackendAFPacket:
		return usage("--backend must be afpacket or pcap, got %q", *backend)
	case *workers < 0 || *workers > 256:
		return usage("--workers must be 1..256, got %d", *workers)
	case *snaplen < 64 || *snaplen > 262144:
		return usage("--snaplen must be 64..262144, got %d", *snaplen)
	case *bufferMB < 0 || *bufferMB > 1<<14:
		return usage("--buffer-mb must be 1..16384, got %d", *bufferMB)
	case *queue < 1 || *queue > 1<<20:
		return usage("--alert-queue must be 1..1048576, got %d", *queue)
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return usage("%v", err)
	}
	if *workers == 0 {
		*workers = 1
		if *backend == source.BackendAFPacket {
			*workers = runtime.NumCPU()
		}
	}
	load := func() (*rules.Set, error) { return loadRules(*rulesPath) }
	set, err := load()
	if err != nil {
		printRulesError(stderr, err)
		return exitUsage
	}
	s, err := sensor.New(sensor.Config{
		Source: source.Config{
			Interface: *iface, Backend: *backend, Workers: *workers, Snaplen: *snaplen,
			Promisc: *promisc, Buffer: *bufferMB << 20, Filter: *filter,
		},
		Rules: set, Load: load, Output: *out, Fast: *format == "fast", AlertQueue: *queue,
		MetricsAddr: *metricsAddr, User: *user, Version: version(), Log: log,
	})
	if err != nil {
		fmt.Fprintf(stderr, "ids sensor: %v\n", err)
		return exitInput
	}

	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		stopping := false
		for sig := range sigs {
			switch {
			case sig == syscall.SIGHUP:
				s.Reload()
				s.Reopen()
			case !stopping:
				stopping = true
				log.Info("stopping: draining the pipeline and flushing alerts", "signal", sig.String())
				cancel()
			default:
				log.Error("second signal: exiting without draining", "signal", sig.String())
				os.Exit(exitUsage)
			}
		}
	}()
	start := time.Now()
	runErr := s.Run(ctx)
	t := s.Totals()
	log.Info("sensor stopped", "seconds", time.Since(start).Round(time.Millisecond).Seconds(),
		"packets", t.Packets, "bytes", t.Bytes, "kernel_drops", t.KernelDrops, "interface_drops", t.IfDrops,
		"alerts", t.Alerts, "alerts_written", t.AlertsWritten, "alert_queue_drops", t.AlertsDropped,
		"alert_write_errors", t.AlertWriteErrors)
	for _, w := range t.Workers {
		log.Info("worker stopped", "worker", w.ID, "packets", w.Engine.Stats.Packets, "kernel_received", w.Capture.Received,
			"kernel_drops", w.Capture.Dropped, "alerts", w.Engine.Stats.AlertsTotal, "flows_active", w.Engine.Flows.Active)
	}
	if t.Panics > 0 {
		log.Error("BUG: packets panicked", "count", t.Panics, "first", t.FirstPanic)
	}
	if runErr != nil || t.AlertWriteErrors > 0 {
		return exitUsage
	}
	return exitOK
}

func defaultBackend() string {
	if runtime.GOOS == "linux" {
		return source.BackendAFPacket
	}
	return source.BackendPcap
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level must be debug, info, warn or error, got %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", format)
}
